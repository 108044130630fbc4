"""Durations in words, in the reader's language: 95 -> "1 minute 35 seconds", 7300 -> "2 hours
2 minutes" ("2 heures 2 minutes"). Two units at most: an SLA figure is read, not computed with."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def _seconds(n: int) -> str:
    return ngettext("%(n)d second", "%(n)d seconds", n) % {"n": n}


def _minutes(n: int) -> str:
    return ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}


def _hours(n: int) -> str:
    return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}


def _days(n: int) -> str:
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


def _pair(big: str, small: str | None) -> str:
    if not small:
        return big
    # Translators: a duration of two parts, e.g. "2 hours" and "3 minutes".
    return _("%(larger)s %(smaller)s") % {"larger": big, "smaller": small}


@register.filter
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return _seconds(seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _pair(_minutes(minutes), seconds and _seconds(seconds))
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _pair(_hours(hours), minutes and _minutes(minutes))
    days, hours = divmod(hours, 24)
    return _pair(_days(days), hours and _hours(hours))


@register.filter
def weekdays(days: str) -> str:
    """ISO weekday digits as words: ``"12345"`` -> "Monday to Friday", ``"135"`` -> "Monday,
    Wednesday, Friday" (a run of three or more is a range), in the active language."""
    from django.utils.dates import WEEKDAYS

    numbers = sorted({int(d) for d in days or ""})
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    words = []
    for run in runs:
        names = [str(WEEKDAYS[n - 1]) for n in run]  # Django's WEEKDAYS: Monday is 0
        if len(run) >= 3:
            words.append(_("%(first)s to %(last)s") % {"first": names[0], "last": names[-1]})
        else:
            words.extend(names)
    return ", ".join(words)
