"""Deleting a security group: only once no server is in it and no other group's rule names it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from provisioning import services
from provisioning.models import Kind, SecurityGroup, SecurityGroupRule, Server
from provisioning.services.errors import RequestConflict

pytestmark = pytest.mark.django_db
WHY = "The web tier was retired last week."


def _delete(shop, group):
    return services.request_submit(
        user=shop.requester, kind=Kind.SECURITY_GROUP_DECOMMISSION, target=group,
        justification=WHY,
    )  # fmt: skip


def _group(shop, name):
    return SecurityGroup.objects.create(
        allocation=shop.low, name=name, backend_id=f"sg-{name}", tag=f"portal-{name}"
    )


def test_a_group_in_use_is_refused_with_what_uses_it(shop):
    web, db = _group(shop, "web"), _group(shop, "db")
    server = Server.objects.create(
        allocation=shop.low, name="web-1", backend_id="s-1", tag="t", status="ACTIVE"
    )
    server.security_groups.add(web)
    with pytest.raises(ValidationError) as err:
        _delete(shop, web)
    assert err.value.message_dict["target"] == [
        "Servers are still in web: web-1. Take them out of it (or decommission them) first."
    ]
    server.security_groups.clear()
    rule = SecurityGroupRule.objects.create(
        group=db, direction="ingress", protocol="tcp", port_min=5432, port_max=5432,
        remote_group=web,
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        _delete(shop, web)
    assert err.value.message_dict["target"] == [
        "Rules of db let in the servers of web; close them first."
    ]
    rule.deleted_at = "2026-01-01T00:00Z"
    rule.save()
    pending = services.request_submit(
        user=shop.requester, kind=Kind.SECURITY_GROUP_RULE, target=web, justification=WHY,
        spec={"protocol": "tcp", "port_min": 443, "remote_cidr": "10.0.0.0/8"},
    )  # fmt: skip
    with pytest.raises(RequestConflict, match=f"#{pending.pk}"):
        _delete(shop, web)
    services.request_cancel(user=shop.requester, request=pending)
    request = _delete(shop, web)
    assert request.target_security_group == web and request.spec == {"target": "web"}
