"""Cinder v3 as cloudsim serves it, through openstacksdk's block_storage and compute proxies.

The expected messages, shapes and status sequences are the lab's (a real Cinder 2026.2 and
Nova behind the same SDK calls); see docs/cloudsim.md, "Block storage (Cinder v3)".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import openstack.exceptions
import pytest
import requests

from cloudsim.pytest_plugin import start_cloudsim
from cloudsim.quota import VOLUME_DEFAULTS
from tests.cloudsim.conftest import boot

DELETE_REFUSED = (
    "Invalid volume: Volume status must be available or error or error_restoring or "
    "error_extending or error_managing and must not be migrating, attached, belong to a group, "
    "have snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
    "transfer."
)


def statuses(conn, volume_id: str, until: str, timeout: float = 5.0) -> list[str]:
    """The distinct statuses a volume shows, polled fast, until `until` (or fail)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = conn.block_storage.get_volume(volume_id).status
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == until:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"volume {volume_id} went {seen}, never {until}")


def wait_for(conn, volume_id: str, status: str, timeout: float = 5.0):
    statuses(conn, volume_id, status, timeout)
    return conn.block_storage.get_volume(volume_id)


def raw(conn, method: str, path: str, mv: str = "3.71", **kwargs):
    return getattr(conn.block_storage, method)(path, microversion=mv, **kwargs)


@pytest.fixture(autouse=True)
def clean_volumes(sim, sdk) -> Iterator[None]:
    """Every test starts with no volume and default volume quotas in the session's cloudsim."""
    yield
    admin = sdk(sim.admin_cloud)
    sim.control.set_volume_time(0)
    for server in admin.compute.servers(all_projects=True):
        admin.compute.delete_server(server)
    busy = ("reserved", "attaching", "detaching", "in-use")  # until the deleted servers let go
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        v.status in busy for v in admin.block_storage.volumes(all_projects=True)
    ):
        time.sleep(0.05)
    for volume in admin.block_storage.volumes(all_projects=True):
        if volume.status != "available":
            raw(admin, "post", f"/volumes/{volume.id}/action",
                json={"os-reset_status": {"status": "available"}})  # fmt: skip
        admin.block_storage.delete_volume(volume)
    defaults = {**VOLUME_DEFAULTS, "volumes___DEFAULT__": -1, "gigabytes___DEFAULT__": -1,
                "volumes_lvmdriver-1": -1, "gigabytes_lvmdriver-1": -1}  # fmt: skip
    for project in ("team-a", "team-b", "admin"):
        sim.control.set_quotas(project_name=project, volume=defaults)


# ---- discovery, microversions, URLs ---------------------------------------------------------
def test_catalog_lists_block_storage_twice_like_the_lab(sim, member):
    catalog = member.session.auth.get_auth_ref(member.session).service_catalog.catalog
    by_type = {s["type"]: s for s in catalog}
    project = member.current_project_id
    cinder = by_type["block-storage"]
    assert cinder["name"] == "cinder"
    urls = {e["region"]: e["url"] for e in cinder["endpoints"] if e["interface"] == "public"}
    assert urls == {r: f"{sim.base_url}/{r}/block-storage/v3" for r in ("RegionOne", "RegionTwo")}
    v3 = by_type["volumev3"]
    assert v3["name"] == "cinderv3"
    assert {e["url"] for e in v3["endpoints"]} == {
        f"{sim.base_url}/{r}/block-storage/v3/{project}" for r in ("RegionOne", "RegionTwo")
    }


def test_versions_and_microversions(sim, member):
    root = requests.get(f"{sim.base_url}/RegionOne/block-storage/", timeout=5)
    assert root.status_code == 300
    (doc,) = root.json()["versions"]
    assert (doc["id"], doc["min_version"], doc["version"]) == ("v3.0", "3.0", "3.71")
    assert requests.get(f"{sim.base_url}/RegionOne/block-storage/v3", timeout=5).json() == {
        "versions": [doc]
    }
    for asked, answered in (("3.0", "volume 3.0"), ("3.42", "volume 3.42"),
                            ("latest", "volume 3.71")):  # fmt: skip
        r = member.block_storage.get("/types", headers={"OpenStack-API-Version": f"volume {asked}"})
        assert r.status_code == 200 and r.headers["OpenStack-API-Version"] == answered
    r = member.block_storage.get("/types", headers={"OpenStack-API-Version": "volume 3.72"})
    assert r.status_code == 406
    message = "Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71."
    assert r.json() == {"computeFault": {"code": 406, "message": message}}
    r = member.block_storage.get("/types", headers={"OpenStack-API-Version": "volume abc"})
    assert r.json()["badRequest"]["message"] == (
        "API Version String abc is of invalid format. Must be of format MajorNum.MinorNum."
    )


def test_project_id_in_the_url_as_nova_calls_cinder(sim, member, sdk):
    project = member.current_project_id
    made = member.block_storage.create_volume(size=1, name="by-url")
    r = raw(member, "get", f"/{project}/volumes/{made.id}")
    assert r.status_code == 200
    assert r.json()["volume"]["links"][0]["href"] == (
        f"{sim.base_url}/RegionOne/block-storage/v3/{project}/volumes/{made.id}"
    )
    other_project = sdk(sim.other_cloud).current_project_id
    r = raw(member, "get", f"/{other_project}/volumes")
    assert r.status_code == 400
    assert r.json() == {"badRequest": {"code": 400, "message": "Malformed request url"}}
    unknown = raw(member, "get", "/nothing")
    assert unknown.status_code == 404 and "<h1>404 Not Found</h1>" in unknown.text


# ---- volumes -------------------------------------------------------------------------------
def test_create_goes_available_with_cinders_fields(sim, member, admin):
    sim.control.set_volume_time(0.5)
    made = member.block_storage.create_volume(size=2, name="data", description="d",
                                              metadata={"k": "v"})  # fmt: skip
    assert made.status == "creating"
    assert statuses(member, made.id, "available") == ["creating", "available"]
    body = raw(member, "get", f"/volumes/{made.id}").json()["volume"]
    assert body["size"] == 2 and body["volume_type"] == "__DEFAULT__"
    assert body["bootable"] == "false" and body["attachments"] == []
    assert body["availability_zone"] == "nova" and body["consumes_quota"] is True
    assert body["os-vol-tenant-attr:tenant_id"] == member.current_project_id
    assert "os-vol-host-attr:host" not in body and "migration_status" not in body
    assert body["created_at"].endswith(".000000")
    old = raw(member, "get", f"/volumes/{made.id}", mv="3.0").json()["volume"]
    assert not {"volume_type_id", "group_id", "shared_targets", "consumes_quota"} & set(old)
    seen_by_admin = raw(admin, "get", f"/volumes/{made.id}").json()["volume"]
    assert seen_by_admin["os-vol-host-attr:host"].startswith("cloudsim@")
    assert seen_by_admin["migration_status"] is None and "cluster_name" in seen_by_admin


@pytest.mark.parametrize(
    ("volume", "mv", "status", "message"),
    [
        ({"name": "x"}, "3.71", 400, "The server could not comply with the request since it is "
         "either malformed or otherwise incorrect."),
        ({"size": 0}, "3.71", 400, "Invalid input for field/attribute size. Value: 0. 0 is less "
         "than the minimum of 1"),
        ({"size": "abc"}, "3.71", 400, "Invalid input for field/attribute size. Value: abc. "
         "'abc' does not match '^[0-9]+$'"),
        ({"size": 1.5}, "3.71", 400, "Invalid input for field/attribute size. Value: 1.5. 1.5 is "
         "not of type 'integer', 'string', 'null'"),
        ({"size": 1, "volume_type": "nope"}, "3.71", 404, "Volume type with name nope could not "
         "be found."),
        ({"size": 1, "availability_zone": "elsewhere"}, "3.71", 400, "Availability zone "
         "'elsewhere' is invalid."),
        ({"size": 1, "bogus": 1}, "3.71", 400, "Invalid input for field/attribute volume. Value: "
         "{'size': 1, 'bogus': 1}. Additional properties are not allowed ('bogus' was "
         "unexpected)"),
        ({"size": 1, "metadata": {"a": 1}}, "3.71", 400, "Invalid input for field/attribute a. "
         "Value: 1. 1 is not of type 'string'"),
        ({"size": 1, "name": "x" * 256}, "3.71", 400, "Invalid input received: name has 256 "
         "characters, more than 255."),
        ({"size": 1, "imageRef": "00000000-0000-0000-0000-000000000000"}, "3.71", 400,
         "Invalid image identifier or unable to access requested image."),
    ],
)  # fmt: skip
def test_create_refusals_are_cinders(member, volume, mv, status, message):
    r = raw(member, "post", "/volumes", mv=mv, json={"volume": volume})
    key = "itemNotFound" if status == 404 else "badRequest"
    assert (r.status_code, r.json()) == (status, {key: {"code": status, "message": message}})
    assert list(member.block_storage.volumes()) == []


def test_unknown_keys_pass_before_353_and_size_may_be_a_string(member):
    r = raw(member, "post", "/volumes", mv="3.0", json={"volume": {"size": "2", "bogus": 1}})
    assert r.status_code == 202 and r.json()["volume"]["size"] == 2


def test_volume_from_an_image_is_bootable(sim, member):
    image = next(i for i in member.image.images() if i.name == "debian-12")  # min_disk 2
    r = raw(member, "post", "/volumes", json={"volume": {"size": 1, "imageRef": image.id}})
    assert r.json()["badRequest"]["message"] == (
        "Invalid input received: Volume size 1GB cannot be smaller than the image minDisk size 2GB."
    )
    made = member.block_storage.create_volume(size=2, image_id=image.id, name="boot")
    assert statuses(member, made.id, "available")[-1] == "available"
    volume = member.block_storage.get_volume(made.id)
    assert volume.is_bootable is True
    assert volume.volume_image_metadata["image_id"] == image.id


def test_types_seeded_default_and_visible_specs(member, admin):
    types = {t.name: t for t in member.block_storage.types()}
    assert set(types) == {"__DEFAULT__", "lvmdriver-1"}
    assert types["__DEFAULT__"].description == "Default Volume Type"
    assert types["lvmdriver-1"].extra_specs == {}  # backend name: admins only
    admin_view = admin.block_storage.get_type(types["lvmdriver-1"].id)
    assert admin_view.extra_specs == {"volume_backend_name": "lvmdriver-1"}
    default = raw(member, "get", "/types/default").json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    missing = raw(member, "get", "/types/__DEFAULT__")
    message = missing.json()["itemNotFound"]["message"]
    assert message == "Volume type __DEFAULT__ could not be found."
    by_name = member.block_storage.create_volume(size=1, volume_type="lvmdriver-1")
    by_id = member.block_storage.create_volume(size=1, volume_type=types["lvmdriver-1"].id)
    for made in (by_name, by_id):
        volume = member.block_storage.get_volume(made.id)
        assert (volume.volume_type, volume.volume_type_id) == ("lvmdriver-1",
                                                               types["lvmdriver-1"].id)  # fmt: skip


def test_list_filters_sort_and_pages(sim, member):
    sim.control.set_volume_time(0)
    made = [
        member.block_storage.create_volume(size=i + 1, name=f"page-{i}", metadata={"k": str(i % 2)})
        for i in range(4)
    ]
    newest_first = [v.name for v in member.block_storage.volumes(details=False)]
    assert newest_first == ["page-3", "page-2", "page-1", "page-0"]
    assert [v.id for v in member.block_storage.volumes(name="PAGE-1")] == [made[1].id]
    by_meta = raw(member, "get", '/volumes?metadata={"k":"1"}').json()["volumes"]
    assert [v["name"] for v in by_meta] == ["page-3", "page-1"]
    assert {v.name for v in member.block_storage.volumes(status="available")} == {
        f"page-{i}" for i in range(4)}  # fmt: skip
    page = raw(member, "get", "/volumes?sort=name:asc&limit=2").json()
    assert [v["name"] for v in page["volumes"]] == ["page-0", "page-1"]
    assert page["volumes_links"] == [{"rel": "next", "href": (
        f"{sim.base_url}/RegionOne/block-storage/v3/volumes?sort=name%3Aasc&limit=2"
        f"&marker={made[1].id}")}]  # fmt: skip
    rest = raw(member, "get", f"/volumes?sort=name:asc&limit=2&marker={made[1].id}").json()
    assert [v["name"] for v in rest["volumes"]] == ["page-2", "page-3"]
    by_size = raw(member, "get", "/volumes/detail?sort=size:desc").json()["volumes"]
    assert [v["size"] for v in by_size] == [4, 3, 2, 1]
    assert [v.name for v in member.block_storage.volumes(limit=3)] == newest_first  # 2 pages
    assert raw(member, "get", "/volumes?with_count=true", mv="3.45").json()["count"] == 4
    for query, message in (
        ("bogus=1", "Invalid filters bogus are found in query options."),
        ("sort=bogus:asc", "Invalid input received: Invalid sort key"),
        ("limit=abc", "limit param must be an integer"),
    ):
        r = raw(member, "get", f"/volumes?{query}")
        assert (r.status_code, r.json()["badRequest"]["message"]) == (400, message)
    r = raw(member, "get", "/volumes?marker=00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404


def test_update_name_description_and_metadata(member):
    made = member.block_storage.create_volume(size=1, name="before", metadata={"a": "1"})
    updated = member.block_storage.update_volume(made, name="after", description="new")
    assert (updated.name, updated.description) == ("after", "new")
    r = raw(member, "put", f"/volumes/{made.id}", json={"volume": {"metadata": {"x": "y"}}})
    assert r.json()["volume"]["metadata"] == {"x": "y"}  # replaced, as in Cinder
    r = raw(member, "put", f"/volumes/{made.id}", json={"volume": {"size": 5}})
    assert r.json()["badRequest"]["message"] == (
        "Invalid input for field/attribute volume. Value: {'size': 5}. Additional properties are "
        "not allowed ('size' was unexpected)"
    )
    member.block_storage.set_volume_metadata(made, z="1")
    assert member.block_storage.get_volume(made.id).metadata == {"x": "y", "z": "1"}
    fresh = member.block_storage.get_volume(made.id)  # the SDK edits its local copy too
    member.block_storage.delete_volume_metadata(fresh, keys=["x"])
    assert member.block_storage.get_volume(made.id).metadata == {"z": "1"}


def test_delete_goes_deleting_then_gone(sim, member):
    sim.control.set_volume_time(0.3)
    made = member.block_storage.create_volume(size=1)
    wait_for(member, made.id, "available")
    member.block_storage.delete_volume(made)
    assert member.block_storage.get_volume(made.id).status == "deleting"
    member.block_storage.wait_for_delete(made, interval=0.05, wait=5)
    with pytest.raises(openstack.exceptions.NotFoundException, match="could not be found"):
        member.block_storage.delete_volume(made, ignore_missing=False)


# ---- extend --------------------------------------------------------------------------------
def test_extend_available_volume(sim, member):
    sim.control.set_volume_time(0.3)
    made = member.block_storage.create_volume(size=1)
    wait_for(member, made.id, "available")
    member.block_storage.extend_volume(made, 3)
    assert statuses(member, made.id, "available") == ["extending", "available"]
    assert member.block_storage.get_volume(made.id).size == 3
    r = raw(member, "post", f"/volumes/{made.id}/action", json={"os-extend": {"new_size": 3}})
    assert r.json()["badRequest"]["message"] == (
        "Invalid input received: New size for extend must be greater than current size. "
        "(current: 3, extended: 3)."
    )
    r = raw(member, "post", f"/volumes/{made.id}/action", json={"os-bogus": {}})
    assert r.json()["badRequest"]["message"] == (
        "There is no such action: os-bogus. Verify the request body and Content-Type header and "
        "try again."
    )


# ---- attach and detach through Nova --------------------------------------------------------
def test_attach_in_use_detach_available(sim, member, admin, net):
    sim.control.set_volume_time(0.4)
    server = member.compute.wait_for_server(boot(member, net.id, name="vm"), interval=0.1)
    made = member.block_storage.create_volume(size=1, name="disk")
    wait_for(member, made.id, "available")

    attachment = member.compute.create_volume_attachment(server, volume=made.id)
    assert (attachment.device, attachment.volume_id) == ("/dev/vdb", made.id)
    assert statuses(member, made.id, "in-use") == ["reserved", "attaching", "in-use"]
    (seen,) = member.block_storage.get_volume(made.id).attachments
    assert (seen["server_id"], seen["device"], seen["volume_id"]) == (server.id, "/dev/vdb",
                                                                      made.id)  # fmt: skip
    assert seen["host_name"] is None  # a member does not see the compute host
    assert raw(admin, "get", f"/volumes/{made.id}").json()["volume"]["attachments"][0][
        "host_name"] == "cloudsim"  # fmt: skip
    old = member.compute.get(f"/servers/{server.id}", microversion="2.1").json()["server"]
    assert old["os-extended-volumes:volumes_attached"] == [{"id": made.id}]
    attached = member.compute.get_server(server.id).attached_volumes
    assert [(v.id, v.delete_on_termination) for v in attached] == [(made.id, False)]
    listed = member.compute.get(f"/servers/{server.id}/os-volume_attachments",
                                microversion="2.89").json()["volumeAttachments"]  # fmt: skip
    assert listed == [{"volumeId": made.id, "serverId": server.id, "device": "/dev/vdb",
                       "tag": None, "delete_on_termination": False,
                       "attachment_id": seen["attachment_id"],
                       "bdm_uuid": listed[0]["bdm_uuid"]}]  # fmt: skip
    legacy = member.compute.get(f"/servers/{server.id}/os-volume_attachments/{made.id}",
                                microversion="2.1").json()  # fmt: skip
    assert legacy["volumeAttachment"] == {
        "id": made.id,
        "volumeId": made.id,
        "serverId": server.id,
        "device": "/dev/vdb",
    }

    with pytest.raises(openstack.exceptions.BadRequestException) as refused:
        member.block_storage.delete_volume(made)
    assert DELETE_REFUSED in str(refused.value)
    other = member.compute.wait_for_server(boot(member, net.id, name="vm2"), interval=0.1)
    r = member.compute.post(f"/servers/{other.id}/os-volume_attachments",
                            json={"volumeAttachment": {"volumeId": made.id}})  # fmt: skip
    assert r.json() == {"badRequest": {"code": 400, "message": f"Invalid volume: volume "
                        f"{made.id} is already attached to instances: {server.id}"}}  # fmt: skip

    member.compute.delete_volume_attachment(server, made.id)
    assert statuses(member, made.id, "available") == ["detaching", "available"]
    assert member.block_storage.get_volume(made.id).attachments == []
    assert list(member.compute.volume_attachments(server)) == []
    gone = member.compute.delete(f"/servers/{server.id}/os-volume_attachments/{made.id}")
    assert gone.json() == {"itemNotFound": {"code": 404, "message": f"Instance {server.id} is "
                           f"not attached to volume {made.id}"}}  # fmt: skip
    second = member.compute.create_volume_attachment(other, volume=made.id, device="/dev/vdc")
    assert second.device == "/dev/vdc"


def test_attach_refusals(sim, sdk, member, admin, net):
    server = member.compute.wait_for_server(boot(member, net.id), interval=0.1)
    theirs = sdk(sim.other_cloud).block_storage.create_volume(size=1)
    attach = f"/servers/{server.id}/os-volume_attachments"
    r = member.compute.post(attach, json={"volumeAttachment": {"volumeId": theirs.id}})
    assert (r.status_code, r.json()["itemNotFound"]["message"]) == (
        404, f"Volume {theirs.id} could not be found.")  # fmt: skip
    r = member.compute.post(attach, json={"volumeAttachment": {"volumeId": "nothex"}})
    assert r.json()["badRequest"]["message"] == (
        "Invalid input for field/attribute volumeId. Value: nothex. 'nothex' is not a 'uuid'"
    )
    broken = member.block_storage.create_volume(size=1)
    wait_for(member, broken.id, "available")
    raw(admin, "post", f"/volumes/{broken.id}/action",
        json={"os-reset_status": {"status": "error"}})  # fmt: skip
    r = member.compute.post(attach, json={"volumeAttachment": {"volumeId": broken.id}})
    assert r.status_code == 400 and r.json()["badRequest"]["message"].startswith(
        "Invalid input received: Invalid volume: Volume attachments can not be created if the "
        f"volume is in an error state. The Volume {broken.id} currently has a status of: error "
    )
    sim.control.set_volume_time(5)
    fresh = member.block_storage.create_volume(size=1)
    r = member.compute.post(attach, json={"volumeAttachment": {"volumeId": fresh.id}})
    assert (
        f"Volume {fresh.id} status must be available or downloading to reserve, but the "
        "current status is creating." in r.json()["badRequest"]["message"]
    )
    sim.control.set_build_time(30)
    building = boot(member, net.id, name="building")
    r = member.compute.post(f"/servers/{building.id}/os-volume_attachments",
                            json={"volumeAttachment": {"volumeId": broken.id}})  # fmt: skip
    assert (r.status_code, r.json()["conflictingRequest"]["message"]) == (
        409,
        f"Cannot 'attach_volume' instance {building.id} while it is in vm_state building",
    )
    assert list(member.compute.volume_attachments(server)) == []  # fmt: skip


def test_extend_in_use_needs_342(sim, member, net):
    server = member.compute.wait_for_server(boot(member, net.id), interval=0.1)
    made = member.block_storage.create_volume(size=1)
    wait_for(member, made.id, "available")
    member.compute.create_volume_attachment(server, volume=made.id)
    wait_for(member, made.id, "in-use")
    body = {"os-extend": {"new_size": 2}}
    r = raw(member, "post", f"/volumes/{made.id}/action", mv="3.41", json=body)
    assert r.json()["badRequest"]["message"] == (
        f"Invalid volume: Volume {made.id} status must be '{{'status': 'available'}}' to extend, "
        "currently in-use."
    )
    extended = raw(member, "post", f"/volumes/{made.id}/action", mv="3.42", json=body)
    assert extended.status_code == 202
    assert statuses(member, made.id, "in-use") == ["extending", "in-use"]
    assert member.block_storage.get_volume(made.id).size == 2


def test_server_delete_releases_its_volumes(sim, member, net):
    sim.control.set_volume_time(0.3)
    server = member.compute.wait_for_server(boot(member, net.id), interval=0.1)
    kept = member.block_storage.create_volume(size=1, name="kept")
    dropped = member.block_storage.create_volume(size=1, name="dropped")
    wait_for(member, kept.id, "available")
    wait_for(member, dropped.id, "available")
    member.compute.create_volume_attachment(server, volume=kept.id)
    r = member.compute.post(f"/servers/{server.id}/os-volume_attachments", microversion="2.79",
                            json={"volumeAttachment": {"volumeId": dropped.id,
                                                       "delete_on_termination": True}})  # fmt: skip
    assert r.json()["volumeAttachment"]["delete_on_termination"] is True
    assert r.json()["volumeAttachment"]["device"] == "/dev/vdc"
    wait_for(member, kept.id, "in-use")
    wait_for(member, dropped.id, "in-use")
    member.compute.delete_server(server)
    assert statuses(member, kept.id, "available") == ["in-use", "available"]
    member.block_storage.wait_for_delete(dropped, interval=0.05, wait=5)


# ---- quotas and limits ---------------------------------------------------------------------
def test_quota_refusals_on_create_and_extend(sim, member, admin):
    sim.control.set_volume_time(0)
    project = member.current_project_id
    first = member.block_storage.create_volume(size=3)
    admin.block_storage.update_quota_set(project, volumes=1)
    r = raw(member, "post", "/volumes", json={"volume": {"size": 1}})
    assert (r.status_code, r.headers["Retry-After"], r.json()) == (413, "0", {"overLimit": {
        "code": 413, "message": "VolumeLimitExceeded: Maximum number of volumes allowed (1) "
        "exceeded for quota 'volumes'.", "retryAfter": "0"}})  # fmt: skip
    admin.block_storage.update_quota_set(project, volumes=10, gigabytes=4)
    with pytest.raises(openstack.exceptions.HttpException) as over:
        member.block_storage.create_volume(size=2)
    assert over.value.status_code == 413
    assert (
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
        "gigabytes quota. Requested 2G, quota is 4G and 3G has been consumed." in str(over.value)
    )
    admin.block_storage.update_quota_set(project, gigabytes=1000, volumes___DEFAULT__=1)
    r = raw(member, "post", "/volumes", json={"volume": {"size": 1}})
    assert r.json()["overLimit"]["message"] == (
        "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota "
        "'volumes___DEFAULT__'."
    )
    assert member.block_storage.create_volume(size=1, volume_type="lvmdriver-1").size == 1
    admin.block_storage.update_quota_set(project, per_volume_gigabytes=4)
    r = raw(member, "post", f"/volumes/{first.id}/action", json={"os-extend": {"new_size": 5}})
    assert r.json()["overLimit"]["message"] == (
        "VolumeSizeExceedsLimit: Requested volume size 5G is larger than maximum allowed limit 4G."
    )
    admin.block_storage.update_quota_set(project, per_volume_gigabytes=-1, gigabytes___DEFAULT__=4)
    r = raw(member, "post", f"/volumes/{first.id}/action", json={"os-extend": {"new_size": 5}})
    assert r.json()["overLimit"]["message"] == (  # Cinder quotes the global numbers on extend
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes "
        "quota. Requested 2G, quota is 1000G and 4G has been consumed."
    )
    assert member.block_storage.get_volume(first.id).status == "available"


def test_quota_sets_usage_defaults_and_policy(sim, sdk, member, admin):
    sim.control.set_volume_time(0)
    project = member.current_project_id
    member.block_storage.create_volume(size=2)
    member.block_storage.create_volume(size=3, volume_type="lvmdriver-1")
    quota = member.block_storage.get_quota_set(project, usage=True)
    assert (quota.volumes, quota.gigabytes) == (10, 1000)
    assert quota.usage["volumes"] == 2 and quota.usage["gigabytes"] == 5
    body = raw(member, "get", f"/os-quota-sets/{project}?usage=True", mv="3.0").json()
    assert list(body["quota_set"]) == [
        "volumes", "per_volume_gigabytes", "snapshots", "gigabytes", "backups",
        "backup_gigabytes", "volumes___DEFAULT__", "gigabytes___DEFAULT__",
        "snapshots___DEFAULT__", "volumes_lvmdriver-1", "gigabytes_lvmdriver-1",
        "snapshots_lvmdriver-1", "groups", "id"]  # fmt: skip
    assert body["quota_set"]["gigabytes_lvmdriver-1"] == {"limit": -1, "in_use": 3, "reserved": 0}
    defaults = raw(member, "get", f"/os-quota-sets/{project}/defaults", mv="3.0").json()
    assert defaults["quota_set"]["volumes"] == 10
    limits = member.block_storage.get_limits().absolute
    assert (limits.total_volumes_used, limits.total_gigabytes_used) == (2, 5)
    assert limits.max_total_volume_gigabytes == 1000

    r = raw(member, "put", f"/os-quota-sets/{project}", json={"quota_set": {"volumes": 5}})
    assert r.json() == {"forbidden": {"code": 403, "message": "Policy doesn't allow "
                        "volume_extension:quotas:update to be performed."}}  # fmt: skip
    other = sdk(sim.other_cloud).current_project_id
    r = raw(member, "get", f"/os-quota-sets/{other}")
    assert r.json()["forbidden"]["message"] == (
        "Policy doesn't allow volume_extension:quotas:show to be performed."
    )
    for change, message in (
        ({"volumes": 1}, "Quota volumes limit must be equal or greater than existing resources. "
         "Current usage is 2 and the requested limit is 1."),
        ({"bogus": 2}, "Invalid input received: Bad key(s) in quota set: bogus"),
        ({"volumes": "abc"}, "volumes must be an integer"),
        ({"volumes": -2}, "volumes must be >= -1"),
    ):  # fmt: skip
        r = raw(admin, "put", f"/os-quota-sets/{project}", json={"quota_set": change})
        assert (r.status_code, r.json()["badRequest"]["message"]) == (400, message)
    r = raw(admin, "put", f"/os-quota-sets/{project}", json={"quota_set": {"volumes": 12}})
    assert r.json()["quota_set"]["volumes"] == 12 and "id" not in r.json()["quota_set"]
    assert member.block_storage.get_quota_set(project).volumes == 12


# ---- isolation, faults, persistence --------------------------------------------------------
def test_projects_and_regions_are_isolated(sim, sdk, member, admin):
    other = sdk(sim.other_cloud)
    mine = member.block_storage.create_volume(size=1, name="mine")
    assert [v.id for v in member.block_storage.volumes()] == [mine.id]
    assert list(other.block_storage.volumes()) == []
    assert list(other.block_storage.volumes(all_projects=True)) == []  # ignored for members
    for method in ("get", "delete"):
        r = raw(other, method, f"/volumes/{mine.id}")
        assert r.json() == {
            "itemNotFound": {"code": 404, "message": f"Volume {mine.id} could not be found."}
        }
    r = raw(other, "post", f"/volumes/{mine.id}/action", json={"os-extend": {"new_size": 2}})
    assert r.status_code == 404
    assert mine.id not in {v.id for v in admin.block_storage.volumes()}
    assert mine.id in {v.id for v in admin.block_storage.volumes(all_projects=True)}
    assert admin.block_storage.get_volume(mine.id).id == mine.id
    second_region = sdk(sim.second_region_cloud)
    assert list(second_region.block_storage.volumes()) == []
    assert raw(second_region, "get", f"/volumes/{mine.id}").status_code == 404


def test_fault_knobs_on_create_and_extend(sim, member):
    sim.control.set_volume_time(0)
    sim.control.fail("block-storage.volume.create", status=503)
    r = raw(member, "post", "/volumes", json={"volume": {"size": 1}})
    assert r.json() == {"serviceUnavailable": {"code": 503, "message": "Service Unavailable"}}
    assert list(member.block_storage.volumes()) == []
    sim.control.lose_response("block-storage.volume.create")
    with pytest.raises(openstack.exceptions.HttpException) as lost:
        member.block_storage.create_volume(size=1, name="lost")
    assert lost.value.status_code == 500
    (made,) = member.block_storage.volumes()
    assert made.name == "lost"
    sim.control.fail("block-storage.volume.extend", status=500)
    r = raw(member, "post", f"/volumes/{made.id}/action", json={"os-extend": {"new_size": 2}})
    assert r.status_code == 500 and "computeFault" in r.json()
    member.block_storage.extend_volume(made, 2)
    assert wait_for(member, made.id, "available").size == 2
    assert sim.control.count("block-storage.volume.create") == 2
    assert sim.control.count("block-storage.volume.extend") == 2


def test_volumes_and_attachments_survive_a_restart(tmp_path):
    import openstack.config
    import openstack.connection

    instance = start_cloudsim(tmp_path / "sim", build_time=0)
    try:
        config = openstack.config.OpenStackConfig(
            config_files=[str(instance.clouds_yaml)], load_envvars=False
        )
        conn = openstack.connection.Connection(config=config.get_one(cloud=instance.cloud))
        instance.control.set_volume_time(0)
        network = conn.network.create_network(name="kept")
        conn.network.create_subnet(network_id=network.id, cidr="10.71.0.0/24", ip_version=4)
        server = conn.compute.wait_for_server(boot(conn, network.id), interval=0.1)
        volume = conn.block_storage.create_volume(size=2, name="kept", volume_type="lvmdriver-1")
        conn.compute.create_volume_attachment(server, volume=volume.id)
        assert wait_for(conn, volume.id, "in-use").attachments[0]["server_id"] == server.id
        instance.restart()
        fresh = openstack.connection.Connection(config=config.get_one(cloud=instance.cloud))
        kept = fresh.block_storage.get_volume(volume.id)
        assert (kept.status, kept.size, kept.volume_type) == ("in-use", 2, "lvmdriver-1")
        assert [a.volume_id for a in fresh.compute.volume_attachments(server)] == [volume.id]
    finally:
        instance.stop()


def test_readers_look_members_change_and_clones_copy(sim, member, admin):
    """Cinder's secure-RBAC defaults: a `reader` lists but may not create; a clone takes its
    source's size and type unless told otherwise."""
    import openstack

    project = member.current_project_id
    user = admin.identity.create_user(name="volume-reader", password="reader-pw")
    role = next(r for r in admin.identity.roles() if r.name == "reader")
    admin.identity.assign_project_role_to_user(project, user, role)
    reader = openstack.connect(
        auth_url=f"{sim.base_url}/v3", username="volume-reader", password="reader-pw",
        project_id=project, user_domain_name="Default", region_name="RegionOne",
        load_yaml_config=False, load_envvars=False,
    )  # fmt: skip
    source = member.block_storage.create_volume(size=2, volume_type="lvmdriver-1")
    wait_for(member, source.id, "available")
    assert [v.id for v in reader.block_storage.volumes()] == [source.id]
    r = raw(reader, "post", "/volumes", json={"volume": {"size": 1}})
    assert r.json() == {"forbidden": {"code": 403, "message": "Policy doesn't allow "
                        "volume:create to be performed."}}  # fmt: skip
    clone = member.block_storage.create_volume(source_volume_id=source.id, name="copy")
    clone = wait_for(member, clone.id, "available")
    assert (clone.size, clone.volume_type, clone.source_volume_id) == (2, "lvmdriver-1", source.id)
