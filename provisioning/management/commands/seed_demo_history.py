"""The demo's history and prices. Last June's decisions at Brussels, in NATO RESTRICTED (whose
targets count working time): so the June SLA report shows a public holiday taken out of a
decision's time. Last month's servers and a volume of four units (decommissioned since), with
the days computed, and a rate card: so each unit sees its monthly showback. Once: a second run
finds them.

The June chosen is the latest past one with a Belgian public holiday on a weekday (Whit Monday
9 June 2025). One request was submitted on the Friday before at 16:00 and decided on the
Tuesday at 10:00: 90 hours on the calendar, 4 hours of working time, within the day's target.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from provisioning import demand, sla_facts
from provisioning.models import (
    Kind,
    RateCard,
    RequestState,
    RequestTransition,
    ResourceRequest,
    Server,
    UsageSpan,
    Volume,
)
from provisioning.services import request_reject, request_submit
from provisioning.services.showback import showback_days_compute, spans_observe
from tenants.models import Allocation

MARK = "june-archive"
BRUSSELS = ZoneInfo("Europe/Brussels")


def holiday_june(today: date) -> tuple[int, date]:
    """The latest June before ``today`` with a Belgian public holiday on a weekday."""
    for year in range(today.year if today.month > 6 else today.year - 1, 2000, -1):
        closed = holidays.country_holidays("BE", years=year)
        weekdays = sorted(d for d in closed if d.month == 6 and d.isoweekday() <= 5)
        if weekdays:
            return year, weekdays[0]
    raise LookupError("no June with a Belgian weekday holiday")


#: Last month's servers and volumes (decommissioned since) of some units: (tenant, region, name,
#: vCPUs, RAM MiB, boot or volume GB, first day, last day, days stopped in between).
USAGE_MARK = "history-"
USAGE = [
    ("csc", "brussels-unclass", "analysis-1", 4, 8192, 40, 2, 24, (10, 12)),
    ("csc", "brussels-unclass", "analysis-2", 8, 16384, 80, 5, 28, None),
    ("csc", "mons-restricted", "sensor-hub", 2, 4096, 20, 1, 30, None),
    ("lsu", "the-hague-unclass", "planning", 4, 8192, 40, 3, 27, (14, 21)),
    ("training", "oeiras-unclass", "lab-a", 2, 4096, 20, 8, 12, None),
    ("training", "oeiras-unclass", "lab-b", 2, 4096, 20, 8, 12, None),
    ("jfc", "mons-secret", "c2-replica", 16, 65536, 200, 1, 30, None),
]
USAGE_VOLUMES = [("lsu", "the-hague-unclass", "archive", 500, 4, 27)]


def _usage_history(now: datetime) -> None:
    """Last month's resources, recorded as the services would have: spans from the rows."""
    first = (now.replace(day=1) - timedelta(days=1)).replace(day=1, hour=9, minute=0, second=0,
                                                             microsecond=0)  # fmt: skip
    allocations = {(a.tenant.slug, a.region.slug): a
                   for a in Allocation.objects.select_related("tenant", "region")}  # fmt: skip

    def on(day: int, hour: int = 9) -> datetime:
        return first.replace(day=min(day, 28), hour=hour)

    for tenant, region, name, vcpus, ram_mb, boot, since, until, stopped in USAGE:
        server = Server.objects.create(
            allocation=allocations[(tenant, region)], name=USAGE_MARK + name,
            backend_id=f"{USAGE_MARK}{tenant}-{name}", tag="portal-history", flavor_name="m1",
            vcpus=vcpus, ram_mb=ram_mb, boot_volume_gb=boot, status="ACTIVE",
        )  # fmt: skip
        Server.objects.filter(pk=server.pk).update(created_at=on(since))
        spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=on(since))
        if stopped:
            Server.objects.filter(pk=server.pk).update(status="SHUTOFF")
            spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=on(stopped[0]))
            Server.objects.filter(pk=server.pk).update(status="ACTIVE")
            spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=on(stopped[1]))
        Server.objects.filter(pk=server.pk).update(deleted_at=on(until, 17), status="DELETED")
        spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=on(until, 17))
    for tenant, region, name, size, since, until in USAGE_VOLUMES:
        volume = Volume.objects.create(
            allocation=allocations[(tenant, region)], name=USAGE_MARK + name,
            backend_id=f"{USAGE_MARK}{tenant}-{name}", tag="portal-history", size_gb=size,
            status="available",
        )  # fmt: skip
        Volume.objects.filter(pk=volume.pk).update(created_at=on(since))
        spans_observe(UsageSpan.Kind.VOLUME, [volume.pk], now=on(since))
        Volume.objects.filter(pk=volume.pk).update(deleted_at=on(until, 17), status="DELETED")
        spans_observe(UsageSpan.Kind.VOLUME, [volume.pk], now=on(until, 17))


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), BRUSSELS)


class Command(BaseCommand):
    help = "Add last June's decided requests at Brussels (NATO RESTRICTED) and a rate card, once."

    def handle(self, *args, **options) -> None:
        RateCard.objects.get_or_create(
            valid_from=date(2025, 1, 1),
            defaults={"name": "Demo prices", "currency": "EUR", "vcpu_hour": Decimal("0.012"),
                      "ram_gib_hour": Decimal("0.004"), "volume_gib_hour": Decimal("0.00015"),
                      "floating_ip_hour": Decimal("0.005"), "stopped_share": Decimal("0.2")},
        )  # fmt: skip
        if not Server.objects.filter(name__startswith=USAGE_MARK).exists():
            _usage_history(timezone.now())
        showback_days_compute()
        if ResourceRequest.objects.filter(spec__name__startswith=MARK).exists():
            return
        year, holiday = holiday_june(timezone.localdate())
        friday = holiday - timedelta(days=(holiday.isoweekday() - 5) % 7 or 7)
        after = holiday + timedelta(days=1)
        while after.isoweekday() > 5:
            after += timedelta(days=1)
        # (submitted, decided): across the holiday, then within a day, overnight, a weekend.
        decisions = [
            (_local(friday, 16), _local(after, 10)),
            (_local(date(year, 6, 3), 9), _local(date(year, 6, 3), 15)),
            (_local(date(year, 6, 16), 17), _local(date(year, 6, 17), 11)),
            (_local(date(year, 6, 20), 15), _local(date(year, 6, 23), 16)),
            (_local(date(year, 6, 24), 8), _local(date(year, 6, 26), 12)),
        ]
        people = get_user_model().objects.in_bulk(["alice", "bob"], field_name="username")
        alice, bob = people["alice"], people["bob"]
        allocation = Allocation.objects.get(tenant__slug="csc", region__slug="brussels-restricted")
        for n, (submitted, decided) in enumerate(decisions, start=1):
            request = request_submit(
                user=alice, kind=Kind.NETWORK, allocation=allocation,
                spec={"name": f"{MARK}-{n}", "cidr": f"10.78.{n}.0/24"},
                justification="An archive network for the June exercise (decided long ago).",
            )  # fmt: skip
            request_reject(user=bob, request=request,
                           comment="The exercise was planned on another network.")  # fmt: skip
            # Then moved back to June, around the services: the timeline, the decision, the fact.
            timeline = RequestTransition.objects.filter(request=request)
            timeline.filter(to_state=RequestState.PENDING_APPROVAL).update(at=submitted)
            timeline.filter(to_state=RequestState.REJECTED).update(at=decided)
            request.approvals.update(decided_at=decided)
            ResourceRequest.objects.filter(pk=request.pk).update(
                created_at=submitted, state_changed_at=decided
            )
            sla_facts.refresh([request.pk])
        demand.rebuild()  # the requests were moved back in time, around the services
        self.stdout.write(f"June {year}: {len(decisions)} decisions, one across {holiday}.")
