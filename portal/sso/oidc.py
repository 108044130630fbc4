"""Sign-in with an OpenID Connect provider, built on mozilla-django-oidc.

The portal is a confidential client using the authorisation code flow with PKCE. At each
sign-in the provider's claims name the person (``sub``, ``preferred_username``) and their
groups (``PORTAL_OIDC_GROUPS_CLAIM``), which are mapped to rights (``tenants.directory``).
The refresh token is kept, encrypted, so that the periodic sync (``oidc_sync``) can ask the
provider again without the person: a refresh the provider refuses (``invalid_grant``: the
account is gone or disabled) removes them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

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


def oidc_enabled() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def _fernet() -> MultiFernet:
    """Keys derived from the secret key (and its fallbacks, so that rotating it keeps the
    stored refresh tokens readable until the next sign-in or sync rewrites them)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(
            hashlib.sha256(f"portal.sso.refresh-token:{key}".encode()).digest()
        ))
        for key in keys
    ])  # fmt: skip


def seal(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode() if token else ""


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode() if sealed else ""
    except InvalidToken:
        return ""


def _claims_profile(claims: dict[str, Any]) -> dict[str, str]:
    profile = {
        "first_name": claims.get("given_name", ""),
        "last_name": claims.get("family_name", ""),
        "email": claims.get("email", ""),
    }
    return {k: str(v)[:150] for k, v in profile.items() if v}


def _claims_groups(claims: dict[str, Any]) -> list[str]:
    groups = claims.get(settings.PORTAL_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    return [str(g) for g in groups if isinstance(g, str | int)]


def _subject(claims: dict[str, Any]) -> str:
    return f"{settings.OIDC_OP_ISSUER}|{claims['sub']}"


class DirectoryOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc, matching people by the provider's subject (never by e-mail),
    mapping their groups, and inert while no provider is configured."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._refresh_token = ""
        if oidc_enabled():
            super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        if not oidc_enabled() or request is None or "code" not in request.GET:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            # The provider refused the code or did not answer: a failed sign-in, not a 500.
            log.warning("OpenID Connect sign-in failed: %s", error)
            return None

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_info = super().get_token(payload)
        self._refresh_token = token_info.get("refresh_token", "")
        return token_info

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The user info names someone else than the ID token.")
        username = str(claims.get(settings.PORTAL_OIDC_USERNAME_CLAIM) or claims["sub"])[:150]
        try:
            account = directory_account_for(
                source=DirectorySource.OIDC, subject=_subject(claims), username=username
            )
        except DirectoryConflict as conflict:
            audit_record(
                actor=None, action="directory.conflict", object_type="user",
                object_repr=username, after={"source": "oidc", "why": str(conflict)},
            )  # fmt: skip
            raise SuspiciousOperation(str(conflict)) from conflict
        if self._refresh_token:
            account.refresh_token = seal(self._refresh_token)
            account.save(update_fields=["refresh_token"])
        directory_rights_apply(
            account=account, groups=_claims_groups(claims), profile=_claims_profile(claims)
        )
        user = account.user
        user.refresh_from_db(fields=["is_active"])
        return user if self.user_can_authenticate(user) else None

    def get_user(self, user_id: Any) -> Any:
        return remembered_user(user_id)

    # Rights come from the rules and the object permissions, not from this backend.
    def get_all_permissions(self, user, obj=None) -> set[str]:
        return set()

    def has_perm(self, user, perm, obj=None) -> bool:
        return False


def oidc_sync() -> SyncResult:
    """Ask the provider about every OpenID Connect account, with its refresh token.

    ``invalid_grant`` (the provider no longer honours the person's grant: removed, disabled,
    or the grant revoked) removes them; a provider that does not answer, or answers anything
    else, changes nothing. Accounts without a refresh token are left to their next sign-in.
    """
    result = SyncResult()
    if not oidc_enabled():
        return result
    accounts = DirectoryAccount.objects.filter(
        source=DirectorySource.OIDC, removed_at__isnull=True
    ).select_related("user")
    for account in accounts.order_by("id").iterator(chunk_size=200):
        username = account.user.get_username()
        token = unseal(account.refresh_token)
        if not token:
            continue
        result.checked += 1
        try:
            answer = requests.post(
                settings.OIDC_OP_TOKEN_ENDPOINT,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "client_id": settings.OIDC_RP_CLIENT_ID,
                    "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                },
                timeout=settings.OIDC_TIMEOUT,
            )
            refused = answer.status_code in (400, 401) and _error(answer) == "invalid_grant"
            if refused:
                directory_account_remove(account=account, why="the provider refused the grant")
                result.removed.append(username)
                continue
            answer.raise_for_status()
            tokens = answer.json()
            claims_answer = requests.get(
                settings.OIDC_OP_USER_ENDPOINT,
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
                timeout=settings.OIDC_TIMEOUT,
            )
            claims_answer.raise_for_status()
            claims = claims_answer.json()
        except (requests.RequestException, ValueError, KeyError) as error:
            log.warning("OpenID Connect sync of %s failed: %s", username, error)
            result.failed.append(username)
            continue
        if _subject(claims) != account.subject:
            result.failed.append(username)
            continue
        if tokens.get("refresh_token") and tokens["refresh_token"] != token:
            account.refresh_token = seal(tokens["refresh_token"])
            account.save(update_fields=["refresh_token"])
        before = account.groups
        account = directory_rights_apply(
            account=account, groups=_claims_groups(claims), profile=_claims_profile(claims)
        )
        if account.groups != before:
            result.updated += 1
    return result


def _error(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("error", ""))
    except ValueError:
        return ""
