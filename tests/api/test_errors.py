"""The one error shape for every failure, four-eyes and quota refusals through the API."""

from __future__ import annotations

import pytest

from provisioning.models import RequestState, ResourceRequest

pytestmark = pytest.mark.django_db

SHAPE = {"message", "code", "fields"}


def _network(shop, **overrides) -> dict:
    return {
        "kind": "network",
        "allocation": shop.low.pk,
        "justification": "A network for the planning tool.",
        "spec": {"name": "plan-net", "cidr": "10.30.0.0/24"},
        **overrides,
    }


def test_unknown_paths_and_methods_use_the_shape(shop, client_for, api_client):
    client = client_for(shop.requester)
    unknown = client.get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Not found.", "code": "not_found", "fields": {}}
    no_slash = client.post("/api/v1/requests", {}, format="json")
    assert no_slash.status_code == 404  # not a redirect that would turn the POST into a GET
    assert no_slash.json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/requests/")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()) == SHAPE
    anonymous = api_client.get("/api/v1/requests/")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"


def test_invalid_fields_are_listed_by_field(shop, client_for):
    response = client_for(shop.requester).post(
        "/api/v1/requests/",
        _network(shop, justification="short", spec={"name": "Bad Name", "cidr": "8.8.8.0/24"}),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) >= {"justification", "name", "cidr"}
    assert "private range" in " ".join(body["fields"]["cidr"])


def test_bad_filters_answer_400(shop, client_for):
    response = client_for(shop.requester).get("/api/v1/requests/", {"state": "nonsense"})
    assert response.status_code == 400
    assert "state" in response.json()["fields"]


def test_four_eyes_via_the_api(shop, client_for):
    created = client_for(shop.requester).post("/api/v1/requests/", _network(shop), format="json")
    assert created.status_code == 201
    pk = created.json()["id"]

    own = client_for(shop.requester).post(f"/api/v1/requests/{pk}/approve/", {}, format="json")
    assert own.status_code == 403
    assert own.json() == {
        "message": "Four-eyes rule: nobody decides on their own request.",
        "code": "not_allowed",
        "fields": {},
    }
    inbox = client_for(shop.approver).get("/api/v1/approvals/").json()["results"]
    assert [r["id"] for r in inbox] == [pk]
    approved = client_for(shop.approver).post(
        f"/api/v1/requests/{pk}/approve/", {"comment": "fine"}, format="json"
    )
    assert approved.status_code == 200
    body = approved.json()
    assert body["state"] == RequestState.APPROVED
    assert [(a["stage"], a["decided_by"]) for a in body["approvals"]] == [("tenant", "arno")]
    assert [t["to_state"] for t in body["transitions"]] == ["pending_approval", "approved"]

    again = client_for(shop.approver2).post(f"/api/v1/requests/{pk}/approve/", {}, format="json")
    assert again.status_code == 400
    assert "nothing left to decide" in again.json()["message"]


def test_reject_needs_a_comment_and_bulk_approve_reports_each(shop, client_for):
    requester = client_for(shop.requester)
    ids = [
        requester.post(
            "/api/v1/requests/",
            _network(shop, spec={"name": f"n{i}", "cidr": f"10.3{i}.0.0/24", "router": False}),
            format="json",
        ).json()["id"]
        for i in range(3)
    ]
    blank = client_for(shop.approver).post(
        f"/api/v1/requests/{ids[0]}/reject/", {"comment": " "}, format="json"
    )
    assert blank.status_code == 400
    assert "comment" in blank.json()["fields"]
    rejected = client_for(shop.approver).post(
        f"/api/v1/requests/{ids[0]}/reject/", {"comment": "Use the shared one."}, format="json"
    )
    assert rejected.json()["state"] == RequestState.REJECTED

    bulk = client_for(shop.approver).post(
        "/api/v1/approvals/bulk-approve/", {"ids": [*ids, 999999]}, format="json"
    )
    assert bulk.status_code == 200
    outcomes = {r["id"]: r for r in bulk.json()["results"]}
    assert outcomes[ids[1]]["approved"] and outcomes[ids[2]]["approved"]
    assert not outcomes[ids[0]]["approved"]
    assert outcomes[999999]["outcome"] == "Not found."


def test_quota_refusal_names_dimension_usage_limit_and_need(shop, client_for):
    shop.low.networks = 1
    shop.low.save()
    # low_net already uses the one network the allocation has.
    response = client_for(shop.requester).post("/api/v1/requests/", _network(shop), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "Networks 1 of 1 used, this request needs 1" in body["message"]
    assert body["quota"] == {"dimension": "networks", "used": 1, "limit": 1, "needed": 1}
    assert not ResourceRequest.objects.exists()


def test_cancel_and_retry_through_the_api(shop, client_for):
    client = client_for(shop.requester)
    pk = client.post("/api/v1/requests/", _network(shop), format="json").json()["id"]
    retry = client.post(f"/api/v1/requests/{pk}/retry/", format="json")
    assert retry.status_code == 400
    assert "has not failed" in retry.json()["message"]
    cancelled = client.post(f"/api/v1/requests/{pk}/cancel/", {"reason": "Not needed"})
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == RequestState.CANCELLED


def test_day2_actions_create_requests(api_world, client_for):
    server = api_world.server
    response = client_for(api_world.shop.requester).post(
        f"/api/v1/servers/{server.pk}/stop/",
        {"justification": "Maintenance of the planning tool."},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "server_stop" and body["target_server"] == server.pk
    again = client_for(api_world.shop.requester).post(
        f"/api/v1/servers/{server.pk}/reboot/",
        {"justification": "Maintenance of the planning tool."},
        format="json",
    )
    assert again.status_code == 409  # a conflict with the server's state, not bad input
    assert again.json()["code"] == "conflict"
    assert "already has a request in progress" in again.json()["fields"]["target"][0]


def test_a_network_gets_a_router_unless_told_not_to_as_on_the_page(shop, client_for):
    client = client_for(shop.requester)
    said_nothing = client.post("/api/v1/requests/", _network(shop), format="json")
    assert said_nothing.status_code == 201, said_nothing.json()
    assert said_nothing.json()["spec"]["router"] is True
    no = _network(shop, spec={"name": "closed-net", "cidr": "10.31.0.0/24", "router": False})
    said_no = client.post("/api/v1/requests/", no, format="json")
    assert said_no.status_code == 201 and said_no.json()["spec"]["router"] is False
    from provisioning.forms import NetworkRequestForm

    assert NetworkRequestForm.base_fields["router"].initial is True
