"""The approvals inbox: rows and quota impact, htmx decisions, bulk approval, four-eyes list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from provisioning.models import RequestState, ResourceRequest
from provisioning.views.approvals import ApprovalInboxView
from tests.pages.conftest import submit_server

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def inbox(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("approval-inbox"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_inbox_shows_what_will_be_built_where_and_its_quota_impact(client, shop):
    request = submit_server(shop, count=3, name="app")
    page = inbox(client, shop.approver)
    assert f'id="request-{request.pk}"' in page
    assert "3 \u00d7 <code>m1.small</code>" in page and "debian-12" in page
    assert shop.requester.username in page and "Needed for the exercise" in page
    assert "Blue Unit" in page and "Mons" in page
    # Approved usage is 0 (the request is still pending): 0 / 20 now, 6 / 20 after.
    assert "0 / 20</td><td>6 / 20" in page
    assert "0 / 10</td><td>3 / 10" in page
    assert "over by" not in page
    # The row's domain badge, and the banner marks the most sensitive domain shown.
    assert 'class="domain-badge marking-' in page
    assert 'aria-label="Classification: UNCLASSIFIED"' in page


def test_quota_impact_flags_what_no_longer_fits(client, shop):
    first = submit_server(shop, count=5, name="one")
    second = submit_server(shop, count=4, name="two")
    shop.low.vcpus = 16
    shop.low.save()
    from provisioning.services import request_approve

    request_approve(user=shop.approver, request=first)  # 10 vCPUs now committed
    page = inbox(client, shop.approver)
    assert f'id="request-{second.pk}"' in page
    assert "10 / 16</td><td>18 / 16" in page and "over by 2" in page


def test_secret_requests_show_the_secret_banner(client, shop):
    submit_server(shop, secret=True)
    page = inbox(client, shop.approver)
    assert 'aria-label="Classification: SECRET"' in page


def test_empty_inbox_says_what_happens_next(client, shop):
    page = inbox(client, shop.approver)
    assert "Nothing is waiting for your decision" in page
    assert 'aria-label="Classification: UNCLASSIFIED PORTAL"' in page


def test_filters_by_domain_tenant_site_and_age(client, shop):
    low = submit_server(shop, name="low")
    high = submit_server(shop, name="high", secret=True)
    page = inbox(client, shop.approver, domain="secret")
    assert f'id="request-{high.pk}"' in page and f'id="request-{low.pk}"' not in page
    page = inbox(client, shop.approver, tenant="blue", site="mons")
    assert f'id="request-{high.pk}"' in page and f'id="request-{low.pk}"' in page
    page = inbox(client, shop.approver, tenant="nobody")
    assert "matches these filters" in page

    ResourceRequest.objects.filter(pk=low.pk).update(created_at=timezone.now() - timedelta(hours=5))
    page = inbox(client, shop.approver, older_than=4)
    assert f'id="request-{low.pk}"' in page and f'id="request-{high.pk}"' not in page


def test_approve_with_htmx_replaces_the_row(client, shop):
    request = submit_server(shop)
    client.force_login(shop.approver)
    url = reverse("approval-decide", args=[request.pk])
    response = client.post(url, {"decision": "approve", "comment": "ok"}, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.strip().startswith("<li") and f'id="request-{request.pk}"' in text
    assert "approved; it is being built" in text
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED


def test_secret_approval_moves_on_to_the_security_officer(client, shop):
    request = submit_server(shop, secret=True)
    client.force_login(shop.approver)
    url = reverse("approval-decide", args=[request.pk])
    text = client.post(url, {"decision": "approve"}, **HTMX).content.decode()
    assert "waits for a security officer" in text
    page = inbox(client, shop.officer)
    assert f'id="request-{request.pk}"' in page and "waiting for the security officer" in page


def test_the_timeline_shows_every_stages_decision_in_order(client, shop):
    from provisioning.services import request_approve

    request = submit_server(shop, secret=True)
    request_approve(user=shop.approver, request=request, comment="Sized right.")
    client.force_login(shop.requester)
    page = client.get(request.get_absolute_url()).content.decode()
    timeline = page[page.index('<ol class="timeline">') :]
    timeline = timeline[: timeline.index("</ol>")]
    first = timeline.index("Pending approval")
    decided = timeline.index("Tenant approver: approved")
    assert first < decided, timeline
    assert "Sized right." in timeline and shop.approver.username in timeline
    request_approve(user=shop.officer, request=request)
    page = client.get(request.get_absolute_url()).content.decode()
    timeline = page[page.index('<ol class="timeline">') :]
    officer = timeline.index("Security officer: approved")
    assert timeline.index("Tenant approver: approved") < officer < timeline.index("Approved<")


def test_reject_needs_a_comment_shown_at_the_field(client, shop):
    request = submit_server(shop)
    client.force_login(shop.approver)
    url = reverse("approval-decide", args=[request.pk])
    text = client.post(url, {"decision": "reject", "comment": " "}, **HTMX).content.decode()
    assert f'id="comment-{request.pk}-error"' in text and 'aria-invalid="true"' in text
    assert "Say why you reject it" in text
    request.refresh_from_db()
    assert request.state == RequestState.PENDING_APPROVAL

    text = client.post(url, {"decision": "reject", "comment": "Use the shared one"}, **HTMX)
    assert "rejected" in text.content.decode()
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED
    assert request.approvals.get().comment == "Use the shared one"


def test_decision_without_htmx_redirects_with_a_message(client, shop):
    request = submit_server(shop)
    client.force_login(shop.approver)
    url = reverse("approval-decide", args=[request.pk])
    response = client.post(url, {"decision": "approve"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("approval-inbox")
    assert f"Request #{request.pk} approved" in response.content.decode()


def test_many_own_requests_show_the_first_and_link_to_the_rest(client, shop, monkeypatch):
    monkeypatch.setattr(ApprovalInboxView, "own_shown", 2)
    own = [submit_server(shop, user=shop.approver, name=f"mine{i}") for i in range(3)]
    page = inbox(client, shop.approver)
    shown = re.findall(r'id="own-(\d+)"', page)
    assert shown == [str(own[0].pk), str(own[1].pk)]
    link = f"?state=pending_approval&amp;requester={shop.approver.username}"
    assert link in page
    # The link leads to all three, and only the approver's own waiting requests.
    client.force_login(shop.approver)
    listed = client.get(reverse("request-list") + link.replace("&amp;", "&")).content.decode()
    assert all(f"#{r.pk}" in listed for r in own)


def test_a_few_own_requests_have_no_link(client, shop):
    submit_server(shop, user=shop.approver, name="mine")
    page = inbox(client, shop.approver)
    assert "requester=" not in page


def test_four_eyes_own_requests_listed_apart_without_buttons(client, shop):
    own = submit_server(shop, user=shop.approver, name="mine")
    page = inbox(client, shop.approver)
    assert "Your own requests (someone else must decide)" in page
    assert f'id="own-{own.pk}"' in page and f'id="request-{own.pk}"' not in page
    assert reverse("approval-decide", args=[own.pk]) not in page
    # Forcing the decision anyway: the service refuses, the row says why.
    url = reverse("approval-decide", args=[own.pk])
    text = client.post(url, {"decision": "approve"}, **HTMX).content.decode()
    assert "Four-eyes rule" in text
    # Someone else sees it in their inbox.
    assert f'id="request-{own.pk}"' in inbox(client, shop.approver2)


def test_bulk_approve_reports_each_request(client, shop):
    a = submit_server(shop, name="a")
    b = submit_server(shop, name="b")
    mine = submit_server(shop, user=shop.approver, name="mine")
    client.force_login(shop.approver)
    response = client.post(
        reverse("approval-bulk"), {"requests": [a.pk, b.pk, mine.pk], "comment": "fine"}, **HTMX
    )
    text = response.content.decode()
    assert text.strip().startswith('<div id="inbox-body">')
    assert text.count("approved; it is being built") == 2
    assert "not approved — Four-eyes rule" in text
    states = dict(ResourceRequest.objects.values_list("pk", "state"))
    assert states[a.pk] == states[b.pk] == RequestState.APPROVED
    assert states[mine.pk] == RequestState.PENDING_APPROVAL


def test_bulk_without_selection_says_so(client, shop):
    submit_server(shop)
    client.force_login(shop.approver)
    text = client.post(reverse("approval-bulk"), {"comment": ""}).content.decode()
    assert "No request was selected" in text


def test_out_of_reach_requests_answer_404(client, shop, stranger, low_only):
    secret = submit_server(shop, secret=True)
    for user in (stranger, low_only):
        client.force_login(user)
        url = reverse("approval-decide", args=[secret.pk])
        assert client.post(url, {"decision": "approve"}, **HTMX).status_code == 404
    # And the bulk form silently skips what it cannot see.
    text = client.post(reverse("approval-bulk"), {"requests": [secret.pk]}).content.decode()
    assert f"#{secret.pk}" not in text
    secret.refresh_from_db()
    assert secret.state == RequestState.PENDING_APPROVAL


def test_unclassified_only_user_never_sees_a_secret_row(client, shop, low_only):
    low = submit_server(shop, name="low")
    high = submit_server(shop, name="high", secret=True)
    page = inbox(client, low_only)
    assert f'id="request-{low.pk}"' in page and f'id="request-{high.pk}"' not in page
    assert "SECRET" not in page


def test_inbox_queries_do_not_grow_with_rows(client, shop, django_assert_max_num_queries):
    shop.low.instances, shop.low.vcpus, shop.low.ram_mb = 100, 1000, 10**7
    shop.low.save()

    def count(n):
        while ResourceRequest.objects.count() < n:
            submit_server(shop, name=f"s{ResourceRequest.objects.count()}")
        client.force_login(shop.approver)
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("approval-inbox")).content.decode()
        assert page.count('class="inbox-item"') == min(n, ApprovalInboxView.paginate_by)
        return len(ctx.captured_queries)

    assert count(10) == count(40)


def test_inbox_pages_keep_the_filters(client, shop):
    shop.low.instances, shop.low.vcpus, shop.low.ram_mb = 100, 1000, 10**7
    shop.low.save()
    n = ApprovalInboxView.paginate_by + 5
    for i in range(n):
        submit_server(shop, name=f"p{i}")
    page = inbox(client, shop.approver, domain="unclass")
    assert f"{n} in all" in page and f'<span class="count">{n}</span>' in page
    cursor = re.search(r'href="/approvals/\?domain=unclass&amp;cursor=([^"]+)" rel="next"', page)
    assert cursor, page
    page = inbox(client, shop.approver, domain="unclass", cursor=cursor[1])
    assert page.count('class="inbox-item"') == 5
    # The bulk form's answer links back to the inbox, not to itself.
    client.force_login(shop.approver)
    text = client.post(reverse("approval-bulk") + "?domain=unclass", {}).content.decode()
    assert 'href="/approvals/?domain=unclass&amp;cursor=' in text
