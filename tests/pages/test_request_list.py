"""The Requests page: search, filters, sort and keyset pages, with the API's filters, for what
the access layer lets the user see and nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from provisioning import services
from provisioning.models import Kind, ResourceRequest
from tests.factories import TenantFactory, make_user
from tests.pages.conftest import WHY, submit_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests_(shop):
    web = submit_server(shop, name="web-frontend")
    db = submit_server(shop, name="database", secret=True)
    services.request_cancel(request=db, user=shop.requester)
    network = services.request_submit(
        user=shop.requester, kind=Kind.NETWORK, allocation=shop.low,
        spec={"name": "lab-net", "cidr": "10.9.0.0/24"}, justification=WHY,
    )  # fmt: skip
    old = submit_server(shop, name="old-one")
    ResourceRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    return {"web": web, "db": db, "network": network, "old": old}


def _numbers(client, query: str = "") -> list[int]:
    page = client.get(f"/requests/{query}")
    assert page.status_code == 200
    return [r.pk for r in page.context["object_list"]]


def test_newest_first_and_each_filter_narrows(client, shop, requests_):
    client.force_login(shop.requester)
    r = requests_
    assert _numbers(client) == [r["network"].pk, r["db"].pk, r["web"].pk, r["old"].pk]
    assert _numbers(client, "?state=cancelled") == [r["db"].pk]
    assert _numbers(client, "?kind=network") == [r["network"].pk]
    assert _numbers(client, "?domain=secret") == [r["db"].pk]
    assert _numbers(client, "?q=front") == [r["web"].pk]
    assert _numbers(client, f"?q=%23{r['old'].pk}") == [r["old"].pk]
    assert _numbers(client, f"?requester={shop.requester.username}&kind=server") == [
        r["db"].pk, r["web"].pk, r["old"].pk,
    ]  # fmt: skip
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert r["old"].pk not in _numbers(client, f"?created_from={since}")
    assert _numbers(client, f"?created_to={since}") == [r["old"].pk]


def test_the_forms_empty_fields_mean_any(client, shop, requests_):
    client.force_login(shop.requester)
    everything = _numbers(client)
    sent = "?q=&state=&kind=&tenant=&site=&domain=&requester=&created_from=&created_to="
    assert _numbers(client, sent) == everything
    page = client.get(f"/requests/{sent}&kind=network").content.decode()
    assert "could not be read" not in page
    assert _numbers(client, f"{sent}&kind=network") == [requests_["network"].pk]


def test_sort_by_state_and_back(client, shop, requests_):
    client.force_login(shop.requester)
    states = [ResourceRequest.objects.get(pk=n).state for n in _numbers(client, "?sort=state")]
    assert states == sorted(states)
    page = client.get("/requests/?sort=-state")
    assert 'aria-sort="descending"' in page.content.decode()


def test_a_bad_date_is_said_not_ignored(client, shop, requests_):
    client.force_login(shop.requester)
    page = client.get("/requests/?created_from=yesterday")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'aria-invalid="true"' in body and "Give a date as YYYY-MM-DD." in body
    assert "Some filters could not be read" in body


def test_filters_reach_only_what_the_user_may_see(client, shop, requests_):
    other = TenantFactory(name="Red Unit", slug="red")
    outsider = make_user("olaf", memberships={other: "requester"}, domains=(shop.unclass,),
                         sites=(shop.site,))  # fmt: skip
    client.force_login(outsider)
    assert _numbers(client) == []
    assert _numbers(client, "?tenant=blue") == []
    assert _numbers(client, f"?q=%23{requests_['web'].pk}") == []
    # An officer of the secret domain who is no member sees the secret request only.
    client.force_login(shop.officer)
    assert _numbers(client) == [requests_["db"].pk]


def test_the_page_costs_the_same_queries_filtered_or_not(client, shop, requests_):
    client.force_login(shop.requester)
    client.get("/requests/")  # warm what the access layer remembers
    counts = []
    for query in ("", "?state=pending_approval&kind=server&tenant=blue&sort=state",
                  "?q=web&created_from=2026-01-01"):  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/requests/{query}").status_code == 200
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-02-30"])
def test_dates_out_of_reach_are_field_errors_in_the_api(shop, day):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(shop.requester)
    for name in ("created_from", "created_to"):
        answer = api.get(f"/api/v1/requests/?{name}={day}")
        assert answer.status_code == 400, answer.content
        assert name in answer.json()["fields"]
