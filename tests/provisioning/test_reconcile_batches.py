"""The reconciler's portal side costs a fixed number of queries per batch, whatever the servers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import AuditEvent
from provisioning.cloud.base import AddressInfo, ServerInfo
from provisioning.models import Server
from provisioning.services import resources
from provisioning.services.resources import servers_sync
from tests.api.conftest import make_server

pytestmark = pytest.mark.django_db


def _cloud_view(servers, *, status: str) -> list[ServerInfo]:
    return [
        ServerInfo(
            id=s.backend_id, name=s.name, status=status, project_id="p", flavor_name="m1.small",
            vcpus=2, ram_mb=2048, image_id="i",
            addresses=(AddressInfo(network="net", address="10.1.0.5", version=4),),
        )
        for s in servers
    ]  # fmt: skip


def _sync_queries(shop, count: int, prefix: str) -> int:
    servers = [make_server(shop.low, f"{prefix}-{i}") for i in range(count)]
    gone = servers.pop()  # deleted outside the portal
    with CaptureQueriesContext(connection) as queries:
        counts = servers_sync(
            allocation=shop.low, infos=_cloud_view(servers, status="SHUTOFF"), keep=set()
        )
    assert (counts.updated, counts.vanished) == (count - 1, 1)
    gone.refresh_from_db()
    assert gone.is_deleted
    assert set(Server.objects.filter(name__startswith=prefix).live().values_list(
        "status", flat=True)) == {"SHUTOFF"}  # fmt: skip
    assert AuditEvent.objects.filter(action="server.update").count() >= count - 1
    Server.objects.filter(name__startswith=prefix).update(deleted_at=gone.deleted_at)
    return len(queries)


def test_queries_do_not_grow_with_the_servers_in_a_batch(shop):
    assert _sync_queries(shop, 5, "few") == _sync_queries(shop, 60, "many")


def test_queries_grow_by_batch_not_by_server(shop, monkeypatch):
    monkeypatch.setattr(resources, "SYNC_BATCH", 10)
    one_batch = _sync_queries(shop, 10, "one")
    three_batches = _sync_queries(shop, 30, "three")
    assert three_batches <= 3 * one_batch


def test_an_unchanged_server_seen_lately_costs_no_write(shop):
    servers = [make_server(shop.low, f"calm-{i}") for i in range(20)]
    servers_sync(allocation=shop.low, infos=_cloud_view(servers, status="ACTIVE"), keep=set())
    with CaptureQueriesContext(connection) as queries:
        counts = servers_sync(
            allocation=shop.low, infos=_cloud_view(servers, status="ACTIVE"), keep=set()
        )
    assert (counts.updated, counts.vanished) == (0, 0)
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert writes == []
