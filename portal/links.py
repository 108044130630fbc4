"""Links to one object's page, made from a remembered pattern.

``reverse()`` looks the route up, checks each argument against its converter and quotes the
result: 30 µs a call here. A list links every row to its page, and the approvals inbox
reversed sixty times for its twenty cards and the requests below them. The path of a route
whose one argument is an integer key is the same text around a different number, so it is
worked out once per route, script prefix and URLconf, and each link puts its number in.

The portal's routes are not translated (no ``i18n_patterns``, no translated route text), so the
language does not change a path; ``tests/portal/test_links.py`` compares every route taking one
integer with ``reverse()``.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

#: Digits no route holds of its own: a path holding them twice cannot be split safely, and such
#: a route is reversed every time.
_MARK = 918_273_645_546_372_819
_paths: dict[tuple[str, str, Any], tuple[str, str] | None] = {}


def object_path(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` for a route whose one argument is an integer key."""
    if type(pk) is not int or pk < 0:
        return reverse(name, args=[pk])
    key = (name, get_script_prefix(), get_urlconf())
    try:
        parts = _paths[key]
    except KeyError:
        marked, mark = reverse(name, args=[_MARK]), str(_MARK)
        before, _mark, after = marked.partition(mark)
        parts = _paths[key] = (before, after) if marked.count(mark) == 1 else None
    if parts is None:
        return reverse(name, args=[pk])
    return f"{parts[0]}{pk}{parts[1]}"


@receiver(setting_changed)
def _forget_paths(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        _paths.clear()
