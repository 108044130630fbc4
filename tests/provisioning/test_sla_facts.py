"""SLA facts follow the transitions; the report's cost does not follow the number of requests;
the late list pages without repeats or gaps; the CSV streams; need-to-know throughout."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from provisioning import services
from provisioning.models import Kind, ResourceRequest, SlaFact
from provisioning.services.transitions import request_lock, transition
from provisioning.sla_facts import refresh
from tests.factories import make_user, server_spec, set_timeline

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."
FIELDS = ("state", "submitted_at", "decided_at", "approved_at", "completed_at",
          "decision_seconds", "build_seconds", "domain_id", "site_id", "tenant_id")  # fmt: skip


def _fact(request) -> tuple:
    return SlaFact.objects.values_list(*FIELDS).get(request=request)


def _same_as_rebuilt(request) -> tuple:
    """The fact kept move by move equals the one derived from the timeline afterwards."""
    kept = _fact(request)
    refresh([request.pk])
    assert _fact(request) == kept
    return kept


def _move(request, name: str) -> None:
    with transaction.atomic():
        transition(request_lock(request.pk), name, actor=None)


def _submit(shop, allocation=None):
    net = shop.high_net if allocation == shop.high else shop.low_net
    return services.request_submit(user=shop.requester, kind=Kind.SERVER,
                                   allocation=allocation or shop.low, spec=server_spec(net),
                                   justification=WHY)  # fmt: skip


def test_facts_follow_submit_approve_fail_retry_complete(shop):
    request = _submit(shop)
    fact = SlaFact.objects.get(request=request)
    assert (fact.state, fact.domain_id, fact.decided_at) == ("pending_approval", shop.unclass.pk,
                                                             None)  # fmt: skip
    services.request_approve(user=shop.approver, request=request)
    approved = SlaFact.objects.get(request=request)
    assert approved.approved_at == approved.decided_at and approved.decision_seconds >= 0
    _move(request, "start_provisioning")
    _move(request, "fail")
    failed = _same_as_rebuilt(request)
    assert failed[0] == "failed" and failed[6] is None
    services.request_retry(user=shop.requester, request=ResourceRequest.objects.get(pk=request.pk))
    _move(request, "start_provisioning")
    _move(request, "complete")
    done = SlaFact.objects.get(request=request)
    assert done.approved_at == approved.approved_at  # the first approval still starts the build
    assert done.build_seconds == (done.completed_at - approved.approved_at).total_seconds()
    _same_as_rebuilt(request)


def test_two_stage_approval_decides_once_both_approved(shop):
    request = _submit(shop, shop.high)  # SECRET: tenant approver, then security officer
    services.request_approve(user=shop.approver, request=request)
    assert _fact(request)[2] is None  # one stage of two: not decided yet
    services.request_approve(user=shop.officer, request=ResourceRequest.objects.get(pk=request.pk))
    state, _submitted, decided, approved, *_ = _same_as_rebuilt(request)
    assert state == "approved" and decided == approved is not None


@pytest.mark.parametrize("how", ["reject", "cancel"])
def test_a_refusal_or_a_cancel_is_a_decision_without_approval(shop, how):
    request = _submit(shop)
    if how == "reject":
        services.request_reject(user=shop.approver, request=request, comment="Not this week.")
    else:
        services.request_cancel(user=shop.requester, request=request, reason="Not needed.")
    state, _submitted, decided, approved, *_ = _same_as_rebuilt(request)
    assert (state, approved) == ({"reject": "rejected", "cancel": "cancelled"}[how], None)
    assert decided is not None


def _history(shop, n: int) -> None:
    """``n`` requests of every kind of fate, made directly (cheap) with their timelines."""
    fates = [[("pending_approval", 600)],
             [("pending_approval", 600), ("approved", 500)],
             [("pending_approval", 900), ("approved", 300), ("provisioning", 299),
              ("completed", 100)],
             [("pending_approval", 50), ("rejected", 40)]]  # fmt: skip
    for i in range(n):
        allocation = shop.high if i % 3 == 0 else shop.low
        request = ResourceRequest.objects.create(
            kind=Kind.NETWORK, allocation=allocation, requester=shop.requester,
            justification=WHY, spec={"name": f"net-{i}"},
        )  # fmt: skip
        set_timeline(request, fates[i % len(fates)])


@pytest.mark.parametrize(
    "url",
    ["/reports/sla/", "/reports/sla/?group_by=tenant", "/api/v1/reports/sla/",
     "/api/v1/reports/sla/?group_by=site", "/api/v1/reports/sla/late/",
     "/reports/sla/?format=csv"],
)  # fmt: skip
def test_queries_do_not_grow_with_the_requests(client, shop, settings, url):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    client.force_login(shop.approver)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(queries)

    _history(shop, 10)
    few = count()
    _history(shop, 90)
    assert count() == few


def test_late_pages_neither_repeat_nor_skip_while_requests_arrive(client, shop, settings,
                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setattr("provisioning.api.views.LATE_PAGE", 3)
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    _history(shop, 16)
    waiting = list(SlaFact.objects.filter(decided_at=None).values_list("request", flat=True))
    client.force_login(shop.approver)
    first = client.get(reverse("api:report-sla")).json()
    expected = first["late_count"]
    seen = [(late["request"], late["target"]) for late in first["late_requests"]]
    lateness = [late["late_by_seconds"] for late in first["late_requests"]]
    following = first["late_next"]
    while following:
        # Between two pages: new requests arrive, a waiting one is decided (it would now be
        # later than when the first page was read), and everything ages.
        arrival = ResourceRequest.objects.create(kind=Kind.NETWORK, allocation=shop.low,
                                                 requester=shop.requester, justification=WHY,
                                                 spec={"name": "new"})  # fmt: skip
        set_timeline(arrival, [("pending_approval", 0)])
        if waiting:
            _move(ResourceRequest.objects.get(pk=waiting.pop()), "approve")
        page = client.get(following).json()
        seen += [(late["request"], late["target"]) for late in page["results"]]
        lateness += [late["late_by_seconds"] for late in page["results"]]
        following = page["next"]
    assert len(seen) == len(set(seen)) == expected > 6
    assert lateness == sorted(lateness, reverse=True)  # the most overdue first, throughout


def test_a_bad_cursor_is_refused(client, shop):
    client.force_login(shop.approver)
    response = client.get(reverse("api:report-sla-late"), {"cursor": "not-ours"})
    assert response.status_code == 400 and "cursor" in response.json()["fields"]


def test_the_csv_streams_and_the_late_list_keeps_to_what_the_reader_sees(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    _history(shop, 12)
    low_only = make_user("low", memberships={shop.tenant: "viewer"}, domains=(shop.unclass,),
                         sites=(shop.site,))  # fmt: skip
    client.force_login(low_only)
    secret_ids = set(SlaFact.objects.filter(domain=shop.secret).values_list("request", flat=True))

    response = client.get(reverse("sla-report"), {"format": "csv"})
    assert response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    header = "late_request,title,target,took_s,allowed_s,still_waiting"
    late = lines[lines.index(header) + 1 :]
    late = late[: late.index("")]  # the regions' availability follows, after an empty line
    listed = {int(line.split(",")[0]) for line in late}
    body = client.get(reverse("api:report-sla")).json()
    paged = client.get(reverse("api:report-sla-late")).json()
    assert listed and not listed & secret_ids
    assert not {late["request"] for late in body["late_requests"]} & secret_ids
    assert not {late["request"] for late in paged["results"]} & secret_ids
    assert {row["group"] for row in body["rows"]} == {shop.unclass.marking}
