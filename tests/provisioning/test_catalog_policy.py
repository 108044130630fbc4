"""Catalog policies: what a security domain (or one allocation) may build from."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from provisioning import services
from provisioning.models import CatalogPolicy, Kind, Offering, Server
from tests.factories import ImageFactory, server_spec

pytestmark = pytest.mark.django_db
WHY = "A server for the planning tool, please."


def _server(shop, allocation=None, **spec):
    allocation = allocation or shop.low
    network = shop.low_net if allocation == shop.low else shop.high_net
    return services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=allocation,
        spec=server_spec(network, **spec), justification=WHY,
    )  # fmt: skip


def test_a_domain_narrows_flavors_and_images_and_an_allocation_can_differ(shop):
    ImageFactory(region=shop.low.region, name="windows-2022")
    CatalogPolicy.objects.create(domain=shop.unclass, flavors="m1.small", images="debian-12")
    assert _server(shop).spec["flavor"] == "m1.small"
    with pytest.raises(ValidationError) as err:
        _server(shop, flavor="m1.large")
    assert err.value.message_dict["flavor"] == [
        "Unclassified does not offer flavor m1.large; allowed: m1.small."
    ]
    with pytest.raises(ValidationError) as err:
        _server(shop, image="windows-2022")
    assert "does not offer image windows-2022" in err.value.message_dict["image"][0]
    # The secret domain has no policy: everything its region offers.
    assert _server(shop, allocation=shop.high, flavor="m1.large").pk
    # An allocation's own policy replaces its domain's.
    CatalogPolicy.objects.create(domain=shop.unclass, allocation=shop.low, flavors="m1.large")
    assert _server(shop, flavor="m1.large", image="windows-2022").pk


def test_offerings_only_and_offerings_outside_the_policy(shop):
    offering = Offering.objects.create(
        name="Big Debian", slug="big-debian", flavor_name="m1.large", image_name="debian-12"
    )
    offering.regions.set([shop.low.region])
    CatalogPolicy.objects.create(domain=shop.unclass, offerings_only=True, flavors="m1.small")
    with pytest.raises(ValidationError) as err:
        _server(shop)
    assert err.value.message_dict["offering"] == [
        "In Unclassified, servers are built from an offering."
    ]
    with pytest.raises(ValidationError) as err:
        _server(shop, flavor="", image="", offering="big-debian")
    assert "does not offer flavor m1.large" in err.value.message_dict["offering"][0]


def test_resizes_keep_to_the_policy(shop):
    CatalogPolicy.objects.create(domain=shop.unclass, flavors="m1.small")
    server = Server.objects.create(
        allocation=shop.low, name="web", backend_id="b", tag="t", status="ACTIVE",
        flavor_name="m1.small", vcpus=2, ram_mb=2048,
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER_RESIZE, target=server,
            spec={"flavor": "m1.large"}, justification=WHY,
        )  # fmt: skip
    assert "does not offer flavor m1.large" in err.value.message_dict["flavor"][0]


def test_the_form_offers_only_what_the_policy_allows(client, shop):
    ImageFactory(region=shop.low.region, name="windows-2022")
    CatalogPolicy.objects.create(domain=shop.unclass, flavors="m1.small", images="debian-12")
    client.force_login(shop.requester)
    page = client.get(reverse("request-create-server"), {"allocation": shop.low.pk})
    html = page.content.decode()
    assert 'value="m1.small"' in html and 'value="m1.large"' not in html
    assert 'value="debian-12"' in html and 'value="windows-2022"' not in html
