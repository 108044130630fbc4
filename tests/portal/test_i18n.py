"""Translation chains without empty catalogues (``portal.i18n``): shorter, and saying the same."""

from __future__ import annotations

import gettext

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

from portal.i18n import drop_empty_fallbacks, kept_translations


def _chain(language: str) -> list:
    links, node = [], trans_real.translation(language)
    while node is not None:
        links.append(node)
        node = node._fallback
    return links


def _catalogue(messages: dict[str, str]) -> gettext.GNUTranslations:
    """A catalogue as Python's ``gettext`` loads one: its header under "", then messages."""
    catalogue = gettext.GNUTranslations()
    catalogue._catalog = {"": "Language: en\n", **messages}
    catalogue.plural = lambda n: int(n != 1)
    return catalogue


def test_the_portals_languages_walk_no_empty_catalogue():
    for code, _name in settings.LANGUAGES:
        empty = [
            link
            for link in _chain(code)[1:]
            if isinstance(link._catalog, dict) and set(link._catalog) <= {""}
        ]
        assert not empty, code
    # British English is one catalogue; French falls back to it alone.
    assert len(_chain("en-gb")) == 1
    assert [link is trans_real.translation("en-gb") for link in _chain("fr")] == [False, True]


def test_dropping_keeps_every_catalogue_with_a_message_in_its_order():
    first, second = _catalogue({"Shelf": "Étagère"}), _catalogue({"Shelf": "Regal", "Box": "Kiste"})
    empty = [_catalogue({}) for _ in range(3)]
    head = _catalogue({"Door": "Porte"})
    head.add_fallback(empty[0])
    head.add_fallback(first)
    head.add_fallback(empty[1])
    head.add_fallback(second)
    head.add_fallback(empty[2])
    before = [head.gettext(m) for m in ("Door", "Shelf", "Box", "Window")]

    assert drop_empty_fallbacks(head) == 3

    assert [head.gettext(m) for m in ("Door", "Shelf", "Box", "Window")] == before
    assert before == ["Porte", "Étagère", "Kiste", "Window"]
    assert head._fallback is first and first._fallback is second and second._fallback is None


def test_messages_read_the_same_through_the_trimmed_chains():
    """The portal's French before Django's, and English left as written."""
    with translation.override("en-gb"):
        assert translation.gettext("Enter a valid email address.") == (
            "Enter a valid email address."
        )
        assert translation.gettext("Approve selected") == "Approve selected"
    with translation.override("fr"):
        assert translation.gettext("Approve selected") != "Approve selected"
        assert translation.gettext("Enter a valid email address.") == (
            "Saisissez une adresse e-mail valide."  # the portal's, before Django's
        )


def test_kept_translations_say_what_gettext_says_in_each_language():
    messages = ["Dimension", "Used / limit now", "waiting for the %(stage)s", "no such message"]
    for language in ("en-gb", "fr", "en-gb", "fr"):
        with translation.override(language):
            _ = kept_translations()
            assert [_(m) for m in messages] == [translation.gettext(m) for m in messages]
    with translation.override("fr"):
        assert kept_translations()("Used / limit now") != "Used / limit now"  # not the English
    translation.deactivate_all()
    try:
        assert kept_translations()("Dimension") == "Dimension"
    finally:
        translation.activate(settings.LANGUAGE_CODE)


def test_lazy_and_safe_messages_keep_their_kind_and_are_not_kept():
    from django.utils.safestring import SafeData, mark_safe
    from django.utils.translation import gettext_lazy

    with translation.override("fr"):
        _ = kept_translations()
        assert _("Used / limit now") == translation.gettext("Used / limit now")  # kept
        safe = _(mark_safe("Used / limit now"))
        assert isinstance(safe, SafeData) and safe == translation.gettext("Used / limit now")
        assert _(gettext_lazy("Used / limit now")) == translation.gettext("Used / limit now")
        assert all(type(key) is str for key in _)


def test_a_changed_catalogue_setting_forgets_what_was_kept(settings, tmp_path):
    with translation.override("fr"):
        kept_translations()("Dimension")
        assert kept_translations()
        settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, str(tmp_path)]
        assert not kept_translations()
