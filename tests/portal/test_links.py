"""Links made from a remembered pattern are the links ``reverse()`` makes."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, get_resolver, reverse, set_script_prefix
from django.urls.converters import IntConverter

from portal.links import object_path


def _routes_of_one_int() -> list[str]:
    names = []
    resolver = get_resolver()
    for name in resolver.reverse_dict:
        if not isinstance(name, str):
            continue
        for possibilities, _pattern, _defaults, converters in resolver.reverse_dict.getlist(name):
            for _text, params in possibilities:
                if len(params) == 1 and isinstance(converters.get(params[0]), IntConverter):
                    names.append(name)
    return sorted(set(names))


ROUTES = _routes_of_one_int()


def test_the_portal_has_such_routes():
    assert {"request-detail", "server-detail", "approval-decide", "allocation-detail"} <= set(
        ROUTES
    )


@pytest.mark.parametrize("name", ROUTES)
def test_every_route_of_one_integer_gives_reverses_path(name):
    for pk in (0, 7, 42, 123_456_789_012):
        assert object_path(name, pk) == reverse(name, args=[pk])


def test_a_script_prefix_is_kept_apart():
    plain = object_path("request-detail", 5)
    set_script_prefix("/portal/")
    try:
        assert (
            object_path("request-detail", 5)
            == "/portal" + plain
            == reverse("request-detail", args=[5])
        )
    finally:
        set_script_prefix("/")
    assert object_path("request-detail", 5) == plain


def test_what_is_not_a_plain_key_goes_to_reverse():
    """A negative number or a string is reverse()'s to refuse, as it would."""
    for pk in (-1, "x", True):
        with pytest.raises(NoReverseMatch):
            object_path("request-detail", pk)
    assert object_path("request-detail", "12") == reverse("request-detail", args=["12"])


@override_settings(ROOT_URLCONF="tests.portal.urls_elsewhere")
def test_another_urlconf_is_not_answered_from_the_first():
    assert object_path("request-detail", 9) == "/elsewhere/requests/9/"
