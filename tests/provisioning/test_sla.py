"""The SLA report: times from the timeline, breaches (open ones too), and need-to-know."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from provisioning import services
from provisioning.models import Kind, RequestState, RequestTransition, ResourceRequest
from provisioning.selectors import requests_visible_to
from provisioning.sla import sla_report
from provisioning.templatetags.durations import duration
from tests.factories import make_user, server_spec

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def _request(shop, allocation=None, **timeline_minutes):
    """A request whose timeline says it reached each state so many minutes ago."""
    allocation = allocation or shop.low
    net = shop.low_net if allocation == shop.low else shop.high_net
    request = services.request_submit(user=shop.requester, kind=Kind.SERVER, allocation=allocation,
                                      spec=server_spec(net), justification=WHY)  # fmt: skip
    now = timezone.now()
    RequestTransition.objects.filter(request=request).update(
        at=now - timedelta(minutes=timeline_minutes.pop("pending_approval"))
    )
    last = RequestState.PENDING_APPROVAL
    for state, minutes in timeline_minutes.items():
        RequestTransition.objects.create(request=request, from_state=last, to_state=state,
                                         at=now - timedelta(minutes=minutes))  # fmt: skip
        last = state
    ResourceRequest.objects.filter(pk=request.pk).update(state=last)
    return request


def test_times_and_breaches(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 60 * 60
    settings.PORTAL_SLA_BUILD_SECONDS = 10 * 60
    # decided in 20 min, built in 5 min: on time
    _request(shop, pending_approval=100, approved=80, provisioning=79, completed=75)
    # decided in 90 min (late), built in 30 min (late)
    _request(shop, pending_approval=200, approved=110, provisioning=109, completed=80)
    # still waiting after 2 hours: late already
    _request(shop, pending_approval=120)

    report = sla_report(ResourceRequest.objects.all(), days=30)

    [row] = report.rows
    assert row.requests == 3
    assert sorted(row.decision) == [20 * 60, 90 * 60]
    assert sorted(row.build) == [5 * 60, 30 * 60]
    assert (row.decision_breaches, row.build_breaches) == (2, 1)
    assert row.decision_stats.p50 == 55 * 60


def test_the_report_counts_only_what_the_reader_may_see(client, shop):
    _request(shop, shop.high, pending_approval=30)
    _request(shop, pending_approval=30)
    unclassified_only = make_user("low", memberships={shop.tenant: "viewer"},
                                  domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip

    report = sla_report(requests_visible_to(unclassified_only), days=30)
    assert [r.domain for r in report.rows] == [shop.unclass]

    client.force_login(unclassified_only)
    page = client.get(reverse("sla-report")).content.decode()
    assert shop.unclass.marking in page and shop.secret.marking not in page
    csv_text = client.get(reverse("sla-report") + "?format=csv").content.decode()
    assert csv_text.count("\n") == 2 and shop.secret.marking not in csv_text


def test_the_command_prints_every_domain(shop, capsys):
    _request(shop, shop.high, pending_approval=30)
    _request(shop, pending_approval=30)
    call_command("sla_report", "--days", "7")
    out = capsys.readouterr().out
    assert shop.unclass.marking in out and shop.secret.marking in out


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (42, "42 s"), (95, "1 min 35 s"),
                                               (7200, "2 h"), (7380, "2 h 3 min"),
                                               (3 * 86400 + 3600, "3 d 1 h")])  # fmt: skip
def test_durations_read_like_people_write_them(seconds, text):
    assert duration(seconds) == text
