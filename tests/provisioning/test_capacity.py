"""Capacity requests: a quota change and a lease extension, decided by the tenant's manager and
then an operator; what they may ask for, who decides, and the pages and the API that file them.
(The worker's side, against cloudsim, is tests/integration/test_capacity.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from provisioning import services
from provisioning.models import Kind, RequestState, Server, Stage
from provisioning.notifications import approvers_for
from provisioning.selectors import requests_awaiting
from provisioning.services import RequestNotAllowed
from tenants.models import Role
from tests.factories import make_portal_role, make_user

pytestmark = pytest.mark.django_db
WHY = "The exercise doubles the analysts' sandboxes."


@pytest.fixture
def manager(shop):
    return make_user("mona", memberships={shop.tenant: Role.MANAGER},
                     domains=(shop.unclass, shop.secret), sites=(shop.site,))  # fmt: skip


@pytest.fixture
def operator(db):
    return make_portal_role("olga", "operate_portal")


def _server(shop, name: str = "lab", *, lease_days: int | None = 3) -> Server:
    lease = timezone.now() + timedelta(days=lease_days) if lease_days is not None else None
    return Server.objects.create(allocation=shop.low, name=name, backend_id=f"b-{name}", tag="t",
                                 flavor_name="m1.small", vcpus=2, ram_mb=2048, status="ACTIVE",
                                 lease_end=lease)  # fmt: skip


def _quota(shop, user=None, **limits):
    return services.request_submit(user=user or shop.requester, kind=Kind.QUOTA_CHANGE,
                                   allocation=shop.low, spec=limits, justification=WHY)  # fmt: skip


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def test_a_quota_change_says_what_changes_and_from_what(shop):
    _server(shop)  # one instance and 2 vCPUs in use
    request = _quota(shop, instances=20, vcpus="40", routers=2)  # routers unchanged
    assert request.spec["limits"] == {"instances": 20, "vcpus": 40}
    assert request.spec["from"] == {"instances": 10, "vcpus": 20}
    assert request.spec["used"] == {"instances": 1, "vcpus": 2}
    assert (request.state, request.pending_stage) == (RequestState.PENDING_APPROVAL, Stage.MANAGER)
    assert request.title == str(shop.low)


def test_a_quota_change_refuses_what_makes_no_sense(shop):
    _server(shop)
    _server(shop, "second")
    errors = _errors(lambda: _quota(shop, instances=1, vcpus=-1, gigabytes=10**9))
    assert "2 are in use" in errors["instances"][0]
    assert errors["vcpus"] and errors["gigabytes"]
    errors = _errors(lambda: _quota(shop, instances=10))  # today's limit
    assert "at least one new limit" in errors["__all__"][0]
    assert "instances" in _errors(lambda: _quota(shop, instances="lots"))


def test_the_manager_then_an_operator_decide(shop, manager, operator):
    request = _quota(shop, instances=20)
    # The tenant's approvers do not decide capacity; the manager does.
    assert not requests_awaiting(shop.approver).filter(pk=request.pk).exists()
    assert requests_awaiting(manager).filter(pk=request.pk).exists()
    assert not requests_awaiting(operator).filter(pk=request.pk).exists()
    assert approvers_for(request) == [manager]
    with pytest.raises(RequestNotAllowed):
        services.request_approve(user=shop.approver, request=request)
    with pytest.raises(RequestNotAllowed):
        services.request_approve(user=operator, request=request)

    services.request_approve(user=manager, request=request)
    request.refresh_from_db()
    assert request.pending_stage == Stage.OPERATOR
    assert requests_awaiting(operator).filter(pk=request.pk).exists()
    assert not requests_awaiting(manager).filter(pk=request.pk).exists()  # four eyes
    assert approvers_for(request) == [operator]
    services.request_approve(user=operator, request=request)
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED  # handed to the workers


def test_a_manager_out_of_the_domain_does_not_decide(shop, operator):
    unclassified_only = make_user("mick", memberships={shop.tenant: Role.MANAGER},
                                  domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    request = services.request_submit(user=shop.requester, kind=Kind.QUOTA_CHANGE,
                                      allocation=shop.high, spec={"instances": 12},
                                      justification=WHY)  # fmt: skip
    assert not requests_awaiting(unclassified_only).filter(pk=request.pk).exists()


def test_a_manager_may_reject(shop, manager):
    request = _quota(shop, instances=20)
    services.request_reject(user=manager, request=request, comment="Not this quarter.")
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED


def test_a_lease_extension_must_be_later_and_within_the_longest_lease(shop):
    server = _server(shop)

    def extend(days: float, target=server):
        return services.request_submit(
            user=shop.requester, kind=Kind.LEASE_EXTEND, target=target, justification=WHY,
            spec={"lease_end": (timezone.now() + timedelta(days=days)).isoformat()},
        )  # fmt: skip

    assert "after the lease's current end" in _errors(lambda: extend(1))["lease_end"][0]
    assert "at most 365 days" in _errors(lambda: extend(400))["lease_end"][0]
    forever = _server(shop, "forever", lease_days=None)
    assert "has no lease" in _errors(lambda: extend(30, forever))["lease_end"][0]
    request = extend(30)
    assert request.pending_stage == Stage.MANAGER
    assert request.spec["from_lease_end"] == server.lease_end.isoformat()


def test_the_quota_page_files_a_request_and_shows_field_errors(client, shop):
    _server(shop)
    client.force_login(shop.requester)
    detail = client.get(reverse("allocation-detail", args=[shop.low.pk])).content.decode()
    url = reverse("allocation-quota-change", args=[shop.low.pk])
    assert url in detail
    page = client.get(url).content.decode()
    assert 'name="instances" inputmode="numeric" value="10"' in page

    bad = client.post(url, {"instances": "0", "vcpus": "20", "justification": WHY})
    assert bad.status_code == 400
    assert "1 is in use" in bad.content.decode()
    good = client.post(url, {"instances": "15", "vcpus": "20", "justification": WHY})
    request = shop.low.requests.get(kind=Kind.QUOTA_CHANGE)
    assert good.status_code == 302 and good.url == request.get_absolute_url()
    assert request.spec["limits"] == {"instances": 15}


def test_the_quota_page_is_for_those_who_may_request(client, shop):
    stranger = make_user("stan", domains=(shop.unclass,), sites=(shop.site,))
    viewer = make_user("vic", memberships={shop.tenant: Role.VIEWER}, domains=(shop.unclass,),
                       sites=(shop.site,))  # fmt: skip
    url = reverse("allocation-quota-change", args=[shop.low.pk])
    client.force_login(stranger)  # not a member: the allocation is out of reach
    assert client.get(url).status_code == 404
    client.force_login(viewer)  # sees it, may not file requests
    page = client.get(url).content.decode()
    assert "requester role" in page and 'name="instances"' not in page
    assert client.post(url, {"instances": "15", "justification": WHY}).status_code == 403
    assert not shop.low.requests.filter(kind=Kind.QUOTA_CHANGE).exists()


def test_the_inbox_shows_the_impact(client, shop, manager):
    _server(shop)
    _quota(shop, instances=20, ram_mb=81920)
    server = Server.objects.get(name="lab")
    services.request_submit(
        user=shop.requester, kind=Kind.LEASE_EXTEND, target=server, justification=WHY,
        spec={"lease_end": (server.lease_end + timedelta(days=30)).isoformat()},
    )  # fmt: skip
    client.force_login(manager)
    page = client.get(reverse("approval-inbox")).content.decode()
    assert "Instances: <strong>10 → 20</strong> (1 in use when asked)" in page
    assert "RAM: <strong>40 GiB → 80 GiB</strong>" in page
    assert "Extend the lease of lab from" in page
    assert "waiting for another tenant manager" in page or "tenant manager" in page


def test_the_server_page_offers_a_longer_lease_only_with_a_lease(client, shop):
    leased, forever = _server(shop), _server(shop, "forever", lease_days=None)
    client.force_login(shop.requester)
    action = reverse("server-action", args=[leased.pk, "extend-lease"])
    assert action in client.get(reverse("server-detail", args=[leased.pk])).content.decode()
    page = client.get(reverse("server-detail", args=[forever.pk])).content.decode()
    assert reverse("server-action", args=[forever.pk, "extend-lease"]) not in page
    later = timezone.localtime(leased.lease_end + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(action, {"lease_end": later, "justification": WHY})
    assert response.status_code == 302
    assert shop.low.requests.get(kind=Kind.LEASE_EXTEND).target_server == leased


def test_the_api_files_both(api_client, shop, manager):
    server = _server(shop)
    api_client.force_authenticate(shop.requester)
    url = reverse("api:resourcerequest-list")
    answer = api_client.post(url, {"kind": "quota_change", "allocation": shop.low.pk,
                                   "spec": {"instances": 0}, "justification": WHY},
                             format="json")  # fmt: skip
    assert answer.status_code == 400
    assert "instances" in str(answer.json())
    answer = api_client.post(url, {"kind": "quota_change", "allocation": shop.low.pk,
                                   "spec": {"instances": 12}, "justification": WHY},
                             format="json")  # fmt: skip
    assert answer.status_code == 201, answer.json()
    assert answer.json()["kind"] == "quota_change"
    later = (server.lease_end + timedelta(days=5)).isoformat()
    answer = api_client.post(url, {"kind": "lease_extend", "target": server.pk,
                                   "spec": {"lease_end": later}, "justification": WHY},
                             format="json")  # fmt: skip
    assert answer.status_code == 201, answer.json()
