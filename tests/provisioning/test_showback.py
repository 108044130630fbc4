"""Showback: usage spans from the resources' lifecycle, days computed once, priced by the rate
card valid each day; the month's totals reconcile exactly with the resource records, whether
read from computed days or from the spans; and each reader sees only their allocations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning.cloud import base as cloud
from provisioning.models import FloatingIp, RateCard, Server, ShowbackDay, UsageSpan, Volume
from provisioning.selectors import showback_days_visible_to
from provisioning.services.resources import resource_mark_deleted, server_mirror
from provisioning.services.showback import (
    showback_day_compute,
    showback_days_compute,
    spans_observe,
)
from provisioning.showback import showback_report
from tenants.models import Allocation, Role
from tenants.selectors import allocations_visible_to
from tests.factories import AllocationFactory, TenantFactory, make_portal_role, make_user

pytestmark = pytest.mark.django_db
Kind = UsageSpan.Kind


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _server(allocation, name: str, created: datetime, *, vcpus=2, ram_mb=4096, boot=20):
    server = Server.objects.create(allocation=allocation, name=name, backend_id=f"b-{name}",
                                   tag="t", flavor_name="m1", vcpus=vcpus, ram_mb=ram_mb,
                                   status="ACTIVE", boot_volume_gb=boot)  # fmt: skip
    Server.objects.filter(pk=server.pk).update(created_at=created)
    spans_observe(Kind.SERVER, [server.pk], now=created)
    return server


def _change(model, obj, when: datetime, **fields) -> None:
    """The row changes as the mirror would write it, then the spans are told at ``when``."""
    model.objects.filter(pk=obj.pk).update(**fields)
    spans_observe({Server: Kind.SERVER, Volume: Kind.VOLUME, FloatingIp: Kind.FLOATING_IP}[model],
                  [obj.pk], now=when)  # fmt: skip


@pytest.fixture
def october(shop):
    """Blue's October, scripted: a server resized, stopped, started and deleted; a volume
    extended; an address held all month; and another unit's server beside it."""
    low = shop.low
    server = _server(low, "app", at(3, 10))
    _change(Server, server, at(10), vcpus=4, ram_mb=8192)
    _change(Server, server, at(12, 12), status="SHUTOFF")
    _change(Server, server, at(14, 12), status="ACTIVE")
    _change(Server, server, at(20, 7), deleted_at=at(20, 6), status="DELETED")  # seen an hour on
    volume = Volume.objects.create(allocation=low, name="data", backend_id="v-data", tag="t",
                                   size_gb=50, status="available")  # fmt: skip
    Volume.objects.filter(pk=volume.pk).update(created_at=at(5))
    spans_observe(Kind.VOLUME, [volume.pk], now=at(5))
    _change(Volume, volume, at(15), size_gb=100)
    address = FloatingIp.objects.create(allocation=low, name="a", address="192.0.2.7",
                                        backend_id="f-1", tag="t", status="ACTIVE")  # fmt: skip
    FloatingIp.objects.filter(pk=address.pk).update(created_at=at(1))
    spans_observe(Kind.FLOATING_IP, [address.pk], now=at(1))
    other = AllocationFactory(tenant=TenantFactory(name="Green Unit"), region=low.region)
    _server(other, "green", at(1), vcpus=8, ram_mb=16384, boot=0)
    RateCard.objects.create(name="2026", valid_from=date(2026, 1, 1), vcpu_hour=Decimal("0.01"),
                            ram_gib_hour=Decimal("0.005"), volume_gib_hour=Decimal("0.0002"),
                            floating_ip_hour=Decimal("0.004"),
                            stopped_share=Decimal("0.25"))  # fmt: skip
    RateCard.objects.create(name="From the 16th", valid_from=date(2026, 10, 16),
                            vcpu_hour=Decimal("0.02"), ram_gib_hour=Decimal("0.005"),
                            volume_gib_hour=Decimal("0.0002"), floating_ip_hour=Decimal("0.004"),
                            stopped_share=Decimal("0.25"))  # fmt: skip
    return shop


def _expected_blue() -> tuple[dict[str, float], Decimal]:
    """Blue's October from the script above, hour by hour, with nothing of the portal's."""
    h = lambda a, b: (b - a).total_seconds() / 3600  # noqa: E731
    running_2 = h(at(3, 10), at(10))  # 2 vCPU, 4 GiB
    running_4 = h(at(10), at(12, 12)) + h(at(14, 12), at(20, 6))  # 4 vCPU, 8 GiB
    stopped_4 = h(at(12, 12), at(14, 12))
    server_life = h(at(3, 10), at(20, 6))  # its 20 GB boot disk
    figures = {
        "vcpu_hours": 2 * running_2 + 4 * running_4,
        "ram_gib_hours": 4 * running_2 + 8 * running_4,
        "stopped_vcpu_hours": 4 * stopped_4,
        "stopped_ram_gib_hours": 8 * stopped_4,
        "volume_gib_hours": 20 * server_life
        + 50 * h(at(5), at(15))
        + 100 * h(at(15), at(1, 0, 11)),
        "floating_ip_hours": h(at(1), at(1, 0, 11)),
    }
    # Priced day by day: vCPU-hours at 0.01 to the 15th, 0.02 from the 16th.
    d = Decimal
    before = at(16)
    vcpu_early = 2 * running_2 + 4 * h(at(10), at(12, 12)) + 4 * h(at(14, 12), before)
    vcpu_late = 4 * h(before, at(20, 6))
    cost = (
        d(str(vcpu_early)) * d("0.01") + d(str(vcpu_late)) * d("0.02")
        + d(str(figures["ram_gib_hours"])) * d("0.005")
        + d(str(4 * stopped_4)) * d("0.01") * d("0.25")  # stopped: before the 16th
        + d(str(8 * stopped_4)) * d("0.005") * d("0.25")
        + d(str(figures["volume_gib_hours"])) * d("0.0002")
        + d(str(figures["floating_ip_hours"])) * d("0.004")
    )  # fmt: skip
    return figures, cost.quantize(Decimal("0.01"))


def _blue(report):
    [row] = [r for r in report.rows if r.label == "Blue Unit"]
    return row


@pytest.mark.parametrize("computed", [True, False], ids=["from-days", "from-spans"])
def test_the_month_reconciles_with_the_resource_records(october, computed):
    if computed:
        assert len(showback_days_compute(today=date(2026, 11, 1))) == 31
    everything = Allocation.objects.all()
    report = showback_report(ShowbackDay.objects.all(), everything, month="2026-10",
                             now=at(15, 0, 11))  # fmt: skip
    expected, cost = _expected_blue()
    blue = _blue(report)
    assert blue.figures == pytest.approx(expected, rel=1e-12)
    assert blue.cost == cost
    green = next(r for r in report.rows if r.label == "Green Unit")
    assert green.figures["vcpu_hours"] == pytest.approx(8 * 31 * 24)
    assert report.total.figures["vcpu_hours"] == pytest.approx(expected["vcpu_hours"] + 8 * 31 * 24)
    assert {c.name for c in report.cards} == {"2026", "From the 16th"}


def test_a_day_computed_twice_is_the_same(october):
    assert showback_day_compute(date(2026, 10, 12)) == 2  # Blue and Green
    first = list(ShowbackDay.objects.order_by("allocation").values())
    showback_day_compute(date(2026, 10, 12))
    assert list(ShowbackDay.objects.order_by("allocation").values()) == [
        {**row, "id": row2["id"]} for row, row2 in
        zip(first, ShowbackDay.objects.order_by("allocation").values(), strict=True)
    ]  # fmt: skip
    assert showback_days_compute(today=date(2026, 10, 14)) == [
        date(2026, 10, 13)  # only what was not computed yet
    ]


def test_spans_follow_the_services(shop):
    info = cloud.ServerInfo(id="srv-1", name="web", status="BUILD", flavor_name="m1.small",
                            vcpus=2, ram_mb=2048, project_id="p", image_id="i")  # fmt: skip
    server = server_mirror(allocation=shop.low, info=info, tag="t")
    server_mirror(allocation=shop.low, info=replace(info, status="ACTIVE"))
    assert UsageSpan.objects.filter(resource_id=server.pk).count() == 1  # running all along
    server_mirror(allocation=shop.low, info=replace(info, status="SHUTOFF"))
    spans = list(UsageSpan.objects.filter(resource_id=server.pk).order_by("started_at", "id"))
    assert [(s.running, s.ended_at is None) for s in spans] == [(True, False), (False, True)]
    resource_mark_deleted(server, reason="Decommissioned")
    server.refresh_from_db()
    assert not UsageSpan.objects.filter(resource_id=server.pk, ended_at__isnull=True).exists()
    assert UsageSpan.objects.get(resource_id=server.pk, running=False).ended_at == server.deleted_at
    assert spans_observe(Kind.SERVER, [server.pk]) == 0  # idempotent


def test_each_reader_sees_only_their_allocations(client, api_client, october):
    showback_days_compute(today=date(2026, 11, 1))
    member = make_user("bea", memberships={october.tenant: Role.VIEWER},
                       domains=(october.unclass,), sites=(october.site,))  # fmt: skip
    report = showback_report(showback_days_visible_to(member), allocations_visible_to(member),
                             month="2026-10")  # fmt: skip
    assert [r.label for r in report.rows] == ["Blue Unit"]
    client.force_login(member)
    page = client.get(reverse("showback-report"), {"month": "2026-10"}).content.decode()
    assert "Blue Unit" in page and "Green Unit" not in page
    query = {"month": "2026-10", "format": "csv", "group_by": "allocation"}
    csv_text = client.get(reverse("showback-report"), query).content.decode()
    assert "Blue Unit" in csv_text and "Green" not in csv_text
    api_client.force_authenticate(member)
    body = api_client.get(reverse("api:report-showback"), {"month": "2026-10"}).json()
    assert [r["group"] for r in body["rows"]] == ["Blue Unit"]
    assert body["total"]["cost"] == body["rows"][0]["cost"]

    operator = make_portal_role("olga", "operate_portal")
    api_client.force_authenticate(operator)
    body = api_client.get(reverse("api:report-showback"), {"month": "2026-10"}).json()
    assert {r["group"] for r in body["rows"]} == {"Blue Unit", "Green Unit"}
    assert api_client.get(reverse("api:report-showback"),
                          {"month": "2026-13"}).status_code == 400  # fmt: skip


def test_the_page_draws_the_costs_with_a_table_behind(client, october):
    operator = make_portal_role("olga", "operate_portal")
    client.force_login(operator)
    page = client.get(reverse("showback-report"), {"month": "2026-10"}).content.decode()
    assert "<svg" in page and "Cost per tenant" in page
    assert "Priced by 2026" in page and "Priced by From the 16th" in page
    bad = client.get(reverse("showback-report"), {"month": "2026-13"})
    assert "Give a month as YYYY-MM" in bad.content.decode()


def test_one_rate_card_per_first_day():
    RateCard.objects.create(name="A", valid_from=date(2026, 1, 1))
    with pytest.raises(ValidationError) as caught:
        RateCard(name="B", valid_from=date(2026, 1, 1)).full_clean()
    assert "valid_from" in caught.value.message_dict
    with pytest.raises(ValidationError):
        RateCard(name="C", valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 1)).full_clean()


def test_a_month_without_a_card_shows_hours_only(client, shop):
    _server(shop.low, "app", at(3, 10))
    operator = make_portal_role("olga", "operate_portal")
    client.force_login(operator)
    page = client.get(reverse("showback-report"), {"month": "2026-10"}).content.decode()
    assert "No rate card covers this month" in page and "vCPU-hours per tenant" in page


@pytest.mark.parametrize("grouping", ["tenant", "allocation", "site", "domain"])
def test_a_computed_month_costs_a_fixed_number_of_queries(october, grouping,
                                                          django_assert_num_queries):  # fmt: skip
    for n in range(5):  # more allocations, more rows: not more queries
        extra = AllocationFactory(tenant=TenantFactory(name=f"Unit {n}"), region=october.low.region)
        _server(extra, f"s{n}", at(2))
    showback_days_compute(today=date(2026, 11, 1))
    # The cards, the last day computed, the month summed, the ids in sight, the names, the
    # domains of the page.
    with django_assert_num_queries(6):
        report = showback_report(ShowbackDay.objects.all(), Allocation.objects.all(),
                                 month="2026-10", grouping=grouping, now=at(15, 0, 11))  # fmt: skip
    assert report.rows and all(r.label for r in report.rows)
