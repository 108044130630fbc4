"""The OpenAPI schema: valid, complete, and true to the API (schemathesis fuzzes it).

Bounded on purpose: every GET and the main POSTs, a few examples each, so it runs in well under
two minutes. Checks: no 5xx, documented status codes, content types and response bodies.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.tokens import token_create
from tests.api.endpoints import api_endpoints

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


@pytest.mark.django_db
def test_schema_documents_every_endpoint(client, shop):
    client.force_login(shop.requester)
    schema = client.get("/api/schema/?format=json").json()
    documented = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    for endpoint in api_endpoints().values():
        for method in endpoint.methods:
            assert any(m == method for _p, m in documented), endpoint.name
    assert len(documented) == sum(len(e.methods) for e in api_endpoints().values())
    create = schema["paths"]["/api/v1/requests/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert {"201", "400", "403", "409", "422", "429"} <= set(create["responses"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]


@pytest.fixture
def api_headers(api_world, settings) -> dict[str, str]:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": None, "anon": None, "credentials": None},
    }
    _token, secret = token_create(user=api_world.shop.approver, name="schemathesis")
    return {"Authorization": f"Bearer {secret}"}


def _fuzzed_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, from the schema generator (no database): reads,
    writes and deletions alike, with no exclusions."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(
        (method.upper(), path) for path, operations in paths.items() for method in operations
    )


@pytest.fixture
def keep_connection():
    """Keep the test's connection across in-process WSGI calls, as Django's test client does.

    The calls then run inside the test's transaction (rolled back at the end): no flush of the
    database per operation, as a transactional test would need.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_connection")
@pytest.mark.parametrize(("method", "path"), _fuzzed_operations())
def test_api_conforms_to_its_schema(api_headers, method, path):
    # schemathesis' own pytest plugin (from_fixture) does not run under this pytest version, so
    # the operation's hypothesis strategy is driven here directly.
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=api_headers
    )
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def conforms(case) -> None:
        case.call_and_validate(headers=api_headers, checks=CHECKS)

    conforms()
