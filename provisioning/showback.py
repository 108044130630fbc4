"""Showback: what each unit consumed in a month, and what it costs by the rate card.

Read from ``ShowbackDay`` (one row per allocation and day, computed as days end by
``provisioning.services.showback``): a month costs at most 31 rows per allocation whatever the
number of resources; the days not yet computed (today, or a day the job has not reached) are
read from the usage spans as they stand. Each day is priced by the rate card valid that day.
The caller narrows the rows with the access layer: a member sees their tenants' allocations,
operators and auditors everything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, IntegerField, Max, QuerySet, Sum, TextChoices, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy

from provisioning.models import RateCard, ShowbackDay
from provisioning.services.showback import FIGURES, usage_between
from provisioning.sla import Period
from tenants.models import Allocation, SecurityDomain, Site, Tenant

CENT = Decimal("0.01")


class ShowbackGrouping(TextChoices):
    TENANT = "tenant", gettext_lazy("Tenant")
    ALLOCATION = "allocation", gettext_lazy("Allocation")
    SITE = "site", gettext_lazy("Site")
    DOMAIN = "domain", gettext_lazy("Security domain")


#: Per grouping: the day row's column, the model, and how a group is named.
GROUPS = {
    ShowbackGrouping.TENANT: ("tenant_id", Tenant, lambda t: t.name),
    ShowbackGrouping.ALLOCATION: ("allocation_id", Allocation, str),
    ShowbackGrouping.SITE: ("site_id", Site, lambda s: s.name),
    ShowbackGrouping.DOMAIN: ("domain_id", SecurityDomain, lambda d: d.marking),
}


@dataclass
class ShowbackRow:
    """One group's month: its hours of each figure, and their price."""

    key: int
    label: str
    figures: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0.0))
    cost: Decimal = Decimal(0)
    #: Hours no rate card prices (days before the first card).
    unpriced: bool = False


@dataclass
class ShowbackReport:
    period: Period
    grouping: ShowbackGrouping
    rows: list[ShowbackRow]
    total: ShowbackRow
    cards: list[RateCard]
    currency: str
    #: Up to when the figures run: the end of the month, or now in the current month.
    through: datetime
    domains: set[SecurityDomain]

    @property
    def priced(self) -> bool:
        return bool(self.cards)


def _card_of(cards: list[RateCard], day: date) -> RateCard | None:
    """The card valid on ``day``: of those whose period holds it, the one that began last."""
    valid = [c for c in cards if c.valid_from <= day and (c.valid_until is None
                                                          or day <= c.valid_until)]  # fmt: skip
    return max(valid, key=lambda c: c.valid_from, default=None)


def price(figures: dict[str, float], card: RateCard | None) -> Decimal:
    """What these hours cost by ``card`` (unrounded); a stopped server's vCPU and RAM at the
    card's share of their price."""
    if card is None:
        return Decimal(0)

    def d(value: float) -> Decimal:
        return Decimal(str(value))

    share = card.stopped_share
    return (
        d(figures["vcpu_hours"]) * card.vcpu_hour
        + d(figures["ram_gib_hours"]) * card.ram_gib_hour
        + d(figures["stopped_vcpu_hours"]) * card.vcpu_hour * share
        + d(figures["stopped_ram_gib_hours"]) * card.ram_gib_hour * share
        + d(figures["volume_gib_hours"]) * card.volume_gib_hour
        + d(figures["floating_ip_hours"]) * card.floating_ip_hour
    )


def showback_report(days: QuerySet[ShowbackDay], allocations: QuerySet[Allocation], *,
                    month: str, grouping: ShowbackGrouping = ShowbackGrouping.TENANT,
                    now: datetime | None = None) -> ShowbackReport:  # fmt: skip
    """The month's consumption per group, priced. ``days`` and ``allocations``: what the reader
    may see (``selectors.showback_days_visible_to``, ``allocations_visible_to``).

    A fixed number of queries: the cards, the last day computed, the month's computed days
    summed per group and card, the days not yet computed (from the spans), the groups' names.
    """
    period = Period.calendar_month(month)
    grouping = ShowbackGrouping(grouping)
    now = now or timezone.now()
    column, model, name = GROUPS[grouping]
    cards = list(RateCard.objects.all())
    first_day = period.since.date()
    end = min(period.until, now)
    end_day = end.astimezone(dt.UTC).date()  # the first day not wholly within the figures
    computed_until = ShowbackDay.objects.aggregate(last=Max("day"))["last"]
    live_from = max(first_day, computed_until + timedelta(days=1)) if computed_until else first_day

    rows: dict[int, ShowbackRow] = {}
    costs: dict[int, Decimal] = defaultdict(Decimal)
    unpriced: set[int] = set()

    def add(key: int, figures: dict[str, float], card: RateCard | None) -> None:
        row = rows.setdefault(key, ShowbackRow(key, ""))
        for figure in FIGURES:
            row.figures[figure] += figures[figure] or 0.0
        costs[key] += price(figures, card)
        if card is None and any(figures.values()):
            unpriced.add(key)

    # The days computed: summed per group and per card (a Case over the month's card ranges).
    stored_until = min(live_from, end_day + timedelta(days=1))
    by_card = _card_ranges(cards, first_day, stored_until)
    if stored_until > first_day:
        card_of_day = Case(*[When(day__gte=a, day__lte=b, then=Value(c.pk)) for a, b, c in by_card],
                           default=Value(None), output_field=IntegerField())  # fmt: skip
        summed = (
            days.filter(day__gte=first_day, day__lt=stored_until)
            .order_by()
            .values(column, card=card_of_day)
            .annotate(**{f: Sum(f) for f in FIGURES})
        )
        by_pk = {c.pk: c for c in cards}
        for entry in summed:
            add(entry[column], {f: entry[f] for f in FIGURES}, by_pk.get(entry["card"]))
    # The rest, from the spans: each day not computed yet, up to now in the current month.
    visible = set(allocations.values_list("pk", flat=True))
    places = None
    day = live_from
    while day <= end_day and datetime.combine(day, dt.time(), tzinfo=dt.UTC) < end:
        since = datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        until = min(since + timedelta(days=1), end)
        usage = {pk: f for pk, f in usage_between(since, until).items() if pk in visible}
        if usage and places is None:
            places = {a.pk: a for a in Allocation.objects.filter(pk__in=visible)
                      .select_related("region")}  # fmt: skip
        for pk, figures in usage.items():
            add(_group_of(places[pk], grouping), figures, _card_of(cards, day))
        day += timedelta(days=1)

    named = model.objects.all()
    if model is Allocation:  # named after its tenant and region: read with them
        named = named.select_related("tenant", "region__site", "region__domain")
    names = named.in_bulk(list(rows))
    for key, row in rows.items():
        row.label = name(names[key]) if key in names else str(key)
        row.cost = costs[key].quantize(CENT)
        row.unpriced = key in unpriced
    ordered = sorted(rows.values(), key=lambda r: (-r.cost, -r.figures["vcpu_hours"], r.label))
    total = ShowbackRow(0, "")
    for row in ordered:
        for figure in FIGURES:
            total.figures[figure] += row.figures[figure]
    total.cost = sum((costs[k] for k in rows), Decimal(0)).quantize(CENT)
    total.unpriced = bool(unpriced)
    runs = _card_ranges(cards, first_day, end_day + timedelta(days=1))
    used = list({id(card): card for _a, _b, card in runs}.values())
    currency = used[0].currency if used else (cards[0].currency if cards else "")
    # The page is marked with every domain the reader's allocations are in (conservative).
    domains = set(SecurityDomain.objects.filter(
        pk__in=allocations.values("region__domain_id")
    )) if rows else set()  # fmt: skip
    return ShowbackReport(period, grouping, ordered, total, used, currency, end, domains)


def _group_of(allocation: Allocation, grouping: ShowbackGrouping) -> int:
    return {
        ShowbackGrouping.TENANT: allocation.tenant_id,
        ShowbackGrouping.ALLOCATION: allocation.pk,
        ShowbackGrouping.SITE: allocation.region.site_id,
        ShowbackGrouping.DOMAIN: allocation.region.domain_id,
    }[grouping]


def _card_ranges(
    cards: list[RateCard], first: date, until: date
) -> list[tuple[date, date, RateCard]]:
    """The card valid on each day from ``first`` to ``until`` (excluded), as runs of days."""
    runs: list[tuple[date, date, RateCard]] = []
    day = first
    while day < until:
        card = _card_of(cards, day)
        if card is not None:
            if runs and runs[-1][2] is card and runs[-1][1] == day - timedelta(days=1):
                runs[-1] = (runs[-1][0], day, card)
            else:
                runs.append((day, day, card))
        day += timedelta(days=1)
    return runs
