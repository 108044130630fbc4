"""Firewall openings as reviewed requests: plain words, the domain's policy, the checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from provisioning import services
from provisioning.firewall import rule_sentence
from provisioning.models import Kind, RequestState, SecurityGroup, SecurityGroupRule, Server, Stage
from tests.factories import server_spec

pytestmark = pytest.mark.django_db
WHY = "The monitoring servers must reach the web tier."


@pytest.fixture
def web(shop) -> SecurityGroup:
    group = SecurityGroup.objects.create(
        allocation=shop.low, name="web", backend_id="sg-web", tag="t"
    )
    for name in ("web-1", "web-2"):
        server = Server.objects.create(allocation=shop.low, name=name, backend_id=name, tag="t")
        server.security_groups.add(group)
    return group


def _rule(user, group, **spec):
    rule = {"direction": "ingress", "protocol": "tcp", "port_min": 22,
            "remote_cidr": "10.0.0.0/8", **spec}  # fmt: skip
    return services.request_submit(
        user=user, kind=Kind.SECURITY_GROUP_RULE, target=group, spec=rule, justification=WHY
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"protocol": "tcp", "port_min": 22, "port_max": 22, "remote_cidr": "10.0.0.0/8"},
         "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"),
        ({"protocol": "tcp", "port_min": 8000, "port_max": 8080, "remote_cidr": "0.0.0.0/0"},
         "Opens TCP ports 8000-8080 inbound from anywhere"),
        ({"protocol": "udp", "port_min": 53, "port_max": 53, "remote_group": {"name": "dns"}},
         "Opens UDP port 53 (DNS) inbound from servers in group dns"),
        ({"protocol": "icmp", "remote_cidr": "10.1.0.0/16"},
         "Opens ICMP (ping) inbound from 10.1.0.0/16"),
        ({"direction": "egress", "protocol": "", "remote_cidr": "0.0.0.0/0"},
         "Opens all traffic outbound to anywhere"),
        ({"direction": "egress", "protocol": "", "remote_cidr": "", "ethertype": "IPv6"},
         "Opens all traffic outbound to anywhere (IPv6)"),
    ],
)  # fmt: skip
def test_rules_are_said_in_plain_words(spec, words):
    assert rule_sentence(spec) == words


def test_a_rule_request_says_what_it_opens_and_which_servers_it_affects(shop, web):
    request = _rule(shop.requester, web)
    assert request.spec["sentence"] == "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"
    assert request.spec["affects"] == {"count": 2, "names": ["web-1", "web-2"]}
    assert (request.spec["port_min"], request.spec["port_max"]) == (22, 22)
    assert request.target_security_group == web and request.pending_stage == Stage.TENANT


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"remote_cidr": "10.0.0.1/8"}, "remote_cidr", "host bits set; did you mean 10.0.0.0/8?"),
        ({"remote_cidr": "ten"}, "remote_cidr", "is not an IPv4 range"),
        ({"port_min": 90, "port_max": 80}, "port_max", "ends before it starts (90-80)"),
        ({"protocol": "icmp"}, "port_min", "ICMP has no ports"),
        ({"protocol": "gre", "port_min": None}, "protocol", "Select a valid choice"),
        ({"port_min": 70000}, "port_min", "less than or equal to 65535"),
        ({"remote_cidr": ""}, "remote_cidr", "Say where traffic may come from"),
        ({"remote_group": 999999}, "remote_group", "No security group 999999"),
    ],
)  # fmt: skip
def test_bad_rules_get_field_messages(shop, web, spec, field, message):
    with pytest.raises(ValidationError) as err:
        _rule(shop.requester, web, **spec)
    assert message in " ".join(err.value.message_dict[field])


def test_the_domain_refuses_open_ingress_and_denied_ports_and_can_ask_its_officer(shop, web):
    domain = shop.unclass
    domain.open_ingress, domain.denied_ports = "forbid", "23, 3389"
    domain.save()
    with pytest.raises(ValidationError) as err:
        _rule(shop.requester, web, remote_cidr="0.0.0.0/0")
    (refusal,) = err.value.message_dict["remote_cidr"]
    assert "does not allow inbound traffic from anywhere" in refusal
    with pytest.raises(ValidationError) as err:
        _rule(shop.requester, web, port_min=3000, port_max=4000)
    assert err.value.message_dict["port_min"] == [
        "Unclassified never opens port 3389 (RDP) inbound; choose a range without it."
    ]
    with pytest.raises(ValidationError):
        _rule(shop.requester, web, protocol="any", port_min=None)  # all ports include 23
    # Outbound rules and ICMP are not what the deny list is about.
    assert _rule(shop.requester, web, direction="egress", port_min=23).pk
    domain.open_ingress, domain.firewall_review = "officer", "tenant"
    domain.save()
    open_to_all = _rule(shop.requester, web, remote_cidr="0.0.0.0/0", port_min=443)
    services.request_approve(user=shop.approver, request=open_to_all)
    open_to_all.refresh_from_db()
    assert (open_to_all.state, open_to_all.pending_stage) == (
        RequestState.PENDING_APPROVAL, Stage.SECURITY,
    )  # fmt: skip
    narrow = _rule(shop.requester, web, port_min=80)
    services.request_approve(user=shop.approver, request=narrow)
    narrow.refresh_from_db()
    assert narrow.state == RequestState.APPROVED


def test_a_rule_the_group_has_is_refused(shop, web):
    SecurityGroupRule.objects.create(
        group=web, direction="ingress", protocol="tcp", port_min=22, port_max=22,
        remote_cidr="10.0.0.0/8",
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        _rule(shop.requester, web)
    assert "web already has this rule" in err.value.messages[0]


def test_new_groups_are_named_once_and_servers_pick_their_groups(shop, web):
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SECURITY_GROUP, allocation=shop.low,
            spec={"name": "web"}, justification=WHY,
        )  # fmt: skip
    assert "already has a security group web" in err.value.message_dict["name"][0]
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SECURITY_GROUP, allocation=shop.low,
            spec={"name": "default"}, justification=WHY,
        )  # fmt: skip
    assert "Every project has a group named default" in err.value.message_dict["name"][0]
    made = services.request_submit(
        user=shop.requester, kind=Kind.SECURITY_GROUP, allocation=shop.low,
        spec={"name": "db", "description": "Database tier"}, justification=WHY,
    )  # fmt: skip
    assert made.spec == {"name": "db", "description": "Database tier"}

    other = SecurityGroup.objects.create(allocation=shop.high, name="x", backend_id="x", tag="t")
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
            spec=server_spec(shop.low_net, security_groups=[web.pk, other.pk]),
            justification=WHY,
        )  # fmt: skip
    assert err.value.message_dict["security_groups"][0].startswith(f"No security group {other.pk}")
    server = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net, security_groups=[web.pk]), justification=WHY,
    )  # fmt: skip
    assert server.spec["security_groups"] == [{"id": web.pk, "backend_id": "sg-web", "name": "web"}]
