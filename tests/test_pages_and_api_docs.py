"""Login, the classification banner, the API schema and its offline docs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_login_and_logout(client, world):
    make_user("walker", memberships={world.tenant: Role.VIEWER})
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    failed = client.post(reverse("login"), {"username": "walker", "password": "wrong"})
    assert b"Please enter a correct username and password" in failed.content

    response = client.post(reverse("login"), {"username": "walker", "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200

    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_banner_shows_the_most_sensitive_domain_on_the_page(client, world):
    unclass, secret = world.domains
    both = make_user(
        "both",
        memberships={world.tenant: Role.VIEWER},
        domains=(unclass, secret),
        sites=tuple(world.sites),
    )
    only_unclass = make_user(
        "low",
        memberships={world.tenant: Role.VIEWER},
        domains=(unclass,),
        sites=tuple(world.sites),
    )

    client.force_login(both)
    assert 'aria-label="Classification: SECRET"' in client.get(reverse("dashboard")).text
    low_allocation = world.allocations[(0, 0)]
    assert (
        'aria-label="Classification: UNCLASS"' in client.get(low_allocation.get_absolute_url()).text
    )

    client.force_login(only_unclass)
    page = client.get(reverse("dashboard")).text
    assert 'aria-label="Classification: UNCLASS"' in page
    assert "SECRET" not in page


def test_404_page_tells_what_to_do(client, world):
    client.force_login(make_user("lost"))
    response = client.get(world.allocations[(0, 0)].get_absolute_url())
    assert response.status_code == 404
    assert b"Back to the dashboard" in response.content


def test_openapi_schema_and_offline_docs(client, world):
    client.force_login(make_user("reader"))
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for endpoint in ["sites", "domains", "regions", "tenants", "allocations", "memberships"]:
        assert f"/api/v1/{endpoint}/" in paths

    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
def test_token_authentication(api_client, world, keyword):
    from portal.tokens import token_create

    user = make_user("robot", memberships={world.tenant: Role.VIEWER})
    _token, secret = token_create(user=user, name="robot")
    api_client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    body = api_client.get("/api/v1/memberships/").json()
    assert [m["tenant"]["slug"] for m in body["results"]] == ["blue"]
    assert body["results"][0]["role"] == "viewer"


def test_api_errors_have_one_shape(api_client, world):
    api_client.force_authenticate(make_user("shape"))
    body = api_client.get(f"/api/v1/allocations/{world.allocations[(0, 0)].pk}/").json()
    assert body == {"message": "Not found.", "code": "not_found", "fields": {}}
