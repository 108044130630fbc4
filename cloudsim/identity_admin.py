"""Keystone v3 administration subset: projects, domains, users, roles and assignments."""

from __future__ import annotations

from cloudsim.app import CloudSim, new_id
from cloudsim.identity import caller_token, find_project, public, require_admin
from cloudsim.web import ApiError, Request, Response


def list_projects(sim: CloudSim, req: Request) -> Response:
    ctx = caller_token(sim, req)
    projects = sim.store.list("project")
    if not ctx.is_admin:
        mine = {
            a["project_id"] for a in sim.store.list("assignment") if a["user_id"] == ctx.user_id
        }
        projects = [p for p in projects if p["id"] in mine]
    for key in ("name", "domain_id", "parent_id"):
        if req.arg(key) is not None:
            projects = [p for p in projects if p.get(key) == req.arg(key)]
    items = [public(p, req, "projects") for p in projects]
    return Response(200, {"projects": items, "links": {"self": f"{req.base_url}/v3/projects"}})


def user_projects(sim: CloudSim, req: Request, user_id: str = "") -> Response:
    """GET /v3/users/{id}/projects and /v3/auth/projects: the projects a user has a role on."""
    ctx = caller_token(sim, req)
    user_id = user_id or ctx.user_id
    if user_id != ctx.user_id and not ctx.is_admin:
        raise ApiError.keystone(
            403, "You are not authorized to perform the requested action: identity."
        )
    mine = {a["project_id"] for a in sim.store.list("assignment") if a["user_id"] == user_id}
    items = [public(p, req, "projects") for p in sim.store.list("project") if p["id"] in mine]
    return Response(200, {"projects": items, "links": {"self": f"{req.base_url}/v3/projects"}})


def create_project(sim: CloudSim, req: Request) -> Response:
    require_admin(sim, req)
    data = (req.body or {}).get("project") or {}
    if not data.get("name"):
        raise ApiError.keystone(400, "Invalid input for field 'name': None is not of type 'string'")
    domain_id = data.get("domain_id") or "default"
    if not sim.store.get("domain", domain_id):
        raise ApiError.keystone(400, f"Could not find domain: {domain_id}.")
    existing = find_project(sim, {"name": data["name"], "domain": {"id": domain_id}})
    if existing:
        raise ApiError.keystone(
            409,
            "Conflict occurred attempting to store project - it is not permitted to have two "
            "projects with either the same name or same id in the same domain: name is "
            f"{data['name']}, project id {existing['id']}.",
        )
    project = {
        "id": new_id(hex_=True),
        "name": data["name"],
        "domain_id": domain_id,
        "description": data.get("description", ""),
        "enabled": data.get("enabled", True),
        "is_domain": False,
        "parent_id": domain_id,
        "tags": data.get("tags", []),
        "options": {},
    }
    sim.store.put("project", project)
    return Response(201, {"project": public(project, req, "projects")})


def get_project(sim: CloudSim, req: Request, project_id: str) -> Response:
    ctx = caller_token(sim, req)
    project = sim.store.get("project", project_id)
    if project and (ctx.is_admin or ctx.project_id == project_id):
        return Response(200, {"project": public(project, req, "projects")})
    if project:
        raise ApiError.keystone(
            403, "You are not authorized to perform the requested action: identity:get_project."
        )
    raise ApiError.keystone(404, f"Could not find project: {project_id}.")


def delete_project(sim: CloudSim, req: Request, project_id: str) -> Response:
    require_admin(sim, req)
    if not sim.store.delete("project", project_id):
        raise ApiError.keystone(404, f"Could not find project: {project_id}.")
    return Response(204)


def list_simple(kind: str, collection: str):
    def handler(sim: CloudSim, req: Request) -> Response:
        caller_token(sim, req)
        items = sim.store.list(kind)
        for key in ("name", "domain_id"):
            if req.arg(key) is not None:
                items = [i for i in items if i.get(key) == req.arg(key)]
        return Response(200, {collection: [public(i, req, collection) for i in items]})

    return handler


def get_simple(kind: str, collection: str, label: str):
    def handler(sim: CloudSim, req: Request, obj_id: str) -> Response:
        caller_token(sim, req)
        obj = sim.store.get(kind, obj_id)
        if not obj:
            raise ApiError.keystone(404, f"Could not find {label}: {obj_id}.")
        return Response(200, {collection[:-1]: public(obj, req, collection)})

    return handler


def create_user(sim: CloudSim, req: Request) -> Response:
    require_admin(sim, req)
    data = (req.body or {}).get("user") or {}
    user = {
        "id": new_id(hex_=True),
        "name": data.get("name"),
        "domain_id": data.get("domain_id") or "default",
        "enabled": data.get("enabled", True),
        "password": data.get("password"),
        "password_expires_at": None,
        "options": {},
    }
    sim.store.put("user", user)
    return Response(201, {"user": public(user, req, "users")})


def assign_role(
    sim: CloudSim, req: Request, project_id: str, user_id: str, role_id: str
) -> Response:
    require_admin(sim, req)
    for kind, obj_id in (("project", project_id), ("user", user_id), ("role", role_id)):
        if not sim.store.get(kind, obj_id):
            raise ApiError.keystone(404, f"Could not find {kind}: {obj_id}.")
    assignment_id = f"{user_id}:{project_id}:{role_id}"
    sim.store.put(
        "assignment",
        {"id": assignment_id, "user_id": user_id, "project_id": project_id, "role_id": role_id},
    )
    return Response(204)


def check_role(
    sim: CloudSim, req: Request, project_id: str, user_id: str, role_id: str
) -> Response:
    caller_token(sim, req)
    if not sim.store.get("assignment", f"{user_id}:{project_id}:{role_id}"):
        raise ApiError.keystone(404, f"Could not find role assignment: {role_id}.")
    return Response(204)


def list_role_assignments(sim: CloudSim, req: Request) -> Response:
    require_admin(sim, req)
    items = sim.store.list("assignment")
    if req.arg("user.id"):
        items = [a for a in items if a["user_id"] == req.arg("user.id")]
    if req.arg("scope.project.id"):
        items = [a for a in items if a["project_id"] == req.arg("scope.project.id")]
    if req.arg("role.id"):
        items = [a for a in items if a["role_id"] == req.arg("role.id")]
    out = [
        {
            "role": {"id": a["role_id"]},
            "user": {"id": a["user_id"]},
            "scope": {"project": {"id": a["project_id"]}},
            "links": {"assignment": f"{req.base_url}/v3/projects/{a['project_id']}"},
        }
        for a in items
    ]
    return Response(200, {"role_assignments": out})
