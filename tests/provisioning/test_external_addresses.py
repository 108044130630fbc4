"""External addresses (floating IPs) as reviewed day-2 requests: the rules before any cloud call."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from provisioning import services
from provisioning.models import FloatingIp, Kind, RequestState, Server, Stage
from provisioning.services.errors import QuotaExceeded, RequestConflict, RequestNotAllowed
from provisioning.usage import provisioning_usage

pytestmark = pytest.mark.django_db
WHY = "Reachable from the agency network for the exercise."


@pytest.fixture
def routed(shop):
    """The unclassified network gets a router; a server sits on it."""
    shop.low_net.router_id = "router-1"
    shop.low_net.save(update_fields=["router_id"])
    server = Server.objects.create(
        allocation=shop.low, name="web", backend_id="srv-1", tag="t", status="ACTIVE"
    )
    server.networks.set([shop.low_net])
    return server


def _add(user, server):
    return services.request_submit(
        user=user, kind=Kind.SERVER_ADDRESS_ADD, target=server, justification=WHY
    )


def test_an_address_request_holds_one_floating_ip_of_the_quota_until_it_ends(shop, routed):
    request = _add(shop.requester, routed)
    assert request.floating_ips == 1 and request.pending_stage == Stage.TENANT
    assert provisioning_usage([shop.low.pk])[shop.low.pk]["floating_ips"] == 1
    services.request_cancel(user=shop.requester, request=request)
    assert provisioning_usage([shop.low.pk])[shop.low.pk]["floating_ips"] == 0


def test_a_domain_can_forbid_them_or_ask_its_security_officer(shop, routed):
    shop.unclass.external_addresses = "forbid"
    shop.unclass.save()
    with pytest.raises(RequestNotAllowed, match="Unclassified does not allow external addresses"):
        _add(shop.requester, routed)
    shop.unclass.external_addresses = "officer"
    shop.unclass.save()
    request = _add(shop.requester, routed)
    services.request_approve(user=shop.approver, request=request)
    request.refresh_from_db()
    # The tenant said yes; the domain's officer must too (the domain needs none otherwise).
    assert request.state == RequestState.PENDING_APPROVAL
    assert request.pending_stage == Stage.SECURITY
    assert not shop.unclass.requires_security_officer


def test_a_server_without_a_routed_network_or_with_an_address_is_refused(shop, routed):
    shop.low_net.router_id = ""
    shop.low_net.save(update_fields=["router_id"])
    with pytest.raises(ValidationError) as err:
        _add(shop.requester, routed)
    assert "no network with a router" in err.value.message_dict["target"][0]
    shop.low_net.router_id = "router-1"
    shop.low_net.save(update_fields=["router_id"])
    FloatingIp.objects.create(
        allocation=shop.low, server=routed, name="172.24.4.10", address="172.24.4.10",
        backend_id="fip-1", tag="t",
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        _add(shop.requester, routed)
    assert err.value.message_dict["target"] == ["web already has the external address 172.24.4.10."]
    # ... and releasing it is a request of its own, which holds no quota.
    release = services.request_submit(
        user=shop.requester, kind=Kind.SERVER_ADDRESS_RELEASE, target=routed, justification=WHY
    )
    assert release.floating_ips == 0
    with pytest.raises(RequestConflict):
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER_ADDRESS_RELEASE, target=routed,
            justification=WHY,
        )  # fmt: skip


def test_releasing_what_is_not_there_is_refused(shop, routed):
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER_ADDRESS_RELEASE, target=routed,
            justification=WHY,
        )  # fmt: skip
    assert err.value.message_dict["target"] == ["web has no external address to release."]


def test_the_floating_ip_quota_is_enforced(shop, routed):
    shop.low.floating_ips = 1
    shop.low.save(update_fields=["floating_ips"])
    FloatingIp.objects.create(
        allocation=shop.low, name="172.24.4.11", address="172.24.4.11", backend_id="fip-2",
        tag="t",
    )  # fmt: skip
    with pytest.raises(QuotaExceeded, match="Floating IPs"):
        _add(shop.requester, routed)
