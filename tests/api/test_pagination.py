"""Keyset pages: every row once, in order, at any depth, while the list changes under the reader."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.pagination import LAST_PAGE, encode_cursor
from provisioning.models import Server
from tests.api.conftest import make_server

pytestmark = pytest.mark.django_db

NAMES = ["delta", "alpha", "charlie", "alpha", "echo", "bravo", "alpha", "foxtrot", "golf"]


@pytest.fixture
def servers(shop):
    """Nine servers with repeated names, statuses and creation times (ties need the id)."""
    made = []
    for i, name in enumerate(NAMES):
        server = make_server(shop.low, f"{name}-{i}")
        Server.objects.filter(pk=server.pk).update(name=name, status=("ACTIVE", "SHUTOFF")[i % 2])
        made.append(server)
    # Two share a creation time to the microsecond: only the id orders them.
    base = timezone.now() - timedelta(days=1)
    for i, server in enumerate(made):
        Server.objects.filter(pk=server.pk).update(created_at=base + timedelta(minutes=i // 2))
    return list(Server.objects.filter(pk__in=[s.pk for s in made]))


def _walk(client, url: str, **params) -> tuple[list[int], list[dict]]:
    """Follow ``next`` links from the first page; the ids in order, and every answer."""
    seen, answers = [], []
    answer = client.get(url, params).json()
    while True:
        answers.append(answer)
        seen += [row["id"] for row in answer["results"]]
        if not answer["next"]:
            return seen, answers
        answer = client.get(answer["next"]).json()


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        (None, lambda s: (s.name, s.pk)),
        ("-created_at", lambda s: (-s.created_at.timestamp(), -s.pk)),
        ("status", lambda s: (s.status, s.pk)),
        ("-name", lambda s: (tuple(-ord(c) for c in s.name), -s.pk)),
    ],
)
def test_following_next_returns_every_row_once_in_order(shop, servers, client_for, ordering, key):
    client = client_for(shop.requester)
    params = {"page_size": 2, **({"ordering": ordering} if ordering else {})}
    seen, answers = _walk(client, "/api/v1/servers/", **params)
    expected = [s.pk for s in sorted(Server.objects.all(), key=key)]
    assert seen == expected
    assert len(answers) == 5
    assert answers[0]["previous"] is None and answers[-1]["next"] is None
    assert all(a["count"] == 9 and a["count_exact"] for a in answers)


def test_previous_goes_back_a_page_and_last_page_cursor_ends_the_list(shop, servers, client_for):
    client = client_for(shop.requester)
    seen, answers = _walk(client, "/api/v1/servers/", page_size=2)
    back = client.get(answers[2]["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in answers[1]["results"]]
    assert back["next"] and back["previous"]
    last = client.get("/api/v1/servers/", {"page_size": 2, "cursor": LAST_PAGE}).json()
    assert [r["id"] for r in last["results"]] == seen[-2:]
    assert last["next"] is None and last["previous"]


def test_rows_inserted_while_paging_move_nothing_already_listed(shop, servers, client_for):
    client = client_for(shop.requester)
    first = client.get("/api/v1/servers/", {"page_size": 3}).json()
    # A burst of new servers sorting before and after the cursor, and a deletion behind it.
    make_server(shop.low, "aaa-new")
    make_server(shop.low, "zzz-new")
    Server.objects.filter(pk=first["results"][0]["id"]).update(deleted_at=timezone.now())
    rest = [r["id"] for r in client.get(first["next"]).json()["results"]]
    seen = [r["id"] for r in first["results"]] + rest
    answer = client.get(first["next"]).json()
    while answer["next"]:
        answer = client.get(answer["next"]).json()
        seen += [r["id"] for r in answer["results"]]
    old = [s.pk for s in sorted(servers, key=lambda s: (s.name, s.pk))]
    assert [i for i in seen if i in old] == old  # nothing old repeated or skipped
    assert Server.objects.get(name="zzz-new").pk in seen  # ahead of the cursor: listed


def test_a_deep_cursor_made_from_a_row_key_starts_right_after_it(shop, servers, client_for):
    ordered = sorted(servers, key=lambda s: (s.name, s.pk))
    cursor = encode_cursor([ordered[4].name, ordered[4].pk])
    answer = client_for(shop.requester).get("/api/v1/servers/", {"cursor": cursor}).json()
    assert [r["id"] for r in answer["results"]] == [s.pk for s in ordered[5:]]


@pytest.mark.parametrize("cursor", ["not-a-cursor", encode_cursor(["only-one-value"]),
                                    encode_cursor(["alpha", "not-an-id"])])  # fmt: skip
def test_a_cursor_the_portal_did_not_make_is_a_field_error(shop, servers, client_for, cursor):
    response = client_for(shop.requester).get("/api/v1/servers/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]


def test_counts_are_capped_and_page_numbers_stop_at_the_cap(shop, servers, client_for, settings):
    settings.PORTAL_LIST_COUNT_CAP = 5
    client = client_for(shop.requester)
    answer = client.get("/api/v1/servers/", {"page_size": 2}).json()
    assert answer["count"] == 5 and answer["count_exact"] is False
    # Page numbers still work within the cap, for clients written against them...
    page2 = client.get("/api/v1/servers/", {"page_size": 2, "page": 2}).json()
    seen, _ = _walk(client, "/api/v1/servers/", page_size=2)
    assert [r["id"] for r in page2["results"]] == seen[2:4]
    assert "page=" not in page2["previous"]
    # The next page would pass the cap: its link is a cursor.
    rest = client.get(page2["next"]).json()
    assert "cursor=" in page2["next"] and [r["id"] for r in rest["results"]] == seen[4:6]
    # ...and past it the answer says how to go deeper.
    deep = client.get("/api/v1/servers/", {"page_size": 2, "page": 3})
    assert deep.status_code == 400
    assert "next" in deep.json()["fields"]["page"][0]
    assert seen == [s.pk for s in sorted(servers, key=lambda s: (s.name, s.pk))]


def test_a_search_pages_its_matches_in_order(shop, servers, client_for, settings):
    client = client_for(shop.requester)
    seen, answers = _walk(client, "/api/v1/servers/", q="ALPHA", page_size=2)
    alphas = sorted((s for s in servers if s.name == "alpha"), key=lambda s: s.pk)
    assert seen == [s.pk for s in alphas] and answers[0]["count"] == 3
    # By the cloud id, exactly; and past the count cap the search is left to the list's walk.
    seen, _ = _walk(client, "/api/v1/servers/", q=servers[4].backend_id)
    assert seen == [servers[4].pk]
    settings.PORTAL_LIST_COUNT_CAP = 2
    seen, _ = _walk(client, "/api/v1/servers/", q="a", page_size=2)
    expected = sorted((s for s in servers if "a" in s.name), key=lambda s: (s.name, s.pk))
    assert seen == [s.pk for s in expected]


def test_a_long_lists_count_is_counted_once_for_the_pages_that_follow(
    shop, servers, client_for, settings
):
    """Counting is what a long list's page costs most; the rows are read afresh every time."""
    settings.PORTAL_LIST_COUNT_REMEMBER_FROM = 5
    client = client_for(shop.requester)
    first = client.get("/api/v1/servers/", {"page_size": 2}).json()
    assert (first["count"], first["count_exact"]) == (9, True)
    newest = make_server(shop.low, "zulu-new")
    again = client.get("/api/v1/servers/", {"page_size": 50}).json()
    # The count is the one just counted, said to be so; the new server is listed all the same.
    assert (again["count"], again["count_exact"]) == (9, False)
    assert newest.pk in [row["id"] for row in again["results"]]
    # A short list (a filter matching under the threshold) is always counted.
    short = client.get("/api/v1/servers/", {"q": "zulu"}).json()
    assert (short["count"], short["count_exact"]) == (1, True)


def test_counts_are_always_counted_when_memory_is_off(shop, servers, client_for, settings):
    settings.PORTAL_LIST_COUNT_REMEMBER_FROM = 5
    settings.PORTAL_LIST_COUNT_MEMORY_SECONDS = 0
    client = client_for(shop.requester)
    assert client.get("/api/v1/servers/").json()["count"] == 9
    make_server(shop.low, "zulu-new")
    answer = client.get("/api/v1/servers/").json()
    assert (answer["count"], answer["count_exact"]) == (10, True)
