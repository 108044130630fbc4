"""The periodic sync: every directory account looked up again, by the directory it came from.

Rights follow the groups as they are now; people the directory no longer knows are removed
(``tenants.directory.directory_account_remove``). Runs on the beat schedule
(``PORTAL_DIRECTORY_SYNC_EVERY``), once at a time across the workers, and on demand with
``manage.py directory_sync``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    checked: int = 0
    updated: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.checked} checked, {self.updated} updated, {len(self.removed)} removed"
        if self.removed:
            text += f" ({', '.join(self.removed)})"
        if self.failed:
            text += f", {len(self.failed)} could not be checked ({', '.join(self.failed)})"
        return text


def directory_sync() -> dict[str, str]:
    """Both sources, each on its own: a directory that cannot answer stops its own sync,
    never the other's, and is tried again at the next run. Returns what each did."""
    from portal.sso.ldap import ldap_sync
    from portal.sso.oidc import oidc_sync

    outcome = {}
    for source, sync in (("oidc", oidc_sync), ("ldap", ldap_sync)):
        try:
            outcome[source] = str(sync())
        except Exception as err:
            log.warning("directory sync (%s) failed: %s", source, err)
            outcome[source] = f"failed: {err}"
    return outcome
