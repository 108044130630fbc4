"""The usage rollup the dashboard reads follows every change, and equals the live computation."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from provisioning import cloud
from provisioning.models import Kind, Network, RequestState, Volume
from provisioning.reconcile import reconcile_region
from provisioning.services import request_approve, request_cancel, request_submit
from provisioning.usage import usage_rollup_backfill
from tenants import rollup
from tenants.models import AllocationUsage
from tenants.quotas import DIMENSION_KEYS, usage_by_allocation
from tests.pages.conftest import make_server, submit_server
from tests.provisioning.test_work import WHY, _drive, _network_request, _target, sim_world

pytestmark = pytest.mark.django_db
__all__ = ["sim_world"]  # the fixture, shared with the worker's tests


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Runs the rollup's after-commit refreshes registered in the block (the test's transaction
    never commits); the outbox's relay is left alone, for ``_drive`` to run its messages."""

    @contextlib.contextmanager
    def block():
        with django_capture_on_commit_callbacks() as callbacks:
            yield
        refreshes = [c for c in callbacks if getattr(c, "func", None) is rollup._refresh_pending]
        assert refreshes, "no rollup refresh was registered"
        for callback in refreshes:
            callback()

    return block


def _rolled(allocation) -> dict[str, int]:
    row = AllocationUsage.objects.get(allocation=allocation)
    return {key: getattr(row, key) for key in DIMENSION_KEYS}


def _live(allocation) -> dict[str, int]:
    return {u.dimension.key: u.used for u in usage_by_allocation([allocation])[allocation.pk]}


def test_a_network_is_followed_from_submit_to_decommission(sim_world, on_commit):
    allocation = sim_world["allocation"]
    with on_commit():
        request = _network_request(sim_world)  # submitted, then approved
    assert _rolled(allocation) == _live(allocation)
    assert _rolled(allocation)["networks"] == 1

    with on_commit():
        request = _drive(request)
    assert request.state == RequestState.COMPLETED
    network = Network.objects.get(origin_request=request)
    assert _rolled(allocation) == _live(allocation)
    assert _rolled(allocation)["networks"] == 1  # now counted as live, no longer in flight

    with on_commit():
        gone = request_submit(
            user=sim_world["requester"], kind=Kind.NETWORK_DECOMMISSION, target=network,
            justification=WHY,
        )  # fmt: skip
        if gone.state == RequestState.PENDING_APPROVAL:
            request_approve(user=sim_world["approver"], request=gone)
        gone = _drive(gone)
    assert gone.state == RequestState.COMPLETED
    assert _rolled(allocation) == _live(allocation)
    assert _rolled(allocation)["networks"] == 0


def test_a_cancelled_request_gives_its_share_back(shop, on_commit):
    with on_commit():
        request = submit_server(shop)
    assert _rolled(shop.low)["instances"] == request.instances > 0

    with on_commit():
        request_cancel(user=shop.requester, request=request)
    assert _rolled(shop.low)["instances"] == 0
    assert _rolled(shop.low) == _live(shop.low)


def test_the_reconciler_repairs_the_rollup_of_its_region(sim_world, on_commit):
    allocation = sim_world["allocation"]
    with on_commit():
        network = Network.objects.get(origin_request=_drive(_network_request(sim_world)))
    # The network is deleted in the cloud behind the portal's back, and the row, not refreshed
    # for longer than the reconciler lets a row go unchecked, has drifted.
    assert cloud.network_delete_by_tag(_target(sim_world), network.tag)
    AllocationUsage.objects.filter(allocation=allocation).update(
        routers=7, refreshed_at=timezone.now() - rollup.RECHECK_AFTER - timedelta(seconds=1)
    )

    reconcile_region(sim_world["region"].pk)

    network.refresh_from_db()
    assert network.is_deleted
    assert _rolled(allocation) == _live(allocation)
    assert _rolled(allocation)["networks"] == 0 and _rolled(allocation)["routers"] == 0


def test_changes_in_one_transaction_refresh_once_after_commit(shop, on_commit, monkeypatch):
    calls = []
    monkeypatch.setattr(rollup, "usage_rollup_refresh", lambda ids: calls.append(sorted(ids)))
    with on_commit():
        submit_server(shop)
        submit_server(shop, name="web2", secret=True)
        assert calls == []  # nothing before the commit
    # One refresh for both (ids left by an earlier rolled-back transaction may ride along).
    assert len(calls) == 1 and {shop.low.pk, shop.high.pk} <= set(calls[0])


def test_a_failed_refresh_does_not_fail_the_change(shop, on_commit, monkeypatch, caplog):
    def broken(ids):
        raise RuntimeError("database went away")

    monkeypatch.setattr(rollup, "usage_rollup_refresh", broken)
    with on_commit():
        request = submit_server(shop)
    assert request.pk is not None
    assert "the reconciler will repair it" in caplog.text


def test_the_backfill_writes_what_the_refresh_computes(shop):
    """The set-based backfill (migration, benchmarks) and the per-allocation refresh agree."""
    pending = submit_server(shop)  # in flight: counted through the request
    approved = submit_server(shop, name="web2", secret=True)
    make_server(shop.low, "settled")  # built long ago: counted itself
    make_server(shop.low, "gone", deleted_at="2026-01-01T00:00Z")
    make_server(shop.high, "building", origin_request=approved)  # its request already counts
    Network.objects.filter(pk=shop.low_net.pk).update(router_id="r-1")
    make_server(shop.low, "from-volume", boot_volume_gb=30)
    for name, extra in (("kept", {}), ("removed", {"deleted_at": "2026-01-01T00:00Z"}),
                        ("making", {"origin_request": pending})):  # fmt: skip
        Volume.objects.create(
            allocation=shop.low, name=name, backend_id=f"vol-{name}", tag="t", size_gb=7, **extra
        )
    assert pending.state == approved.state == RequestState.PENDING_APPROVAL

    with connection.cursor() as cursor:
        usage_rollup_backfill(cursor)
    backfilled = {a.pk: _rolled(a) for a in (shop.low, shop.high)}
    rollup.usage_rollup_refresh([shop.low.pk, shop.high.pk])

    assert backfilled == {a.pk: _rolled(a) for a in (shop.low, shop.high)}
    assert backfilled == {a.pk: _live(a) for a in (shop.low, shop.high)}
    assert backfilled[shop.low.pk]["routers"] == 1
    assert (backfilled[shop.low.pk]["volumes"], backfilled[shop.low.pk]["gigabytes"]) == (2, 37)
    assert AllocationUsage.objects.get(allocation=shop.low).fullest == pytest.approx(
        max(v / max(getattr(shop.low, k), 1) for k, v in backfilled[shop.low.pk].items())
    )


def test_the_reconciler_rechecks_only_rows_not_refreshed_lately(shop, monkeypatch):
    rollup.usage_rollup_refresh([shop.low.pk, shop.high.pk])
    AllocationUsage.objects.filter(allocation=shop.low).update(
        refreshed_at=timezone.now() - rollup.RECHECK_AFTER - timedelta(seconds=1)
    )
    calls = []
    monkeypatch.setattr(rollup, "usage_rollup_refresh", lambda ids: calls.append(list(ids)))

    rollup.usage_rollup_refresh_stale(shop.low.region.allocations.all())
    rollup.usage_rollup_refresh_stale(shop.high.region.allocations.all())

    assert calls == [[shop.low.pk], []]
