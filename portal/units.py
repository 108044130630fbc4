"""Amounts as people read them, for pages, model labels and messages alike."""

from __future__ import annotations

from django.utils.translation import gettext as _


def memory(mib: int | None) -> str:
    """An amount of memory given in MiB: "512 MiB", "2 GiB", "1.5 GiB", "0 GiB"."""
    if mib is None:
        return "—"
    mib = int(mib)
    if 0 < mib < 1024:
        return _("%(amount)s MiB") % {"amount": mib}
    gib = mib / 1024
    amount = f"{gib:.0f}" if gib == int(gib) else f"{gib:.1f}"
    return _("%(amount)s GiB") % {"amount": amount}
