"""The access layer on requests, approvals, servers and networks, by service, page and admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning import services
from provisioning.models import Approval, Kind, RequestTransition, ResourceRequest, Server
from provisioning.selectors import requests_awaiting
from tenants.access import Action, restrict
from tenants.models import Role
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    NetworkFactory,
    SecurityDomainFactory,
    SiteFactory,
    TenantFactory,
    make_portal_role,
    make_user,
    server_spec,
)

pytestmark = pytest.mark.django_db
WHY = "Access layer test request."


def _server(allocation, network, name="web"):
    return Server.objects.create(allocation=allocation, name=name, backend_id=f"b-{name}",
                                 tag="t", flavor_name="m1.small")  # fmt: skip


@pytest.fixture
def secret_request(shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.high,
        spec=server_spec(shop.high_net), justification=WHY,
    )  # fmt: skip
    services.request_approve(user=shop.approver, request=request)
    return request


@pytest.fixture
def outsiders(shop):
    """Users who each lack exactly one of the three rights towards the shop's secret objects."""
    other_site = SiteFactory()
    return {
        "stranger": make_user("stranger", domains=(shop.unclass, shop.secret), sites=(shop.site,)),
        "uncleared": make_user("uncleared", memberships={shop.tenant: Role.MANAGER},
                               domains=(shop.unclass,), sites=(shop.site,)),
        "elsewhere": make_user("elsewhere", memberships={shop.tenant: Role.MANAGER},
                               domains=(shop.unclass, shop.secret), sites=(other_site,)),
    }  # fmt: skip


MODELS = [ResourceRequest, Approval, RequestTransition, Server]


def test_outsiders_see_no_secret_object_by_any_path(client, shop, secret_request, outsiders):
    server = _server(shop.high, shop.high_net)
    urls = [secret_request.get_absolute_url(), server.get_absolute_url(),
            shop.high_net.get_absolute_url()]  # fmt: skip
    for name, user in outsiders.items():
        for model in MODELS:
            assert not restrict(model.objects.filter(allocation=shop.high)
                                if model is Server else _of(model, shop.high), user,
                                Action.VIEW).exists(), (name, model)  # fmt: skip
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (name, url)
            assert b"web" not in response.content
        for listing in ("request-list", "server-list", "network-list"):
            page = client.get(reverse(listing)).content.decode()
            assert 'aria-label="Classification: SECRET"' not in page, (name, listing)
            assert secret_request.get_absolute_url() not in page
        assert not requests_awaiting(user).filter(pk=secret_request.pk).exists()


def _of(model, allocation):
    if model is ResourceRequest:
        return ResourceRequest.objects.filter(allocation=allocation)
    return model.objects.filter(request__allocation=allocation)


def test_members_with_all_rights_see_it(client, shop, secret_request):
    client.force_login(shop.requester)
    page = client.get(secret_request.get_absolute_url())
    assert page.status_code == 200
    assert b"waiting for the security officer" in page.content
    assert b'aria-label="Classification: SECRET"' in page.content


def test_the_security_officer_oversees_and_decides_only_their_domain(shop, secret_request):
    low = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net), justification=WHY,
    )  # fmt: skip
    visible = set(restrict(ResourceRequest.objects.all(), shop.officer, Action.VIEW))

    assert secret_request in visible and low not in visible
    assert list(requests_awaiting(shop.officer)) == [secret_request]
    assert not restrict(ResourceRequest.objects.all(), shop.officer, Action.REQUEST).exists()


def test_an_officer_elsewhere_cannot_decide(shop, secret_request):
    from tenants import services as tenancy

    remote = make_user("remote", sites=(SiteFactory(),))
    tenancy.security_officer_grant(grantee=remote, domain=shop.secret)
    assert not requests_awaiting(remote).exists()


def test_approvers_inbox_holds_only_their_tenants_tenant_stage(shop):
    other_tenant = TenantFactory()
    other_alloc = AllocationFactory(tenant=other_tenant, region=shop.low.region)
    other_net = NetworkFactory(allocation=other_alloc, cidr="10.77.0.0/24")
    outsider = make_user("o-req", memberships={other_tenant: Role.REQUESTER},
                         domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    theirs = services.request_submit(user=outsider, kind=Kind.SERVER, allocation=other_alloc,
                                     spec=server_spec(other_net), justification=WHY)  # fmt: skip
    ours = services.request_submit(user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
                                   spec=server_spec(shop.low_net), justification=WHY)  # fmt: skip
    mine = services.request_submit(user=shop.approver, kind=Kind.SERVER, allocation=shop.low,
                                   spec=server_spec(shop.low_net, name="mine"),
                                   justification=WHY)  # fmt: skip

    inbox = list(requests_awaiting(shop.approver))

    assert ours in inbox
    assert theirs not in inbox and mine not in inbox


def test_admin_lists_pass_through_the_access_layer(client, shop, secret_request, outsiders):
    user = outsiders["uncleared"]
    user.is_staff = True
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    page = client.get(reverse("admin:provisioning_resourcerequest_changelist"))
    assert page.status_code == 200
    assert f"/{secret_request.pk}/change/" not in page.content.decode()

    operator = make_portal_role("op", "operate_portal")
    operator.is_staff = True
    operator.save()
    operator.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(operator)
    page = client.get(reverse("admin:provisioning_resourcerequest_changelist"))
    assert f"/{secret_request.pk}/change/" in page.content.decode()


def test_region_and_domain_of_other_tenants_stay_apart(shop):
    """A second secret region at another site: the shop's approver must not see its requests."""
    far_site = SiteFactory()
    far = AllocationFactory(tenant=shop.tenant, region=CloudRegionFactory(
        site=far_site, domain=SecurityDomainFactory()))  # fmt: skip
    request = ResourceRequest.objects.create(
        kind=Kind.NETWORK, allocation=far, requester=shop.requester, justification=WHY
    )
    assert (
        not restrict(ResourceRequest.objects.all(), shop.approver, Action.VIEW)
        .filter(pk=request.pk)
        .exists()
    )
