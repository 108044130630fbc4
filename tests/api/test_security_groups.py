"""The security groups list filters, searches and sorts as the other resource lists do, within
what the caller may see."""

from __future__ import annotations

import pytest
from django.utils import timezone

from provisioning.models import SecurityGroup

pytestmark = pytest.mark.django_db


def _names(client, **params) -> list[str]:
    answer = client.get("/api/v1/security-groups/", params)
    assert answer.status_code == 200, answer.content
    return [group["name"] for group in answer.json()["results"]]


@pytest.fixture
def groups(api_world):
    shop = api_world.shop
    made = {
        "alpha-web": shop.low,
        "bravo-db": shop.high,
        "charlie-web": shop.high,
    }
    for name, allocation in made.items():
        SecurityGroup.objects.create(
            allocation=allocation, name=name, backend_id=f"id-{name}", tag=f"portal-{name}"
        )
    SecurityGroup.objects.filter(name="charlie-web").update(status="ERROR")
    SecurityGroup.objects.create(allocation=shop.low, name="delta-gone", backend_id="id-gone",
                                 tag="portal-gone", deleted_at=timezone.now())  # fmt: skip
    return api_world


def test_filters_search_and_sorts(groups, client_for):
    shop = groups.shop
    rita = client_for(shop.requester)
    everything = _names(rita)
    assert everything == sorted(everything) and "alpha-web" in everything
    assert "delta-gone" not in everything  # the list shows live groups
    assert not any(name.startswith("forbidden-") for name in everything)
    assert _names(rita, q="web") == ["alpha-web", "charlie-web"]
    assert _names(rita, q="id-bravo-db") == ["bravo-db"]  # the cloud id, exactly
    assert _names(rita, domain=shop.secret.slug) == ["bravo-db", "charlie-web"]
    assert _names(rita, status="error") == ["charlie-web"]
    assert _names(rita, tenant=shop.tenant.slug, q="alpha") == ["alpha-web"]
    assert _names(rita, ordering="-name") == sorted(everything, reverse=True)
    newest = _names(rita, ordering="-created_at")
    assert newest.index("charlie-web") < newest.index("alpha-web")


def test_filters_never_reach_past_the_callers_access(groups, client_for):
    """A filter naming what the caller may not see narrows to nothing: it does not widen."""
    rita = client_for(groups.shop.requester)
    for forbidden in groups.forbidden:
        name = forbidden.security_group.name
        assert _names(rita, q=name) == []
        assert _names(rita, q=forbidden.security_group.backend_id) == []
        assert _names(rita, allocation=forbidden.allocation.pk) == []
    assert _names(rita, tenant=groups.other_tenant.slug) == []
    assert _names(rita, site=groups.other_site.slug) == []
    assert _names(rita, domain=groups.other_domain.slug) == []
