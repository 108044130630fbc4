"""Working time: the clock an SLA target counts when its domain's contract says so.

A domain counts either calendar time (around the clock) or working time: its working hours
(``SecurityDomain.working_days/working_from/working_until``) in the site's time zone, less the
site's public holidays (``Site.country``, ``Site.holiday_subdivision``, from the ``holidays``
library). Each (site, domain) pair is one ``WorkingCalendar``.

A calendar is read like a meter: ``reading(moment)`` is the working seconds from a fixed origin
to ``moment``, so the working time between two moments is the difference of two readings. That is
what lets the report stay in SQL: each fact keeps the meter's reading when its wait began
(``SlaFact.submitted_clock``, ``approved_clock``) and its working durations; a wait still running
is late when the meter now, minus the reading kept, exceeds the target. The meter is computed in
closed form (whole weeks, then the remaining days, less the holidays before the day), never by
walking the days, so a reading costs the same in 2026 as in 2046.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays

#: The meter's origin: a Monday, so a day's position in its week is its distance from it mod 7.
ORIGIN = date(2000, 1, 3)
#: Holidays are known from the origin's year to this many years after the moment read.
YEARS_AHEAD = 2


@functools.lru_cache(maxsize=64)
def _closed_weekdays(country: str, subdivision: str, weekdays: frozenset[int],
                     last: int) -> tuple[date, ...]:  # fmt: skip
    """The public holidays of ``country`` on ``weekdays``, from the origin's year to ``last``."""
    if not country:
        return ()
    found = holidays.country_holidays(
        country, subdiv=subdivision or None, years=range(ORIGIN.year, last + 1)
    )
    return tuple(sorted(d for d in found if d.isoweekday() in weekdays))


def holiday_names(country: str, subdivision: str, since: date, until: date,
                  language: str | None = None) -> list[tuple[date, str]]:  # fmt: skip
    """The holidays from ``since`` up to ``until`` (excluded) with their names, in ``language``
    where the library has it (French and Dutch for Belgium...), else in the country's own."""
    if not country or until <= since:
        return []
    named = _named_holidays(country, subdivision, since.year, until.year, language or "")
    return [(day, name) for day, name in named if since <= day < until]


@functools.lru_cache(maxsize=256)
def _named_holidays(country: str, subdivision: str, first: int, last: int,
                    language: str) -> tuple[tuple[date, str], ...]:  # fmt: skip
    """A country's holidays of some years, named: built once per process (the library computes
    each year's calendar, which a report would otherwise pay for on every view)."""
    years = range(first, last + 1)
    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    names = calendar
    wanted = [code for code in calendar.supported_languages if code.split("_")[0] == language]
    if language and wanted:
        names = holidays.country_holidays(country, subdiv=subdivision or None, years=years,
                                          language=wanted[0])  # fmt: skip
    return tuple((day, names.get(day)) for day in sorted(calendar))


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours in a time zone, less a country's public holidays."""

    zone: str
    weekdays: frozenset[int]  # ISO: Monday is 1
    start: time
    end: time
    country: str = ""
    subdivision: str = ""

    @property
    def day_seconds(self) -> float:
        return _seconds(self.end) - _seconds(self.start)

    def _closed(self, day: date) -> tuple[date, ...]:
        """The holidays falling on working weekdays, known up to well after ``day``."""
        last = max(day.year, dt.date.today().year) + YEARS_AHEAD
        return _closed_weekdays(self.country, self.subdivision, self.weekdays, last)

    def is_working_day(self, day: date) -> bool:
        if day.isoweekday() not in self.weekdays:
            return False
        closed = self._closed(day)
        i = bisect.bisect_left(closed, day)
        return not (i < len(closed) and closed[i] == day)

    def _working_days_before(self, day: date) -> int:
        """Working days from the origin up to ``day`` (excluded); negative before the origin."""
        weeks, rest = divmod((day - ORIGIN).days, 7)
        count = weeks * len(self.weekdays) + sum(1 for i in range(rest) if i + 1 in self.weekdays)
        closed = self._closed(day)
        return count - (bisect.bisect_left(closed, day) - bisect.bisect_left(closed, ORIGIN))

    def reading(self, moment: datetime) -> float:
        """Working seconds from the origin to ``moment`` (aware)."""
        local = moment.astimezone(ZoneInfo(self.zone))
        day = local.date()
        seconds = self._working_days_before(day) * self.day_seconds
        if self.is_working_day(day):
            into = _seconds(local.time()) - _seconds(self.start)
            seconds += min(max(into, 0.0), self.day_seconds)
        return seconds

    def between(self, since: datetime, until: datetime) -> float:
        """Working seconds from ``since`` to ``until``."""
        return self.reading(until) - self.reading(since)


def _seconds(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def calendar_of(site, domain) -> WorkingCalendar | None:
    """The working calendar of ``domain``'s targets at ``site``; ``None``: calendar time."""
    if not domain.counts_working_time:
        return None
    return WorkingCalendar(
        zone=site.zone,
        weekdays=frozenset(int(d) for d in domain.working_days),
        start=domain.working_from,
        end=domain.working_until,
        country=site.country,
        subdivision=site.holiday_subdivision,
    )


def calendars(domains=None) -> dict[tuple[int, int], WorkingCalendar]:
    """Every (site id, domain id) whose domain counts working time: its calendar. One query for
    the sites (and one for the domains unless given)."""
    from tenants.models import SecurityDomain, Site

    if domains is None:
        domains = SecurityDomain.objects.all()
    domains = [d for d in domains if d.counts_working_time]
    if not domains:
        return {}
    return {(s.pk, d.pk): calendar_of(s, d) for s in Site.objects.all() for d in domains}
