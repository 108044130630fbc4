"""Volumes as reviewed requests: what is refused with which message, and what holds the quota,
before any cloud call (the worker's side runs against cloudsim in tests/integration)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from provisioning import services
from provisioning.models import (
    CatalogPolicy,
    Kind,
    RequestState,
    Server,
    Volume,
    VolumeType,
)
from provisioning.services.errors import QuotaExceeded, RequestConflict
from provisioning.usage import provisioning_usage
from tests.factories import AllocationFactory

pytestmark = pytest.mark.django_db
WHY = "Database files for the planning tool."


def _new(shop, allocation=None, **spec):
    return services.request_submit(
        user=shop.requester, kind=Kind.VOLUME, allocation=allocation or shop.low,
        spec={"name": "data", "size_gb": 20, **spec}, justification=WHY,
    )  # fmt: skip


def _day2(shop, kind, volume, **spec):
    return services.request_submit(
        user=shop.requester, kind=kind, target=volume, spec=spec or None, justification=WHY
    )


def _errors(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as err:
        call()
    return err.value.message_dict


@pytest.fixture
def server(shop):
    return Server.objects.create(
        allocation=shop.low, name="db", backend_id="srv-db", tag="t", status="ACTIVE"
    )


@pytest.fixture
def volume(shop):
    return Volume.objects.create(
        allocation=shop.low, name="data", backend_id="vol-1", tag="t", size_gb=20,
        status="available", volume_type="standard",
    )  # fmt: skip


def test_a_volume_request_holds_its_count_and_size_of_the_quota(shop):
    request = _new(shop)
    assert (request.volumes, request.gigabytes) == (1, 20)
    assert request.spec == {"name": "data", "size_gb": 20, "volume_type": "", "description": ""}
    used = provisioning_usage([shop.low.pk])[shop.low.pk]
    assert (used["volumes"], used["gigabytes"]) == (1, 20)
    with pytest.raises(QuotaExceeded, match="Volume storage"):
        _new(shop, name="more", size_gb=81)  # 20 held + 81 > 100 GB


def test_sizes_and_types_are_checked_with_field_messages(shop):
    region = shop.low.region
    VolumeType.objects.create(region=region, backend_id="t-ssd", name="ssd", max_size_gb=50)
    VolumeType.objects.create(region=region, backend_id="t-old", name="old", active=False)
    assert _errors(lambda: _new(shop, size_gb=0))["size_gb"] == ["A volume holds at least 1 GB."]
    assert _errors(lambda: _new(shop, size_gb=-3))["size_gb"] == ["A volume holds at least 1 GB."]
    assert _errors(lambda: _new(shop, size_gb="big"))["size_gb"] == ["Enter a whole number."]
    assert _errors(lambda: _new(shop, size_gb=60, volume_type="ssd"))["size_gb"] == [
        "A volume of type ssd holds at most 50 GB."
    ]
    assert _errors(lambda: _new(shop, size_gb=5000))["size_gb"] == [
        "A volume holds at most 2000 GB."
    ]
    unknown = _errors(lambda: _new(shop, volume_type="old"))["volume_type"][0]
    assert unknown.startswith("No volume type 'old' in ") and unknown.endswith("Available: ssd.")
    assert _new(shop, volume_type="ssd", size_gb=50).spec["volume_type"] == "ssd"
    # The name is the tenant's handle on it: once per allocation, in flight or built.
    assert _errors(lambda: _new(shop, size_gb=1))["name"] == [
        f"This tenant already has a volume data in {region}."
    ]


def test_a_domains_catalog_policy_narrows_the_volume_types(shop):
    region = shop.low.region
    for name in ("ssd", "bulk"):
        VolumeType.objects.create(region=region, backend_id=f"t-{name}", name=name)
    CatalogPolicy.objects.create(domain=shop.unclass, volume_types="bulk")
    assert _errors(lambda: _new(shop))["volume_type"] == [
        "In Unclassified, choose a volume type: bulk."
    ]
    assert _errors(lambda: _new(shop, volume_type="ssd"))["volume_type"] == [
        "Unclassified does not offer volume type ssd; allowed: bulk."
    ]
    assert _new(shop, volume_type="bulk").spec["volume_type"] == "bulk"


def test_attaching_names_a_server_of_the_same_allocation(shop, volume, server):
    elsewhere = Server.objects.create(
        allocation=shop.high, name="far", backend_id="srv-far", tag="t", status="ACTIVE"
    )
    message = _errors(lambda: _day2(shop, Kind.VOLUME_ATTACH, volume, server=elsewhere.pk))
    assert message["server"] == [
        f"No server {elsewhere.pk} of this tenant in {shop.low.region}: a volume is attached to "
        "a server of its own tenant and region."
    ]
    server.status = "ERROR"
    server.save()
    assert _errors(lambda: _day2(shop, Kind.VOLUME_ATTACH, volume, server=server.pk))["server"] == [
        "db is ERROR; a volume is attached to a running or stopped server."
    ]
    server.status = "SHUTOFF"
    server.save()
    attach = _day2(shop, Kind.VOLUME_ATTACH, volume, server=server.pk)
    assert attach.spec["server"] == {"id": server.pk, "backend_id": "srv-db", "name": "db"}
    assert attach.spec["sentence"] == "Attach data (20 GB) to db"
    assert attach.target_volume == volume and attach.volumes == attach.gigabytes == 0
    # One request at a time per volume.
    with pytest.raises(RequestConflict, match="data already has a request in progress"):
        _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=30)


def test_what_an_attached_volume_allows(shop, volume, server):
    volume.server, volume.status, volume.device = server, "in-use", "/dev/vdb"
    volume.save()
    assert _errors(lambda: _day2(shop, Kind.VOLUME_ATTACH, volume, server=server.pk))["target"] == [
        "data is attached to db; detach it first (a volume is on one server at a time)."
    ]
    assert _errors(lambda: _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=30))["target"] == [
        "data is attached to db; detach it first: volumes are extended while detached, then "
        "attached again."
    ]
    refused = _errors(lambda: _day2(shop, Kind.VOLUME_DECOMMISSION, volume))
    assert refused["detach"] == [
        "data is attached to db: it is not deleted while a server uses it. Detach it first, or "
        "ask for it to be detached as part of this request."
    ]
    gone = _day2(shop, Kind.VOLUME_DECOMMISSION, volume, detach=True)
    assert gone.spec["detach_from"]["name"] == "db"
    assert gone.spec["sentence"] == "Detach data from db, then delete data (20 GB) and all its data"
    services.request_cancel(user=shop.requester, request=gone)
    detach = _day2(shop, Kind.VOLUME_DETACH, volume)
    assert detach.spec["server"]["backend_id"] == "srv-db"


def test_extending_grows_only_and_holds_the_growth(shop, volume):
    assert _errors(lambda: _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=20))["size_gb"] == [
        "data holds 20 GB already; give a larger size (a volume cannot be shrunk)."
    ]
    assert _errors(lambda: _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb="x"))["size_gb"]
    extend = _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=35)
    assert (extend.gigabytes, extend.spec["from_size_gb"]) == (15, 20)
    used = provisioning_usage([shop.low.pk])[shop.low.pk]
    assert (used["volumes"], used["gigabytes"]) == (1, 35)  # the volume, and its growth
    assert _errors(lambda: _day2(shop, Kind.VOLUME_DETACH, Volume.objects.create(
        allocation=shop.low, name="loose", backend_id="vol-2", tag="t", size_gb=1,
        status="available",
    )))["target"] == ["loose is not attached to a server."]  # fmt: skip


def test_live_volumes_and_servers_booting_from_one_count_in_the_usage(shop, volume, server):
    Server.objects.create(
        allocation=shop.low, name="bfv", backend_id="srv-bfv", tag="t", status="ACTIVE",
        boot_volume_gb=30,
    )  # fmt: skip
    Volume.objects.create(
        allocation=shop.low, name="old", backend_id="vol-old", tag="t", size_gb=40,
        status="DELETED", deleted_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    used = provisioning_usage([shop.low.pk])[shop.low.pk]
    assert (used["volumes"], used["gigabytes"]) == (2, 50)


def test_a_server_request_may_boot_from_a_volume(shop):
    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low, justification=WHY,
        spec={"name": "app", "flavor": "m1.small", "image": "debian-12",
              "networks": [shop.low_net.pk], "count": 2, "boot_volume_gb": 10},
    )  # fmt: skip
    assert (request.volumes, request.gigabytes, request.spec["boot_volume_gb"]) == (2, 20, 10)
    assert request.state == RequestState.PENDING_APPROVAL


def test_volumes_of_another_tenant_are_not_found(shop, volume):
    from tests.factories import TenantFactory, make_user

    other = AllocationFactory(tenant=TenantFactory(slug="red"), region=shop.low.region)
    stray = Volume.objects.create(
        allocation=other, name="theirs", backend_id="vol-x", tag="t", size_gb=1, status="available"
    )
    outsider = make_user("oscar", memberships={other.tenant: "requester"},
                         domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    errors = _errors(lambda: services.request_submit(
        user=outsider, kind=Kind.VOLUME_DETACH, target=volume, justification=WHY))  # fmt: skip
    assert errors["target"] == ["No such volume."]
    assert stray.pk  # theirs exists and stays theirs


def test_a_volume_types_own_limit_holds_beside_the_totals(shop, volume):
    from provisioning.models import VolumeTypeQuota
    from provisioning.plans import plan_request
    from provisioning.services.allocations import cloud_limits, volume_type_quota_set

    region = shop.low.region
    for name in ("standard", "ssd"):
        VolumeType.objects.create(region=region, backend_id=f"t-{name}", name=name)
    with pytest.raises(ValidationError, match="has no volume type 'gold'"):
        volume_type_quota_set(allocation=shop.low, volume_type="gold", volumes=1, gigabytes=1,
                              actor=shop.approver)  # fmt: skip
    volume_type_quota_set(allocation=shop.low, volume_type="standard", volumes=2, gigabytes=30,
                          actor=shop.approver)  # fmt: skip
    # Pushed with the others; a type without a limit of its own is lifted in the cloud.
    limits = cloud_limits(shop.low)
    assert (limits["volumes_standard"], limits["gigabytes_standard"]) == (2, 30)
    assert (limits["volumes_ssd"], limits["gigabytes_ssd"]) == (-1, -1)

    # The live 20 GB volume of the type counts: 15 more do not fit in 30.
    with pytest.raises(QuotaExceeded) as err:
        _new(shop, name="more", size_gb=15, volume_type="standard")
    assert err.value.messages == [
        f"Quota exceeded in {region}: Storage of type standard 20 GB of 30 GB used, this "
        "request needs 15 GB."
    ]
    assert _new(shop, name="other", size_gb=15, volume_type="ssd").spec["volume_type"] == "ssd"
    spec = {"name": "more", "size_gb": 10, "volume_type": "standard"}
    plan = plan_request(allocation=shop.low, kind=Kind.VOLUME, requester=shop.requester, spec=spec)
    rows = {i.dimension.label: (i.used, i.needed, i.limit) for i in plan.impact}
    assert rows["Volumes of type standard"] == (1, 1, 2)
    assert rows["Storage of type standard"] == (20, 10, 30)
    small = _new(shop, name="more", size_gb=10, volume_type="standard")
    # An extension of a volume of the type counts against it too.
    with pytest.raises(QuotaExceeded, match="Storage of type standard 30 GB of 30 GB"):
        _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=21)
    services.request_cancel(user=shop.requester, request=small)
    assert _day2(shop, Kind.VOLUME_EXTEND, volume, size_gb=21).spec["volume_type"] == "standard"
    assert VolumeTypeQuota.objects.get().volumes == 2


def test_operators_set_a_volume_types_limit_in_the_admin_audited_and_pushed(client, shop):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from portal.models import AuditEvent, OutboxMessage
    from provisioning.models import VolumeTypeQuota

    VolumeType.objects.create(region=shop.low.region, backend_id="t-ssd", name="ssd")
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    url = reverse("admin:provisioning_volumetypequota_add")
    body = {"allocation": shop.low.pk, "volume_type": "gold", "volumes": 3, "gigabytes": 50}
    refused = client.post(url, body)
    assert refused.status_code == 200 and "has no volume type" in refused.content.decode()
    assert client.post(url, {**body, "volume_type": "ssd"}).status_code == 302
    quota = VolumeTypeQuota.objects.get()
    assert (quota.volume_type, quota.volumes, quota.gigabytes) == ("ssd", 3, 50)
    assert AuditEvent.objects.filter(object_type="provisioning.volumetypequota").exists()
    # The allocation's quotas go to the cloud again, per-type limits with them.
    pushes = OutboxMessage.objects.filter(task="provisioning.tasks.sync_allocation")
    assert [m.args for m in pushes] == [[shop.low.pk]]
