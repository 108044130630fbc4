"""Keystone v3 subset: version discovery, password tokens with a catalog, projects, users, roles."""

from __future__ import annotations

import time
from typing import Any

from cloudsim.app import AuthContext, CloudSim, iso, new_id
from cloudsim.web import ApiError, Request, Response, Router

TOKEN_LIFETIME = 24 * 3600
UNAUTHORIZED = "The request you have made requires authentication."
SERVICE_NAMES = {"compute": "nova", "network": "neutron", "image": "glance"}


def version_doc(req: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{req.base_url}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


def versions(sim: CloudSim, req: Request) -> Response:
    return Response(300, {"versions": {"values": [version_doc(req)]}})


def version(sim: CloudSim, req: Request) -> Response:
    return Response(200, {"version": version_doc(req)})


# ---- lookups -----------------------------------------------------------------------------
def find_domain(sim: CloudSim, ref: dict[str, Any] | None) -> dict[str, Any]:
    ref = ref or {"id": "default"}
    if "id" in ref:
        domain = sim.store.get("domain", ref["id"])
    else:
        domain = next((d for d in sim.store.list("domain") if d["name"] == ref.get("name")), None)
    if not domain:
        raise ApiError.keystone(401, UNAUTHORIZED)
    return domain


def find_project(sim: CloudSim, ref: dict[str, Any]) -> dict[str, Any] | None:
    if "id" in ref:
        return sim.store.get("project", ref["id"])
    domain = find_domain(sim, ref.get("domain"))
    return next(
        (
            p
            for p in sim.store.list("project")
            if p["name"] == ref.get("name") and p["domain_id"] == domain["id"]
        ),
        None,
    )


def roles_on(sim: CloudSim, user_id: str, project_id: str) -> list[dict[str, Any]]:
    role_ids = {
        a["role_id"]
        for a in sim.store.list("assignment")
        if a["user_id"] == user_id and a["project_id"] == project_id
    }
    return [r for r in sim.store.list("role") if r["id"] in role_ids]


def public(obj: dict[str, Any], req: Request, collection: str) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "password"}
    out["links"] = {"self": f"{req.base_url}/v3/{collection}/{obj['id']}"}
    return out


def catalog(sim: CloudSim, req: Request, project_id: str = "") -> list[dict[str, Any]]:
    """The token's catalog. Cinder is listed twice, as the lab's Keystone lists it: `cinder`
    (type `block-storage`, `.../v3`, what openstacksdk and the CLI use) and `cinderv3` (type
    `volumev3`, `.../v3/<project id>`, Nova's default `catalog_info`); Keystone substitutes
    the project id of the token into the second."""
    entries = []
    identity = []
    for region in sim.regions:
        identity.append(
            {
                "id": f"identity-{region}",
                "interface": "public",
                "region_id": region,
                "region": region,
                "url": f"{req.base_url}/v3",
            }
        )
    entries.append(
        {"id": "identity", "type": "identity", "name": "keystone", "endpoints": identity}
    )
    services = [(service, service, name, "") for service, name in SERVICE_NAMES.items()]
    services += [
        ("block-storage", "block-storage", "cinder", "/v3"),
        ("block-storage", "volumev3", "cinderv3", f"/v3/{project_id}"),
    ]
    for prefix, service, name, suffix in services:
        endpoints = []
        for region in sim.regions:
            url = f"{req.base_url}/{region}/{prefix}{suffix}"
            if service == "compute":
                url += "/v2.1"
            for interface in ("public", "internal", "admin"):
                endpoints.append(
                    {
                        "id": f"{service}-{region}-{interface}",
                        "interface": interface,
                        "region_id": region,
                        "region": region,
                        "url": url,
                    }
                )
        entries.append({"id": service, "type": service, "name": name, "endpoints": endpoints})
    return entries


def token_body(sim: CloudSim, req: Request, token: dict[str, Any]) -> dict[str, Any]:
    user = sim.store.get("user", token["user_id"]) or {}
    domain = sim.store.get("domain", user.get("domain_id", "default")) or {}
    body: dict[str, Any] = {
        "methods": token["methods"],
        "user": {
            "domain": {"id": domain.get("id"), "name": domain.get("name")},
            "id": token["user_id"],
            "name": token["user_name"],
            "password_expires_at": None,
        },
        "audit_ids": [token["id"][:22]],
        "expires_at": iso(token["expires"], micro=True),
        "issued_at": iso(token["issued"], micro=True),
    }
    if token.get("project_id"):
        project = sim.store.get("project", token["project_id"]) or {}
        pdomain = sim.store.get("domain", project.get("domain_id", "default")) or {}
        body["project"] = {
            "domain": {"id": pdomain.get("id"), "name": pdomain.get("name")},
            "id": project.get("id"),
            "name": project.get("name"),
        }
        body["is_domain"] = False
        body["roles"] = [{"id": r["id"], "name": r["name"]} for r in token["role_refs"]]
        body["catalog"] = catalog(sim, req, token["project_id"])
    return body


# ---- tokens ------------------------------------------------------------------------------
def issue_token(sim: CloudSim, req: Request) -> Response:
    auth = (req.body or {}).get("auth") or {}
    identity = auth.get("identity") or {}
    methods = identity.get("methods") or []
    user: dict[str, Any] | None = None
    if "password" in methods:
        ref = (identity.get("password") or {}).get("user") or {}
        if "id" in ref:
            user = sim.store.get("user", ref["id"])
        else:
            domain = find_domain(sim, ref.get("domain"))
            user = next(
                (
                    u
                    for u in sim.store.list("user")
                    if u["name"] == ref.get("name") and u["domain_id"] == domain["id"]
                ),
                None,
            )
        if not user or user.get("password") != ref.get("password"):
            raise ApiError.keystone(401, UNAUTHORIZED)
    elif "token" in methods:
        old = sim.store.get("token", (identity.get("token") or {}).get("id", ""))
        if not old or old["expires"] < time.time():
            raise ApiError.keystone(401, UNAUTHORIZED)
        user = sim.store.get("user", old["user_id"])
    if not user:
        raise ApiError.keystone(401, UNAUTHORIZED)
    scope = auth.get("scope") or {}
    project = None
    role_refs: list[dict[str, Any]] = []
    if "project" in scope:
        project = find_project(sim, scope["project"])
        if not project:
            raise ApiError.keystone(401, UNAUTHORIZED)
        role_refs = roles_on(sim, user["id"], project["id"])
        if not role_refs:
            raise ApiError.keystone(401, UNAUTHORIZED)
    now = time.time()
    token = {
        "id": "gAAAA" + new_id(hex_=True) + new_id(hex_=True),
        "user_id": user["id"],
        "user_name": user["name"],
        "project_id": project["id"] if project else None,
        "project_name": project["name"] if project else None,
        "roles": [r["name"] for r in role_refs],
        "role_refs": [{"id": r["id"], "name": r["name"]} for r in role_refs],
        "methods": methods,
        "issued": now,
        "expires": now + TOKEN_LIFETIME,
    }
    sim.store.put("token", token)
    return Response(201, {"token": token_body(sim, req, token)}, {"X-Subject-Token": token["id"]})


def validate_token(sim: CloudSim, req: Request) -> Response:
    caller_token(sim, req)
    subject = sim.store.get("token", req.header("x-subject-token"))
    if not subject or subject["expires"] < time.time():
        raise ApiError.keystone(404, "Could not find token.")
    return Response(
        200, {"token": token_body(sim, req, subject)}, {"X-Subject-Token": subject["id"]}
    )


def revoke_token(sim: CloudSim, req: Request) -> Response:
    caller_token(sim, req)
    if not sim.store.delete("token", req.header("x-subject-token")):
        raise ApiError.keystone(404, "Could not find token.")
    return Response(204)


def caller_token(sim: CloudSim, req: Request) -> AuthContext:
    req.service = "identity"
    return sim.authenticate(req)


def require_admin(sim: CloudSim, req: Request) -> AuthContext:
    ctx = caller_token(sim, req)
    if not ctx.is_admin:
        raise ApiError.keystone(
            403, "You are not authorized to perform the requested action: identity."
        )
    return ctx


def register(router: Router) -> None:
    from cloudsim.identity_admin import (
        assign_role,
        check_role,
        create_project,
        create_user,
        delete_project,
        get_project,
        get_simple,
        list_projects,
        list_role_assignments,
        list_simple,
        user_projects,
    )

    add = router.add
    add("GET", "identity", "/", "identity.versions", versions)
    add("GET", "identity", "/v3", "identity.version", version)
    add("POST", "identity", "/v3/auth/tokens", "identity.token.create", issue_token)
    add("GET", "identity", "/v3/auth/tokens", "identity.token.get", validate_token)
    add("DELETE", "identity", "/v3/auth/tokens", "identity.token.delete", revoke_token)
    add("GET", "identity", "/v3/projects", "identity.project.list", list_projects)
    add("POST", "identity", "/v3/projects", "identity.project.create", create_project)
    add("GET", "identity", "/v3/projects/{project_id}", "identity.project.get", get_project)
    add(
        "DELETE", "identity", "/v3/projects/{project_id}", "identity.project.delete", delete_project
    )
    add("GET", "identity", "/v3/domains", "identity.domain.list", list_simple("domain", "domains"))
    add("GET", "identity", "/v3/domains/{obj_id}", "identity.domain.get",
        get_simple("domain", "domains", "domain"))  # fmt: skip
    add("GET", "identity", "/v3/users", "identity.user.list", list_simple("user", "users"))
    add("POST", "identity", "/v3/users", "identity.user.create", create_user)
    add("GET", "identity", "/v3/users/{obj_id}", "identity.user.get",
        get_simple("user", "users", "user"))  # fmt: skip
    add("GET", "identity", "/v3/users/{user_id}/projects", "identity.user.projects",
        user_projects)  # fmt: skip
    add("GET", "identity", "/v3/auth/projects", "identity.user.projects", user_projects)
    add("GET", "identity", "/v3/roles", "identity.role.list", list_simple("role", "roles"))
    add("GET", "identity", "/v3/role_assignments", "identity.role_assignment.list",
        list_role_assignments)  # fmt: skip
    path = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"
    add("PUT", "identity", path, "identity.role.assign", assign_role)
    add("HEAD", "identity", path, "identity.role.check", check_role)
    add("GET", "identity", path, "identity.role.check", check_role)
