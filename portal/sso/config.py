"""Settings for the sign-in backends, built from the portal's own ``PORTAL_*`` settings.

Imported by ``portal.settings`` (so nothing here touches models), and by the tests that point
the portal at a directory or a provider they started.
"""

from __future__ import annotations

from typing import Any

import ldap
from django_auth_ldap.config import (
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPSearch,
    NestedActiveDirectoryGroupType,
    PosixGroupType,
)

#: ``PORTAL_LDAP_GROUP_TYPE``: how groups name their members.
GROUP_TYPES = {
    "groupOfNames": (GroupOfNamesType, "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": (GroupOfUniqueNamesType, "(objectClass=groupOfUniqueNames)"),
    "activeDirectory": (NestedActiveDirectoryGroupType, "(objectClass=group)"),
    "posixGroup": (PosixGroupType, "(objectClass=posixGroup)"),
}


def ldap_settings(
    *,
    url: str,
    bind_dn: str = "",
    bind_password: str = "",
    user_base: str,
    user_filter: str = "(uid=%(user)s)",
    group_base: str,
    group_type: str = "groupOfNames",
    start_tls: bool = False,
    timeout: int = 5,
) -> dict[str, Any]:
    """The ``AUTH_LDAP_*`` settings for one directory (settings.py and the tests use this)."""
    kind, group_filter = GROUP_TYPES[group_type]
    return {
        "AUTH_LDAP_SERVER_URI": url,
        "AUTH_LDAP_BIND_DN": bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": bind_password,
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(group_base, ldap.SCOPE_SUBTREE, group_filter),
        "AUTH_LDAP_GROUP_TYPE": kind(),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_CONNECTION_OPTIONS": {
            ldap.OPT_NETWORK_TIMEOUT: timeout,
            ldap.OPT_TIMEOUT: timeout * 2,
            ldap.OPT_REFERRALS: 0,
        },
    }


def oidc_settings(
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    authorization_endpoint: str = "",
    token_endpoint: str = "",
    userinfo_endpoint: str = "",
    jwks_endpoint: str = "",
    scopes: str = "openid profile email",
    timeout: int = 10,
) -> dict[str, Any]:
    """mozilla-django-oidc's settings for one provider. Endpoints not given follow the usual
    layout under ``issuer`` (``/authorize/``, ``/token/``, ``/userinfo/``,
    ``/.well-known/jwks.json``); the provider's discovery document
    (``<issuer>/.well-known/openid-configuration``) says what it really uses."""
    base = issuer.rstrip("/")
    return {
        "OIDC_OP_ISSUER": base,
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": client_secret,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": authorization_endpoint or f"{base}/authorize/",
        "OIDC_OP_TOKEN_ENDPOINT": token_endpoint or f"{base}/token/",
        "OIDC_OP_USER_ENDPOINT": userinfo_endpoint or f"{base}/userinfo/",
        "OIDC_OP_JWKS_ENDPOINT": jwks_endpoint or f"{base}/.well-known/jwks.json",
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": scopes,
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": timeout,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "LOGIN_REDIRECT_URL_FAILURE": "/login/?sso=failed",
    }
