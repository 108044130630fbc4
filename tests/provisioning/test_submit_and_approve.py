"""Submitting requests, the approval stages, four-eyes and quotas (services, PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.audit import verify_chain
from provisioning import services
from provisioning.models import (
    Approval,
    ApprovalPolicy,
    Kind,
    RequestState,
    ResourceRequest,
    Stage,
)
from provisioning.services import QuotaExceeded, RequestNotAllowed
from tests.factories import make_user, server_spec

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def submit_server(shop, allocation=None, network=None, user=None, **spec):
    allocation = allocation or shop.low
    network = network or (shop.low_net if allocation == shop.low else shop.high_net)
    return services.request_submit(
        user=user or shop.requester,
        kind=Kind.SERVER,
        allocation=allocation,
        spec=server_spec(network, **spec),
        justification=WHY,
    )


def test_submit_records_needs_state_and_timeline(shop):
    request = submit_server(shop, count=2)

    assert request.state == RequestState.PENDING_APPROVAL
    assert request.pending_stage == Stage.TENANT
    assert (request.instances, request.vcpus, request.ram_mb) == (2, 4, 4096)
    assert request.spec["flavor_id"] and request.spec["networks"][0]["id"] == shop.low_net.pk
    assert [(t.from_state, t.to_state, t.actor) for t in request.transitions.all()] == [
        ("", "pending_approval", shop.requester)
    ]


def test_submit_reports_every_bad_field(shop):
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester,
            kind=Kind.SERVER,
            allocation=shop.low,
            spec={"name": "Web_01", "flavor": "m9.huge", "image": "debian-12", "networks": [],
                  "count": 0},
            justification="",
        )  # fmt: skip
    fields = err.value.message_dict
    assert "lower-case letters" in fields["name"][0]
    assert "at least a sentence" in fields["justification"][0]
    assert "at least one network" in fields["networks"][0]
    assert "greater than or equal to 1" in fields["count"][0]
    assert not ResourceRequest.objects.exists()


def test_unknown_flavor_names_what_exists(shop):
    with pytest.raises(ValidationError) as err:
        submit_server(shop, flavor="m9.huge")
    message = err.value.message_dict["flavor"][0]
    assert "No flavor 'm9.huge'" in message and "m1.small" in message


@pytest.mark.parametrize(
    ("cidr", "gateway", "field", "text"),
    [
        ("10.1.0.0/24", "", "cidr", "overlaps 10.1.0.0/24"),
        ("10.9.0.1/24", "", "cidr", "did you mean 10.9.0.0/24"),
        ("8.8.8.0/24", "", "cidr", "private range"),
        ("10.9.0.0/30", "", "cidr", "between /16 and /29"),
        ("banana", "", "cidr", "not an IPv4 range"),
        ("10.9.0.0/24", "10.8.0.1", "gateway", "host address in 10.9.0.0/24"),
    ],
)
def test_network_spec_messages(shop, cidr, gateway, field, text):
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
            spec={"name": "app", "cidr": cidr, "gateway": gateway, "router": True},
            justification=WHY,
        )  # fmt: skip
    assert text in err.value.message_dict[field][0]


def test_network_request_needs_a_network_and_a_router(shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "app", "cidr": "10.9.0.0/24", "dns": "10.0.0.2", "router": True},
        justification=WHY,
    )  # fmt: skip
    assert request.spec == {"name": "app", "cidr": "10.9.0.0/24", "gateway": "10.9.0.1",
                            "dns": ["10.0.0.2"], "router": True}  # fmt: skip
    assert (request.networks, request.routers) == (1, 1)


def test_a_viewer_cannot_request(shop):
    from tenants.models import Role

    viewer = make_user("vic", memberships={shop.tenant: Role.VIEWER},
                       domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    with pytest.raises(RequestNotAllowed):
        submit_server(shop, user=viewer)


def test_four_eyes_nobody_approves_their_own_request(shop):
    request = submit_server(shop, user=shop.approver)
    with pytest.raises(RequestNotAllowed, match="Four-eyes"):
        services.request_approve(user=shop.approver, request=request)
    services.request_approve(user=shop.approver2, request=request)
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED


def test_a_requester_cannot_approve(shop):
    other = make_user("rolf", memberships={shop.tenant: "requester"},
                      domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    request = submit_server(shop)
    with pytest.raises(RequestNotAllowed, match="waiting for a tenant approver"):
        services.request_approve(user=other, request=request)


def test_secret_domain_needs_the_security_officer_after_the_tenant(shop):
    request = submit_server(shop, allocation=shop.high)
    assert request.pending_stage == Stage.TENANT
    with pytest.raises(RequestNotAllowed):
        services.request_approve(user=shop.officer, request=request)  # not the tenant stage

    services.request_approve(user=shop.approver, request=request, comment="fine")
    request.refresh_from_db()
    assert (request.state, request.pending_stage) == (RequestState.PENDING_APPROVAL, "security")
    with pytest.raises(RequestNotAllowed, match="already approved"):
        services.request_approve(user=shop.approver, request=request)

    services.request_approve(user=shop.officer, request=request, comment="cleared")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert list(request.approvals.values_list("stage", "decided_by__username")) == [
        ("tenant", "arno"),
        ("security", "otto"),
    ]


def test_rejection_needs_a_comment_and_ends_the_request(shop):
    request = submit_server(shop)
    with pytest.raises(ValidationError) as err:
        services.request_reject(user=shop.approver, request=request, comment="  ")
    assert "Say why" in err.value.message_dict["comment"][0]

    services.request_reject(user=shop.approver, request=request, comment="Use the shared one.")
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED
    assert Approval.objects.get(request=request).comment == "Use the shared one."
    with pytest.raises(ValidationError, match="nothing left to decide"):
        services.request_approve(user=shop.approver2, request=request)


def test_quota_error_names_dimension_usage_limit_and_need(shop):
    submit_server(shop, flavor="m1.large", count=2)  # 16 of 20 vCPUs
    with pytest.raises(QuotaExceeded) as err:
        submit_server(shop, flavor="m1.large", name="db")
    assert str(err.value.message) == (
        f"Quota exceeded in {shop.low.region}: vCPUs 16 of 20 used, this request needs 8."
    )


def test_quota_is_checked_again_at_approval(shop):
    request = submit_server(shop, flavor="m1.large", count=2)
    shop.low.vcpus = 10
    shop.low.save()
    with pytest.raises(QuotaExceeded, match="vCPUs 0 of 10 used, this request needs 16"):
        services.request_approve(user=shop.approver, request=request)
    request.refresh_from_db()
    assert request.state == RequestState.PENDING_APPROVAL


def test_rejected_and_cancelled_requests_free_their_quota(shop):
    first = submit_server(shop, flavor="m1.large", count=2)
    with pytest.raises(QuotaExceeded):
        submit_server(shop, flavor="m1.large", name="db")
    services.request_cancel(user=shop.requester, request=first)
    submit_server(shop, flavor="m1.large", name="db")


def test_auto_approval_within_policy_limits(shop):
    ApprovalPolicy.objects.create(domain=shop.unclass, auto_approve=True, auto_max_vcpus=2)
    small = submit_server(shop)
    large = submit_server(shop, flavor="m1.large", name="big")

    assert small.state == RequestState.APPROVED
    assert small.approvals.get().decided_by is None
    assert large.state == RequestState.PENDING_APPROVAL


def test_a_policy_cannot_waive_the_security_officer(shop):
    policy = ApprovalPolicy(domain=shop.secret, auto_approve=True)
    with pytest.raises(ValidationError, match="requires a security officer"):
        policy.full_clean()


def test_bulk_approve_reports_each_request(shop):
    mine = submit_server(shop, user=shop.approver, name="mine")
    theirs = submit_server(shop, name="theirs")
    results = services.requests_bulk_approve(user=shop.approver, requests=[mine, theirs])
    assert results[theirs.pk] == "approved"
    assert "Four-eyes" in results[mine.pk]


def test_cancel_rules(shop):
    request = submit_server(shop)
    with pytest.raises(RequestNotAllowed):
        services.request_cancel(user=shop.approver2, request=request)
    services.request_cancel(user=shop.requester, request=request)
    with pytest.raises(ValidationError, match="only pending or approved"):
        services.request_cancel(user=shop.requester, request=request)


def test_every_step_is_in_the_audit_chain(shop):
    request = submit_server(shop, allocation=shop.high)
    services.request_approve(user=shop.approver, request=request)
    services.request_approve(user=shop.officer, request=request)

    from portal.models import AuditEvent

    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-4:] == ["request.submit", "approval.approved", "approval.approved",
                            "request.approve"]  # fmt: skip
    assert verify_chain().ok


def test_a_quota_cannot_go_below_what_is_in_use(shop):
    submit_server(shop, flavor="m1.large", count=2)  # 16 vCPUs held by a pending request
    shop.low.vcpus = 12
    with pytest.raises(ValidationError) as err:
        shop.low.full_clean()
    assert err.value.message_dict["vcpus"] == [
        "16 already in use or requested; the quota cannot go below that."
    ]
    shop.low.vcpus = 16
    shop.low.full_clean()
