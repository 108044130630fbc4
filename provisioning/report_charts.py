"""The reports' pictures: SLA times per week and availability per site, from the figures the
reports already hold (``provisioning.sla``, ``provisioning.availability``), drawn by
``provisioning.charts``. The templates show the same figures as a table behind each chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from provisioning.availability import Availability, RegionAvailability
from provisioning.charts import Series, bar_chart, line_chart
from provisioning.sla import WeekFigures

HOUR, MINUTE = 3600, 60


def _in(seconds: float | None, unit: int) -> float | None:
    return None if seconds is None else round(seconds / unit, 2)


def sla_trend_charts(weeks: Sequence[WeekFigures]) -> list[SafeString]:
    """Decision times (hours) and build times (minutes) per week of submission, p50 and p90."""
    if not weeks:
        return []
    labels = [f"{w.week:%Y-%m-%d}" for w in weeks]
    decision = line_chart(
        labels,
        [Series(_("Decision p50"), [_in(w.decision.p50, HOUR) for w in weeks]),
         Series(_("Decision p90"), [_in(w.decision.p90, HOUR) for w in weeks])],
        title=_("Decision time per week"),
        description=_("Median and 90th percentile of the time from submission to the first "
                      "decision, in hours, per week of submission (the table follows)."),
        unit=_("hours"),
    )  # fmt: skip
    build = line_chart(
        labels,
        [Series(_("Build p50"), [_in(w.build.p50, MINUTE) for w in weeks]),
         Series(_("Build p90"), [_in(w.build.p90, MINUTE) for w in weeks])],
        title=_("Build time per week"),
        description=_("Median and 90th percentile of the time from approval to completion, in "
                      "minutes, per week of submission (the table follows)."),
        unit=_("minutes"),
    )  # fmt: skip
    return [decision, build]


@dataclass(frozen=True)
class SiteAvailability:
    site: object
    probes: int
    failures: int

    @property
    def percent(self) -> Decimal | None:
        """As a region's (``Availability.percent``): the probes every service answered."""
        return Availability(probes=self.probes, failures=self.failures).percent


def availability_by_site(rows: Sequence[RegionAvailability]) -> list[SiteAvailability]:
    """Each site's regions taken together: the probes every service of a region answered."""
    sites: dict[int, list[RegionAvailability]] = {}
    for row in rows:
        sites.setdefault(row.region.site_id, []).append(row)
    return [
        SiteAvailability(
            regions[0].region.site,
            sum(r.whole.probes for r in regions),
            sum(r.whole.failures for r in regions),
        )
        for regions in sites.values()
    ]


def availability_chart(sites: Sequence[SiteAvailability], targets: set[Decimal]) -> SafeString:
    """Availability per site from 90 %, with the target drawn when every region shares it."""
    figures = [float(s.percent) if s.percent is not None else None for s in sites]
    low = min([90.0, *[f for f in figures if f is not None]])
    return bar_chart(
        [(s.site.name, f) for s, f in zip(sites, figures, strict=True)],
        title=_("Availability per site"),
        description=_("The share of probes every service of the site's regions answered over "
                      "the period, in per cent; the dashed line is the target (the table "
                      "follows)."),
        unit=_("per cent"),
        low=math_floor(low),
        high=100.0,
        target=float(next(iter(targets))) if len(targets) == 1 else None,
    )  # fmt: skip


def math_floor(value: float) -> float:
    """Round down to a multiple of 10 (an axis from 90, 80, ... to 100)."""
    return float(int(value // 10 * 10))


#: Bars drawn of the showback's groups (its table lists every one).
SHOWBACK_BARS = 15


def showback_chart(report) -> SafeString | None:
    """A month's cost per group (vCPU-hours where no rate card prices it), largest first."""
    if not report.rows:
        return None
    rows = report.rows[:SHOWBACK_BARS]
    group = report.grouping.label.lower()
    if report.priced:
        bars = [(r.label, float(r.cost)) for r in rows]
        unit, title = report.currency, _("Cost per %(group)s") % {"group": group}
    else:
        bars = [(r.label, round(r.figures["vcpu_hours"], 1)) for r in rows]
        unit, title = _("vCPU-hours"), _("vCPU-hours per %(group)s") % {"group": group}
    description = _("The largest first; the table below has every figure.")
    return bar_chart(bars, title=title, unit=unit, description=description)


def capacity_chart(capacity) -> SafeString | None:
    """The share of the vCPU quota in use per region (``tenants.selectors.capacity_by_region``);
    nothing to draw where no vCPU is allocated."""
    if not any(c.vcpus for c in capacity):
        return None
    return bar_chart(
        [(f"{c.region.site.name} / {c.region.domain.marking}", c.vcpu_percent)
         for c in capacity],
        title=_("vCPU quota in use per region"),
        description=_("The share of the vCPUs allocated to the units you can see that they "
                      "use, per region (the table follows)."),
        unit="%", high=100.0,
    )  # fmt: skip
