"""Amounts as people read them, for pages, model labels and messages alike."""

from __future__ import annotations


def memory(mib: int | None) -> str:
    """An amount of memory given in MiB: "512 MiB", "2 GiB", "1.5 GiB", "0 GiB"."""
    if mib is None:
        return "—"
    mib = int(mib)
    if 0 < mib < 1024:
        return f"{mib} MiB"
    gib = mib / 1024
    return f"{gib:.0f} GiB" if gib == int(gib) else f"{gib:.1f} GiB"
