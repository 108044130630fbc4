"""portalctl's language: its own messages and the one it asks the portal to answer in.

Standard library only (no Django). The language comes from ``$PORTALCTL_LANGUAGE``, else the
usual ``$LANGUAGE``, ``$LC_ALL``, ``$LC_MESSAGES`` and ``$LANG`` (the first one set), e.g.
``fr_BE.UTF-8``; English when none is set or the locale is ``C``/``POSIX``. The messages come from
``portalctl/locale/<lang>/LC_MESSAGES/django.mo`` (made with Django's makemessages and
compilemessages, hence the domain), falling back to the English text in the code.

The same language goes to the portal as ``Accept-Language`` (``fr_BE.UTF-8`` -> ``fr-BE``), so
the error messages it answers with are in the language of portalctl's own.
"""

from __future__ import annotations

import gettext as _gettext
import os
import re
from functools import cache
from pathlib import Path

DOMAIN = "django"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"
#: Where the language is read from, first one set wins (gettext's order, ours first).
ENVIRONMENT = ("PORTALCTL_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def _normalize(value: str) -> str | None:
    """``fr_BE.UTF-8@euro`` -> ``fr-BE``; None for ``C``, ``POSIX`` or something unreadable."""
    value = value.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    if not value or value.upper() in ("C", "POSIX") or not _TAG.match(value):
        return None
    language, _sep, rest = value.partition("-")
    if not rest:
        return language.lower()
    return f"{language.lower()}-{rest.upper() if len(rest) == 2 else rest}"


def languages(environ: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    """The preferred languages as language tags, best first, e.g. ``["fr-BE"]``.

    ``$LANGUAGE`` (and ``$PORTALCTL_LANGUAGE``) may list several, colon-separated: ``fr_BE:de``.
    """
    env = os.environ if environ is None else environ
    for name in ENVIRONMENT:
        raw = env.get(name, "")
        if not raw.strip():
            continue
        tags: list[str] = []
        for part in raw.split(":"):
            tag = _normalize(part)
            if tag and tag not in tags:
                tags.append(tag)
        # A locale of C/POSIX means "no translation", as for gettext.
        return tags or [DEFAULT_LANGUAGE]
    return [DEFAULT_LANGUAGE]


def accept_language(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """The ``Accept-Language`` header value: ``fr-BE``, or ``fr-BE, de;q=0.9`` for a list."""
    tags = languages(environ)
    weighted = [
        tag if i == 0 else f"{tag};q={max(1, 10 - i) / 10:.1f}" for i, tag in enumerate(tags)
    ]
    return ", ".join(weighted)


@cache
def translation() -> _gettext.NullTranslations:
    """The messages catalog of the preferred language (the English text when there is none)."""
    codes = [tag.replace("-", "_") for tag in languages()]
    return _gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=codes, fallback=True)


def gettext(message: str) -> str:
    return translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translation().ngettext(singular, plural, n)


_ = gettext
