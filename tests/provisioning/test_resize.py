"""Resize as a day-2 request: what may be asked, what it holds of the quota, how it is shown."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning import services
from provisioning.models import Flavor, Kind, ResourceRequest, Server
from provisioning.services.errors import QuotaExceeded, RequestNotAllowed
from provisioning.usage import provisioning_usage

pytestmark = pytest.mark.django_db
WHY = "The planning tool needs more memory for the exercise."


@pytest.fixture
def small(shop) -> Server:
    server = Server.objects.create(
        allocation=shop.low, name="web", backend_id="srv-1", tag="t", status="ACTIVE",
        flavor_name="m1.small", vcpus=2, ram_mb=2048,
    )  # fmt: skip
    server.networks.set([shop.low_net])
    return server


def _resize(user, server, flavor):
    return services.request_submit(
        user=user, kind=Kind.SERVER_RESIZE, target=server, spec={"flavor": flavor},
        justification=WHY,
    )  # fmt: skip


def test_growing_holds_the_difference_of_the_quota_and_keeps_both_flavors(shop, small):
    request = _resize(shop.requester, small, "m1.large")
    large = Flavor.objects.get(region=shop.low.region, name="m1.large")
    assert request.spec == {
        "target": "web", "flavor": "m1.large", "flavor_id": large.backend_id, "vcpus": 8,
        "ram_mb": 16384, "from_flavor": "m1.small", "from_vcpus": 2, "from_ram_mb": 2048,
    }  # fmt: skip
    assert (request.instances, request.vcpus, request.ram_mb) == (0, 6, 14336)
    used = provisioning_usage([shop.low.pk])[shop.low.pk]
    assert (used["vcpus"], used["ram_mb"]) == (2 + 6, 2048 + 14336)  # the server, the growth


def test_shrinking_holds_nothing(shop, small):
    small.flavor_name, small.vcpus, small.ram_mb = "m1.large", 8, 16384
    small.save()
    request = _resize(shop.requester, small, "m1.small")
    assert (request.vcpus, request.ram_mb) == (0, 0)


@pytest.mark.parametrize(
    ("flavor", "field", "message"),
    [
        ("m1.huge", "flavor", "No flavor 'm1.huge'"),
        ("m1.small", "flavor", "web already runs as m1.small."),
        ("", "flavor", "This field is required."),
    ],
)
def test_bad_flavors_get_field_messages(shop, small, flavor, field, message):
    with pytest.raises(ValidationError) as err:
        _resize(shop.requester, small, flavor)
    assert message in " ".join(err.value.message_dict[field])
    assert not ResourceRequest.objects.exists()


def test_a_disk_cannot_shrink_and_a_building_server_cannot_be_resized(shop, small):
    Flavor.objects.filter(name="m1.small").update(disk_gb=40)
    Flavor.objects.filter(name="m1.large").update(disk_gb=20)
    with pytest.raises(ValidationError) as err:
        _resize(shop.requester, small, "m1.large")
    assert "a disk cannot be shrunk" in err.value.message_dict["flavor"][0]
    Flavor.objects.filter(name="m1.large").update(disk_gb=80)
    small.status = "BUILD"
    small.save()
    with pytest.raises(ValidationError) as err:
        _resize(shop.requester, small, "m1.large")
    assert err.value.message_dict["target"] == [
        "web is BUILD; only a running or stopped server can be resized."
    ]


@pytest.fixture
def low_only_viewer(shop):
    from tests.factories import make_user

    return make_user(
        "vera", memberships={shop.tenant: "viewer"}, domains=(shop.unclass,), sites=(shop.site,)
    )


def test_the_quota_and_the_role_are_checked(shop, small, low_only_viewer):
    shop.low.vcpus = 4
    shop.low.save(update_fields=["vcpus"])
    with pytest.raises(QuotaExceeded, match="vCPUs"):
        _resize(shop.requester, small, "m1.large")
    with pytest.raises(RequestNotAllowed):
        _resize(low_only_viewer, small, "m1.large")


def test_the_page_offers_the_region_s_other_flavors_and_files_the_request(client, shop, small):
    client.force_login(shop.requester)
    url = reverse("server-action", args=[small.pk, "resize"])
    panel = client.get(url).content.decode()
    assert '<option value="m1.large">m1.large (8 vCPU, 16 GiB' in panel
    assert '<option value="m1.small"' not in panel
    assert "runs as <code>m1.small</code> (2 vCPU, 2 GiB)" in panel
    refused = client.post(url, {"justification": WHY, "flavor": ""})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    filed = client.post(url, {"justification": WHY, "flavor": "m1.large"})
    request = ResourceRequest.objects.get(kind=Kind.SERVER_RESIZE)
    assert filed.url == request.get_absolute_url()
    detail = client.get(request.get_absolute_url()).content.decode()
    assert (
        "<code>m1.small</code> (2 vCPU, 2 GiB) → <code>m1.large</code> (8 vCPU, 16 GiB)" in detail
    )
    client.force_login(shop.approver)
    inbox = client.get(reverse("approval-inbox")).content.decode()
    assert "Resize web from <code>m1.small</code>" in inbox


def test_the_api_files_a_resize_and_refuses_a_bad_flavor(shop, small):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(shop.requester)
    url = f"/api/v1/servers/{small.pk}/resize/"
    missing = client.post(url, {"justification": WHY}, format="json")
    assert missing.status_code == 400 and "flavor" in missing.json()["fields"]
    unknown = client.post(url, {"justification": WHY, "flavor": "m9"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["fields"]["flavor"][0].startswith("No flavor 'm9'")
    created = client.post(url, {"justification": WHY, "flavor": "m1.large"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "server_resize"
