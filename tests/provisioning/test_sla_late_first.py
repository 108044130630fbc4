"""The late list's first rows for a reader of every fact, read per domain from indexes
(``provisioning.sla._late_first``): the same rows, in the same order, as ordering every breach."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning import sla
from provisioning.models import Kind, ResourceRequest, SlaFact
from tenants.models import SecurityDomain
from tests.factories import make_portal_role, set_timeline

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def _history(shop, n: int, seed: int) -> None:
    """``n`` requests in both domains: decided or not, built or not, some of them with the same
    durations (ties broken by request, then target), some late on both targets."""
    pick = random.Random(seed)
    for i in range(n):
        request = ResourceRequest.objects.create(
            kind=Kind.NETWORK, allocation=shop.high if i % 3 == 0 else shop.low,
            requester=shop.requester, justification=WHY, spec={"name": f"net-{i}"},
        )  # fmt: skip
        submitted = pick.choice([3000, 2000, 1500, 900, 600, 240])  # minutes ago
        moves = [("pending_approval", submitted)]
        fate = pick.random()
        if fate > 0.15:
            decided = submitted - pick.choice([10, 90, 200, 600, 600])
            if fate > 0.3:
                moves.append(("approved", decided))
                if fate > 0.45:
                    moves.append(("provisioning", decided))
                    if fate > 0.6:
                        moves.append(("completed", decided - pick.choice([5, 45, 45, 300])))
            else:
                moves.append(("rejected", decided))
        set_timeline(request, moves)


def _rows(after: sla.LateCursor | None, limit: int, *, fast: bool, as_of) -> list[tuple]:
    targets = sla.Targets.of(list(SecurityDomain.objects.all()), as_of)
    chosen = sla._chosen(SlaFact.objects.all(), sla.Period.last_days(30, now=as_of), as_of)
    if fast:
        return list(sla._late_first(chosen, targets, as_of, after, limit))
    return list(sla._late_rows_sql(chosen, targets, as_of, after)[:limit])


def _walk(limit: int, *, fast: bool, as_of) -> list[tuple]:
    period, after, seen = sla.Period.last_days(30, now=as_of), None, []
    while True:
        rows = _rows(after, limit, fast=fast, as_of=as_of)
        seen += rows
        if len(rows) < limit:
            return seen
        last = rows[-1]
        after = sla.LateCursor(as_of, period, last[5], last[0], last[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_page_by_page_the_same_rows_in_the_same_order(shop, settings, seed):
    settings.PORTAL_SLA_DECISION_SECONDS = 2 * 3600
    settings.PORTAL_SLA_BUILD_SECONDS = 30 * 60
    # The secret domain holds its requests to targets of its own.
    SecurityDomain.objects.filter(pk=shop.secret.pk).update(
        sla_decision=timedelta(hours=8), sla_build=timedelta(minutes=10)
    )
    _history(shop, 60, seed)
    as_of = timezone.now()

    everything = _walk(1000, fast=False, as_of=as_of)
    assert len(everything) > 20
    assert {row[4] for row in everything} == {True, False}  # open and finished breaches
    assert {row[1] for row in everything} == {"decision", "build"}
    assert _rows(None, 1000, fast=True, as_of=as_of) == everything
    for limit in (1, 4, 7):
        assert _walk(limit, fast=True, as_of=as_of) == everything


def test_an_operator_pages_through_the_late_list_as_before(client, shop, settings, monkeypatch):
    settings.PORTAL_SLA_DECISION_SECONDS = 2 * 3600
    monkeypatch.setattr("provisioning.api.views.LATE_PAGE", 5)
    _history(shop, 40, seed=4)
    used = []
    original = sla._late_first
    monkeypatch.setattr(sla, "_late_first", lambda *a: used.append(1) or original(*a))
    client.force_login(make_portal_role("olga", "operate_portal"))

    first = client.get(reverse("api:report-sla")).json()
    shown = [(late["request"], late["target"]) for late in first["late_requests"]]
    following = first["late_next"]
    while following:
        page = client.get(following).json()
        shown += [(late["request"], late["target"]) for late in page["results"]]
        following = page["next"]

    expected = _walk(1000, fast=False, as_of=timezone.now())
    assert shown == [(row[0], row[1]) for row in expected]
    assert len(shown) == first["late_count"]
    assert len(used) > 1  # the report's first page and every page after it


def test_a_reader_of_some_facts_or_a_working_clock_keeps_the_ordering_of_every_breach(
    client, shop, settings, monkeypatch
):
    settings.PORTAL_SLA_DECISION_SECONDS = 2 * 3600
    _history(shop, 12, seed=5)

    def refused(*args):
        raise AssertionError("read by index")

    monkeypatch.setattr(sla, "_late_first", refused)
    client.force_login(shop.approver)  # sees their tenant's facts only
    assert client.get(reverse("api:report-sla")).json()["late_requests"]

    shop.site.country, shop.site.timezone = "BE", "Europe/Brussels"
    shop.site.save()
    shop.unclass.sla_clock = "working"
    shop.unclass.save()
    client.force_login(make_portal_role("olga", "operate_portal"))
    assert client.get(reverse("api:report-sla")).status_code == 200
