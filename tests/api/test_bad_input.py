"""Bad input never answers 500: out-of-range integers anywhere, deep JSON, huge bodies, query
values with trailing newlines. Each answers 4xx in the API's error shape, with the field named
where there is one."""

from __future__ import annotations

import django_filters
import pytest
from django.urls import reverse

from provisioning.models import ResourceRequest
from tests.api.endpoints import api_endpoints

pytestmark = pytest.mark.django_db

SHAPE = {"message", "code", "fields"}
HUGE = "99999999999999999999999"
BIGINT_OVERFLOW = str(2**63)
WHY = "A justification that is long enough."


def _integer_filters() -> list[tuple[str, str]]:
    """(list url name, parameter) for every integer filter of every API list."""
    found = []
    for name, endpoint in sorted(api_endpoints().items()):
        filterset = getattr(endpoint.view, "filterset_class", None)
        if endpoint.detail or "GET" not in endpoint.methods or filterset is None:
            continue
        for param, flt in filterset.base_filters.items():
            if isinstance(flt, django_filters.NumberFilter | django_filters.ModelChoiceFilter):
                found.append((name, param))
    return found


INTEGER_FILTERS = _integer_filters()


def test_there_are_integer_filters_to_check():
    assert ("api:server-list", "allocation") in INTEGER_FILTERS
    assert ("api:tenant-list", "parent") in INTEGER_FILTERS


@pytest.mark.parametrize(("name", "param"), INTEGER_FILTERS)
def test_integers_out_of_range_in_filters_are_field_errors(api_world, client_for, name, param):
    client = client_for(api_world.shop.requester)
    for value in (HUGE, BIGINT_OVERFLOW, "-1", "1.5", "1e3"):
        response = client.get(reverse(name), {param: value})
        assert response.status_code == 400, (name, param, value, response.status_code)
        body = response.json()
        assert set(body) >= SHAPE and param in body["fields"], body


def test_a_foreign_id_in_a_filter_answers_like_an_unknown_one(api_world, client_for):
    client = client_for(api_world.shop.requester)
    foreign = client.get("/api/v1/tenants/", {"parent": api_world.other_tenant.pk})
    unknown = client.get("/api/v1/tenants/", {"parent": 999_999_999})
    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json() == unknown.json()


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/servers/{HUGE}/",
        f"/api/v1/requests/{BIGINT_OVERFLOW}/",
        f"/api/v1/volumes/{HUGE}/extend/",
        f"/api/v1/tenants/{HUGE}/",
        f"/api/v1/allocations/{BIGINT_OVERFLOW}/",
    ],
)
def test_ids_out_of_range_in_api_paths_are_not_found(api_world, client_for, url):
    client = client_for(api_world.shop.requester)
    response = client.get(url) if not url.endswith("extend/") else client.post(url, {})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "url", [f"/servers/{HUGE}/", f"/requests/{BIGINT_OVERFLOW}/", f"/volumes/{HUGE}/extend/"]
)
def test_ids_out_of_range_in_page_paths_are_not_found(api_world, client, url):
    client.force_login(api_world.shop.requester)
    assert client.get(url).status_code == 404


def test_ids_out_of_range_in_bodies_are_field_errors(api_world, client_for):
    shop = api_world.shop
    client = client_for(shop.requester)
    cases = [
        ("/api/v1/approvals/bulk-approve/", {"ids": [int(HUGE)]}, "ids"),
        ("/api/v1/requests/", {"kind": "network", "allocation": int(HUGE), "justification": WHY,
                               "spec": {}}, "allocation"),
        ("/api/v1/requests/", {"kind": "server_stop", "target": int(BIGINT_OVERFLOW),
                               "justification": WHY}, "target"),
        ("/api/v1/requests/", {"kind": "server", "allocation": shop.low.pk, "justification": WHY,
                               "spec": {"name": "web", "flavor": "m1.small", "image": "debian-12",
                                        "networks": [int(HUGE)]}}, "networks"),
        ("/api/v1/requests/", {"kind": "server", "allocation": shop.low.pk, "justification": WHY,
                               "spec": {"name": "web", "flavor": "m1.small", "image": "debian-12",
                                        "networks": [shop.low_net.pk], "ssh_key": int(HUGE)}},
         "ssh_key"),
        (f"/api/v1/volumes/{api_world.volume.pk}/attach/",
         {"server": int(HUGE), "justification": WHY}, "server"),
        (f"/api/v1/servers/{api_world.server.pk}/attach-volume/",
         {"volume": int(BIGINT_OVERFLOW), "justification": WHY}, "volume"),
        (f"/api/v1/security-groups/{api_world.security_group.pk}/close-rule/",
         {"rule": int(HUGE), "justification": WHY}, "rule"),
        (f"/api/v1/security-groups/{api_world.security_group.pk}/rules/",
         {"protocol": "tcp", "port_min": 22, "remote_group": int(HUGE), "justification": WHY},
         "remote_group"),
    ]  # fmt: skip
    before = ResourceRequest.objects.count()
    for url, body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (url, body, response.status_code)
        assert field in response.json()["fields"], (url, response.json())
    assert ResourceRequest.objects.count() == before


def test_json_nested_too_deeply_is_a_parse_error(api_world, client_for):
    client = client_for(api_world.shop.requester)
    for depth in (100, 100_000):
        body = "[" * depth + "]" * depth
        response = client.post("/api/v1/requests/", body, content_type="application/json")
        assert response.status_code == 400, depth
        assert response.json()["code"] == "parse_error"
        assert "nested" in response.json()["message"]


def test_a_body_too_large_is_413_in_the_apis_shape(api_world, client_for, settings):
    client = client_for(api_world.shop.requester)
    body = '{"justification": "' + "x" * (10 * 1024 * 1024) + '"}'
    response = client.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert set(response.json()) >= SHAPE


def test_query_values_with_a_trailing_newline_are_refused(api_world, client_for, client):
    api = client_for(api_world.shop.requester)
    response = api.get("/api/v1/reports/sla/", {"month": "2026-11\n"})
    assert response.status_code == 400 and "month" in response.json()["fields"]
    client.force_login(api_world.shop.requester)
    page = client.get("/reports/sla/", {"month": "2026-11\n", "format": "csv"})
    assert page.status_code == 400
