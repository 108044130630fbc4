"""Output serializers read rows by plan (``portal.api.representation``); what they show must be
DRF's own output for every shape of row: empty, full, decommissioned, nested, None midway."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from portal.api.representation import ShownModelSerializer
from provisioning import services
from provisioning.api import serializers as s
from provisioning.api.views import ServerViewSet
from provisioning.listing import live_rules
from provisioning.models import (
    Approval,
    RequestTransition,
    ResourceRequest,
    SecurityGroup,
    SecurityGroupRule,
    Server,
)
from tests.api.conftest import make_server
from tests.factories import NetworkFactory

pytestmark = pytest.mark.django_db


def _drf(serializer: serializers.Serializer, instance) -> dict:
    """What DRF's own ``to_representation`` shows, field by field, nested ones included."""
    shown = {}
    for field in serializer._readable_fields:
        try:
            attribute = field.get_attribute(instance)
        except serializers.SkipField:
            continue
        check = attribute.pk if isinstance(attribute, serializers.PKOnlyObject) else attribute
        if check is None:
            shown[field.field_name] = None
        elif isinstance(field, ShownModelSerializer):
            shown[field.field_name] = _drf(field, attribute)
        else:
            shown[field.field_name] = field.to_representation(attribute)
    return shown


def _same(serializer_class, instances) -> None:
    serializer = serializer_class()
    for instance in instances:
        planned = serializer.to_representation(instance)
        expected = _drf(serializer, instance)
        # Same keys, in the same order, with the same JSON.
        assert list(planned) == list(expected)
        assert json.dumps(planned, default=str) == json.dumps(expected, default=str)


def test_servers_are_shown_as_drf_shows_them(shop):
    with_networks = make_server(shop.low, "full", lease_end=timezone.now() + timedelta(days=3))
    with_networks.networks.set(
        [NetworkFactory(allocation=shop.low), NetworkFactory(allocation=shop.low)]
    )
    bare = Server.objects.create(allocation=shop.low, name="bare", backend_id="b", tag="t")
    gone = make_server(shop.low, "gone", deleted_at=timezone.now(), fault="disk failed")
    rows = list(ServerViewSet.queryset.filter(pk__in=[with_networks.pk, bare.pk, gone.pk]))
    _same(s.ServerSerializer, rows)
    assert {len(s.ServerSerializer(row).data["networks"]) for row in rows} == {0, 2}


def test_requests_approvals_and_timelines_are_shown_as_drf_shows_them(shop):
    request = services.request_submit(
        user=shop.requester,
        kind="network",
        allocation=shop.low,
        justification="A network for the planning tool, please.",
        spec={"name": "plan-net", "cidr": "10.40.0.0/24"},
    )
    services.request_approve(user=shop.approver, request=request, comment="fine")
    requests = list(ResourceRequest.objects.all())
    assert requests
    _same(s.RequestSerializer, requests)
    _same(s.RequestDetailSerializer, requests)
    # A transition by the system and an approval by policy: ``actor`` and ``decided_by`` are
    # None, reached through a path that meets None midway (DRF's way, allow_null).
    system = RequestTransition.objects.create(
        request=request, to_state="completed", actor=None, at=timezone.now()
    )
    _same(s.TransitionSerializer, [system, *RequestTransition.objects.exclude(pk=system.pk)])
    assert s.TransitionSerializer(system).data["actor"] is None
    _same(s.ApprovalSerializer, list(Approval.objects.all()))


def test_security_groups_and_their_rules_are_shown_as_drf_shows_them(shop):
    """Rules in plain words, with and without a remote group, ports or a request; groups with
    their live rules and drift, and one decommissioned (the rules read as the list reads them:
    the live ones, remote groups apart)."""
    web = SecurityGroup.objects.create(allocation=shop.low, name="web", backend_id="g1", tag="t",
                                       drift=[{"found": {"port_min": 8080}}])  # fmt: skip
    admin = SecurityGroup.objects.create(allocation=shop.low, name="admin", backend_id="g2",
                                         tag="t", deleted_at=timezone.now())  # fmt: skip
    SecurityGroup.objects.create(allocation=shop.low, name="empty", backend_id="g3", tag="t")
    SecurityGroupRule.objects.create(
        group=web,
        direction="ingress",
        protocol="tcp",
        port_min=443,
        port_max=443,
        remote_cidr="0.0.0.0/0",
    )
    SecurityGroupRule.objects.create(
        group=web, direction="ingress", remote_group=admin, description="from the admins"
    )
    SecurityGroupRule.objects.create(group=web, direction="egress", protocol="udp",
                                     port_min=53, port_max=53, remote_cidr="10.0.0.0/8",
                                     deleted_at=timezone.now())  # fmt: skip
    _same(s.SecurityGroupRuleSerializer, list(SecurityGroupRule.objects.all()))
    groups = list(SecurityGroup.objects.order_by("name").prefetch_related(live_rules()))
    _same(s.SecurityGroupSerializer, groups)
    shown = {g["name"]: g for g in s.SecurityGroupSerializer(groups, many=True).data}
    assert [r["port_min"] for r in shown["web"]["rules"]] == [443, None]
    assert "admin" in shown["web"]["rules"][1]["opens"]
    assert shown["empty"]["rules"] == [] and shown["web"]["drift"] == web.drift


def test_a_list_shows_the_same_as_its_rows(shop):
    for i in range(3):
        make_server(shop.low, f"vm-{i}")
    rows = list(ServerViewSet.queryset.all())
    listed = s.ServerSerializer(rows, many=True).data
    assert [dict(row) for row in listed] == [_drf(s.ServerSerializer(), row) for row in rows]


class _Moments(ShownModelSerializer):
    in_paris = serializers.DateTimeField(
        source="lease_end", default_timezone=ZoneInfo("Europe/Paris")
    )
    year = serializers.DateTimeField(source="created_at", format="%Y")
    kept = serializers.DateTimeField(source="deleted_at", format=None)

    class Meta:
        model = Server
        fields = ["created_at", "lease_end", "in_paris", "year", "kept"]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Brussels", "Pacific/Chatham"])
def test_moments_are_shown_as_drf_shows_them_in_every_zone(zone):
    moment = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)  # just before Europe's change
    rows = [
        Server(created_at=moment, lease_end=moment + timedelta(hours=1), deleted_at=moment),
        Server(created_at=moment, lease_end=None, deleted_at=None),
        # What the plan leaves to DRF: a naive moment, a string, a moment in another zone.
        Server(created_at=datetime(2026, 1, 1, 12), lease_end="2026-01-01T00:00:00Z"),
        Server(created_at=moment.astimezone(ZoneInfo("Asia/Kolkata")), lease_end=moment),
    ]
    with timezone.override(ZoneInfo(zone)):
        _same(_Moments, rows)
        shown = _Moments().to_representation(rows[0])
    if zone == "UTC":
        assert shown["created_at"] == "2026-03-29T00:59:59.123456Z"
    assert shown["in_paris"] == "2026-03-29T03:59:59.123456+02:00"
    assert shown["year"] == "2026"
