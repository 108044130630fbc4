"""The volume endpoints: requests with field messages, attach from either side, volume types."""

from __future__ import annotations

import pytest

from provisioning.models import Kind, ResourceRequest, Server, Volume, VolumeType

pytestmark = pytest.mark.django_db
WHY = "Database files for the planning tool."


@pytest.fixture
def rita(client_for, api_world):
    return client_for(api_world.shop.requester)


def test_a_volume_is_requested_and_bad_input_gets_field_messages(api_world, rita):
    shop = api_world.shop
    body = {"kind": "volume", "allocation": shop.low.pk, "justification": WHY}
    bad = rita.post("/api/v1/requests/", {**body, "spec": {"name": "Bad Name", "size_gb": 0}},
                    format="json")  # fmt: skip
    assert bad.status_code == 400
    fields = bad.json()["fields"]
    assert fields["size_gb"] == ["A volume holds at least 1 GB."]
    assert "lower-case letters" in fields["name"][0]
    made = rita.post("/api/v1/requests/", {**body, "spec": {"name": "pg", "size_gb": 30}},
                     format="json")  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["needs"]["gigabytes"] == 30 and made.json()["needs"]["volumes"] == 1


def test_attach_from_the_volume_or_the_server_extend_and_decommission(api_world, rita):
    shop, volume, server = api_world.shop, api_world.volume, api_world.server
    url = f"/api/v1/volumes/{volume.pk}/"
    assert rita.get(url).json()["status"] == "available"
    missing = rita.post(f"{url}attach/", {"justification": WHY}, format="json")
    assert missing.status_code == 400 and "server" in missing.json()["fields"]
    far = Server.objects.create(allocation=shop.high, name="far", backend_id="f", tag="t",
                                status="ACTIVE")  # fmt: skip
    elsewhere = rita.post(f"{url}attach/", {"justification": WHY, "server": far.pk}, format="json")
    assert elsewhere.status_code == 400
    assert (
        "a volume is attached to a server of its own tenant"
        in elsewhere.json()["fields"]["server"][0]
    )
    from_server = rita.post(
        f"/api/v1/servers/{server.pk}/attach-volume/", {"justification": WHY, "volume": volume.pk},
        format="json",
    )  # fmt: skip
    assert from_server.status_code == 201, from_server.content
    attach = ResourceRequest.objects.get(pk=from_server.json()["id"])
    assert (attach.kind, attach.target_volume, attach.spec["server"]["id"]) == (
        Kind.VOLUME_ATTACH, volume, server.pk,
    )  # fmt: skip
    busy = rita.post(f"{url}extend/", {"justification": WHY, "size_gb": 9}, format="json")
    assert busy.status_code == 409
    attach.delete()
    grown = rita.post(f"{url}extend/", {"justification": WHY, "size_gb": 9}, format="json")
    assert grown.status_code == 201 and grown.json()["needs"]["gigabytes"] == 4
    ResourceRequest.objects.filter(kind=Kind.VOLUME_EXTEND).delete()
    Volume.objects.filter(pk=volume.pk).update(server=server, status="in-use", device="/dev/vdb")
    refused = rita.post(f"{url}decommission/", {"justification": WHY}, format="json")
    assert refused.status_code == 400
    assert "not deleted while a server uses it" in refused.json()["fields"]["detach"][0]
    gone = rita.post(f"{url}decommission/", {"justification": WHY, "detach": True}, format="json")
    assert gone.status_code == 201
    listed = rita.get("/api/v1/volumes/", {"server": server.pk}).json()["results"]
    assert [(v["name"], v["device"]) for v in listed] == [("blue-vol", "/dev/vdb")]


def test_volume_types_are_listed_with_their_limit(api_world, rita, settings):
    VolumeType.objects.create(region=api_world.shop.low.region, backend_id="t", name="ssd",
                              max_size_gb=500)  # fmt: skip
    VolumeType.objects.create(region=api_world.shop.low.region, backend_id="u", name="bulk")
    rows = rita.get("/api/v1/catalog/volume-types/", {"region": api_world.shop.low.region.slug})
    limits = {t["name"]: t["max_size_gb"] for t in rows.json()["results"]}
    assert limits == {"ssd": 500, "bulk": settings.PORTAL_VOLUME_MAX_GB}
