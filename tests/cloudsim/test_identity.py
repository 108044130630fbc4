"""Keystone v3 as cloudsim serves it: discovery, tokens, catalog, scoping, projects."""

from __future__ import annotations

import requests

from cloudsim.pytest_plugin import ADMIN_PASSWORD, MEMBER_PASSWORD


def password_auth(user: str, password: str, scope: dict | None = None) -> dict:
    auth = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": user, "domain": {"name": "Default"}, "password": password}
            },
        }
    }
    if scope:
        auth["scope"] = scope
    return {"auth": auth}


def test_version_discovery_at_root_and_v3(sim):
    root = requests.get(f"{sim.base_url}/", timeout=5)
    assert root.status_code == 300
    (version,) = root.json()["versions"]["values"]
    assert version["id"] == "v3.14" and version["status"] == "stable"
    assert version["links"][0]["href"] == f"{sim.base_url}/v3/"
    v3 = requests.get(f"{sim.base_url}/v3", timeout=5)
    assert v3.status_code == 200 and v3.json()["version"]["id"] == "v3.14"


def test_project_scoped_token_by_name_carries_catalog_for_every_region(sim):
    scope = {"project": {"name": "team-a", "domain": {"name": "Default"}}}
    r = requests.post(
        f"{sim.base_url}/v3/auth/tokens", json=password_auth("portal", MEMBER_PASSWORD, scope),
        timeout=5,
    )  # fmt: skip
    assert r.status_code == 201
    assert r.headers["X-Subject-Token"]
    token = r.json()["token"]
    assert token["project"]["name"] == "team-a"
    assert [role["name"] for role in token["roles"]] == ["member"]
    services = {entry["type"]: entry for entry in token["catalog"]}
    assert {"identity", "compute", "network", "image"} <= set(services)
    for kind in ("compute", "network", "image"):
        regions = {e["region_id"] for e in services[kind]["endpoints"]}
        assert regions == set(sim.regions)
        assert all(e["region"] == e["region_id"] for e in services[kind]["endpoints"])
    compute = [e for e in services["compute"]["endpoints"] if e["interface"] == "public"]
    assert {e["url"] for e in compute} == {f"{sim.base_url}/{r}/compute/v2.1" for r in sim.regions}


def test_scoped_by_id_unscoped_and_validation(sim, member):
    project_id = member.current_project_id
    scoped = requests.post(
        f"{sim.base_url}/v3/auth/tokens",
        json=password_auth("portal", MEMBER_PASSWORD, {"project": {"id": project_id}}),
        timeout=5,
    )
    assert scoped.json()["token"]["project"]["id"] == project_id
    unscoped = requests.post(
        f"{sim.base_url}/v3/auth/tokens", json=password_auth("portal", MEMBER_PASSWORD), timeout=5
    )
    assert unscoped.status_code == 201
    assert "catalog" not in unscoped.json()["token"]
    token = scoped.headers["X-Subject-Token"]
    check = requests.get(
        f"{sim.base_url}/v3/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=5,
    )
    assert check.status_code == 200
    assert check.headers["X-Subject-Token"] == token
    assert check.json()["token"]["project"]["id"] == project_id


def test_wrong_password_and_foreign_project_are_401(sim):
    wrong = requests.post(
        f"{sim.base_url}/v3/auth/tokens", json=password_auth("portal", "nope"), timeout=5
    )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "code": 401,
            "message": "The request you have made requires authentication.",
            "title": "Unauthorized",
        }
    }
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    foreign = requests.post(
        f"{sim.base_url}/v3/auth/tokens", json=password_auth("portal", MEMBER_PASSWORD, scope),
        timeout=5,
    )  # fmt: skip
    assert foreign.status_code == 401


def test_admin_creates_projects_members_may_not(sim, admin, member):
    project = admin.identity.create_project(name="created-by-admin", domain_id="default")
    assert admin.identity.find_project("created-by-admin", domain_id="default").id == project.id
    response = member.identity.post("/projects", json={"project": {"name": "sneaky"}})
    assert response.status_code == 403
    duplicate = admin.identity.post(
        "/projects", json={"project": {"name": "created-by-admin", "domain_id": "default"}}
    )
    assert duplicate.status_code == 409
    assert {p.name for p in member.identity.user_projects(member.current_user_id)} == {
        "team-a",
        "team-b",
    }
    assert ADMIN_PASSWORD  # the admin cloud logs in with the plugin's admin password
