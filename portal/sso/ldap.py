"""Sign-in with the agency's directory (LDAP or Active Directory), built on django-auth-ldap.

The password is checked by binding as the person; their groups are read with the service
account and mapped to rights (``tenants.directory``) at every sign-in and by the periodic sync
(``ldap_sync``). Settings are derived from ``PORTAL_LDAP_*`` by
``portal.sso.config.ldap_settings()``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django_auth_ldap.backend import LDAPBackend, _LDAPUser

from portal.audit import audit_record
from portal.sso.sync import SyncResult
from portal.sso.users import remembered_user
from tenants.directory import (
    DirectoryConflict,
    directory_account_for,
    directory_account_remove,
    directory_rights_apply,
)
from tenants.models import DirectoryAccount, DirectorySource

log = logging.getLogger(__name__)


def ldap_enabled() -> bool:
    return bool(getattr(settings, "AUTH_LDAP_SERVER_URI", ""))


def _groups(ldap_user: _LDAPUser) -> list[str]:
    """The person's groups by DN and by name: a rule may name either."""
    return sorted(set(ldap_user.group_dns) | set(ldap_user.group_names))


class DirectoryLDAPBackend(LDAPBackend):
    """django-auth-ldap, with the portal's rules on who may take which user name, the rights
    mapping at each sign-in, and the shared remembered user."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not ldap_enabled():
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_or_build_user(self, username: str, ldap_user: _LDAPUser):
        try:
            account = directory_account_for(
                source=DirectorySource.LDAP, subject=ldap_user.dn, username=username
            )
        except DirectoryConflict as conflict:
            log.warning("LDAP sign-in refused for %s: %s", username, conflict)
            audit_record(
                actor=None, action="directory.conflict", object_type="user",
                object_repr=username, after={"source": "ldap", "why": str(conflict)},
            )  # fmt: skip
            raise ldap_user.AuthenticationFailed(str(conflict)) from conflict
        return account.user, False

    def authenticate_ldap_user(self, ldap_user: _LDAPUser, password: str):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        directory_rights_apply(account=user.directory_account, groups=_groups(ldap_user))
        user.refresh_from_db(fields=["is_active"])
        return user if user.is_active else None

    def get_user(self, user_id: Any) -> Any:
        return remembered_user(user_id)

    # Rights come from the rules, never from LDAP groups as Django permissions.
    def get_all_permissions(self, user, obj=None) -> set[str]:
        return set()

    def get_group_permissions(self, user, obj=None) -> set[str]:
        return set()


def _service_connection(backend: DirectoryLDAPBackend):
    """A connection bound as the service account; raises ``ldap.LDAPError`` if it cannot be."""
    config = backend.settings
    connection = backend.ldap.initialize(config.SERVER_URI, bytes_mode=False)
    for option, value in config.CONNECTION_OPTIONS.items():
        connection.set_option(option, value)
    if config.START_TLS:
        connection.start_tls_s()
    connection.simple_bind_s(config.BIND_DN, config.BIND_PASSWORD)
    return connection


def ldap_sync() -> SyncResult:
    """Look every directory account up again: groups re-mapped, the departed removed.

    Whether someone is still in the directory is asked on a connection of our own, whose
    errors are raised (django-auth-ldap's lookups log and swallow them, which would make a
    directory that is down look empty): a directory that cannot answer stops the sync with
    ``ldap.LDAPError`` before anyone is removed.
    """
    result = SyncResult()
    if not ldap_enabled():
        return result
    backend = DirectoryLDAPBackend()
    connection = _service_connection(backend)
    try:
        accounts = DirectoryAccount.objects.filter(source=DirectorySource.LDAP)
        for account in accounts.select_related("user").order_by("id").iterator(chunk_size=200):
            username = account.user.get_username()
            result.checked += 1
            found = backend.settings.USER_SEARCH.execute(connection, {"user": username})
            if len(found) != 1:
                if account.removed_at is None:
                    directory_account_remove(account=account, why="no longer in the directory")
                    result.removed.append(username)
                continue
            ldap_user = _LDAPUser(backend, username=username)
            if ldap_user.populate_user() is None:
                result.failed.append(username)
                continue
            before = (account.groups, account.removed_at)
            account = directory_rights_apply(account=account, groups=_groups(ldap_user))
            if (account.groups, account.removed_at) != before:
                result.updated += 1
    finally:
        connection.unbind_s()
    return result
