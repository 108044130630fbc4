"""Glance v2 subset: version discovery and the seeded images (list, get, filters, pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cloudsim.app import CloudSim
from cloudsim.web import ApiError, Request, Response, Router

VERSIONS = ["2.17", "2.16", "2.15", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7", "2.6",
            "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"]  # fmt: skip
FILTERS = ("name", "status", "visibility", "owner", "container_format", "disk_format", "os_hidden")


def versions(sim: CloudSim, req: Request) -> Response:
    href = f"{req.base_url}/{req.region}/image/v2/"
    items = [
        {"id": f"v{v}", "status": "CURRENT" if i == 0 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for i, v in enumerate(VERSIONS)
    ]  # fmt: skip
    return Response(300 if req.path.rstrip("/").endswith("image") else 200, {"versions": items})


def image_view(image: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in image.items() if not k.startswith("_")}
    out["self"] = f"/v2/images/{image['id']}"
    out["file"] = f"/v2/images/{image['id']}/file"
    out["schema"] = "/v2/schemas/image"
    return out


def visible(image: dict[str, Any], req: Request) -> bool:
    if req.ctx.is_admin or image.get("visibility") in ("public", "community"):
        return True
    return image.get("owner") == req.ctx.project_id or image.get("visibility") == "shared"


def list_images(sim: CloudSim, req: Request) -> Response:
    images = [i for i in sim.store.list("image", region=req.region) if visible(i, req)]
    for key in FILTERS:
        value = req.arg(key)
        if value is not None:
            images = [i for i in images if str(i.get(key)).lower() == value.lower()]
    if req.arg("tag"):
        images = [i for i in images if set(req.args("tag")) <= set(i.get("tags", []))]
    images.sort(key=lambda i: (i["created_at"], i["id"]), reverse=True)
    marker = req.arg("marker")
    if marker:
        ids = [i["id"] for i in images]
        if marker not in ids:
            raise ApiError.glance(400, f"marker [{marker}] not found")
        images = images[ids.index(marker) + 1 :]
    limit = int(req.arg("limit") or 25)
    page = images[:limit]
    body: dict[str, Any] = {
        "images": [image_view(i) for i in page],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if len(images) > limit:
        params = {k: v[-1] for k, v in req.query.items() if k != "marker"}
        params["marker"] = page[-1]["id"]
        body["next"] = f"/v2/images?{urlencode(params)}"
    return Response(200, body)


def get_image(sim: CloudSim, req: Request, image_id: str) -> Response:
    image = sim.store.get("image", f"{req.region}/{image_id}")
    if not image or not visible(image, req):
        raise ApiError.glance(404, f"No image found with ID {image_id}")
    return Response(200, image_view(image))


def register(router: Router) -> None:
    router.add("GET", "image", "/", "image.versions", versions)
    router.add("GET", "image", "/versions", "image.versions", versions)
    router.add("GET", "image", "/v2/images", "image.image.list", list_images)
    router.add("GET", "image", "/v2/images/{image_id}", "image.image.get", get_image)
