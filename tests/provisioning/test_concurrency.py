"""Concurrent submits and approvals can never overspend an allocation."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from provisioning import services
from provisioning.models import Kind, RequestState, ResourceRequest
from provisioning.services import QuotaExceeded
from tests.factories import server_spec

WHY = "Load test of the allocation lock."


def _race(n: int, work) -> list[str]:
    """Run ``work(i)`` in n threads released together; collect 'ok' or the error class name."""
    barrier = threading.Barrier(n)
    results: list[str] = [""] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
            results[i] = "ok"
        except QuotaExceeded:
            results[i] = "quota"
        except Exception as err:
            results[i] = f"{type(err).__name__}: {err}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_submits_against_room_for_ten(shop):
    shop.low.instances = 10
    shop.low.save()

    results = _race(
        30,
        lambda i: services.request_submit(
            user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
            spec=server_spec(shop.low_net, name=f"vm-{i}"), justification=WHY,
        ),
    )  # fmt: skip

    assert sorted(results).count("ok") == 10, results
    assert sorted(results).count("quota") == 20, results
    assert ResourceRequest.objects.filter(allocation=shop.low).count() == 10


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_approvals_against_room_for_ten(shop):
    shop.low.instances, shop.low.vcpus, shop.low.ram_mb = 30, 100, 100_000
    shop.low.save()
    requests = [
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
            spec=server_spec(shop.low_net, name=f"vm-{i}"), justification=WHY,
        )
        for i in range(30)
    ]  # fmt: skip
    # Capacity shrinks after the submits: only ten of the thirty may now be approved.
    shop.low.instances = 10
    shop.low.save()

    results = _race(30, lambda i: services.request_approve(user=shop.approver, request=requests[i]))

    assert results.count("ok") == 10, results
    assert ResourceRequest.objects.filter(state=RequestState.APPROVED).count() == 10
