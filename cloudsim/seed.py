"""The seed (regions, identities, flavors, images, external network) and clouds.yaml writers.

A seed is a YAML/JSON mapping; everything in it is optional:

    regions: [brussels-unclass, mons-secret]        # one endpoint set per region
    domains: [{name: Default, id: default}]
    roles: [admin, member, reader]
    projects: [{name: admin}, {name: team-a, domain: Default, description: ...}]
    users:
      - {name: portal, password: portal-pw, domain: Default,
         roles: {admin: [admin, member], team-a: [member]}}   # project name -> role names
    flavors: [{id: "1", name: m1.tiny, vcpus: 1, ram: 512, disk: 1}]
    images: [{name: debian-12, disk_format: qcow2, min_disk: 2}]
    external_network: {name: public, cidr: 172.24.4.0/24}    # in every region
    volume_types: [{name: lvmdriver-1, extra_specs: {volume_backend_name: lvmdriver-1}}]
    quotas: {compute: {instances: 10}, network: {network: 100}, volume: {gigabytes: 1000}}

Volume types are added to Cinder's own `__DEFAULT__` (always there, the default unless a type
says `default: true`). Seeded objects get ids derived from their names, so they keep their ids
across a reset or a restart with the same seed. Applying a seed only adds what is missing (and
resets the passwords of the users it names); it never deletes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from cloudsim.app import iso, stable_id
from cloudsim.block_storage import seed_volume_types

DEFAULT_SEED: dict[str, Any] = {
    "regions": ["RegionOne"],
    "domains": [{"name": "Default", "id": "default"}],
    "roles": ["admin", "member", "reader"],
    "projects": [{"name": "admin"}, {"name": "demo"}, {"name": "demo-b"}],
    "users": [
        {"name": "admin", "password": "admin", "roles": {"admin": ["admin", "member"]}},
        {"name": "demo", "password": "demo", "roles": {"demo": ["member"], "demo-b": ["member"]}},
    ],
    "flavors": [
        {"id": "42", "name": "m1.nano", "vcpus": 1, "ram": 128, "disk": 1},
        {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
        {"id": "2", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
        {"id": "3", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40},
        {"id": "4", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80},
    ],
    "images": [
        {"name": "cirros-0.6.2", "disk_format": "qcow2", "size": 21430272},
        {"name": "debian-12", "disk_format": "qcow2", "min_disk": 2, "size": 374669312},
    ],
    "external_network": {"name": "public", "cidr": "172.24.4.0/24"},
    # The lab's Cinder has only its built-in `__DEFAULT__`; devstack adds `lvmdriver-1`.
    "volume_types": [
        {"name": "__DEFAULT__", "description": "Default Volume Type", "default": True},
        {"name": "lvmdriver-1", "extra_specs": {"volume_backend_name": "lvmdriver-1"}},
    ],
}


def load_seed(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Read a seed file, or return the default seed when no path is given."""
    if not path:
        return dict(DEFAULT_SEED)
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    merged = dict(DEFAULT_SEED)
    merged.update(data)
    return merged


def write_seed(
    path: str | os.PathLike[str],
    *,
    regions: list[str],
    projects: list[str | dict[str, Any]],
    users: list[dict[str, Any]],
    flavors: list[dict[str, Any]] | None = None,
    images: list[dict[str, Any]] | None = None,
    quotas: dict[str, dict[str, int]] | None = None,
    domains: list[dict[str, Any]] | None = None,
    volume_types: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write a seed file for `python -m cloudsim --seed PATH` and return what was written.

    `projects` are names or {name, domain, description}; `users` are
    {name, password, domain?, roles: {project name: [role, ...]}}. Flavors and images default to
    the built-in ones so the portal's catalog sync has something to find.
    """
    seed: dict[str, Any] = {
        "regions": list(regions),
        "domains": domains or DEFAULT_SEED["domains"],
        "roles": DEFAULT_SEED["roles"],
        "projects": [p if isinstance(p, dict) else {"name": p} for p in projects],
        "users": users,
        "flavors": flavors or DEFAULT_SEED["flavors"],
        "images": images or DEFAULT_SEED["images"],
        "external_network": DEFAULT_SEED["external_network"],
        "volume_types": volume_types or DEFAULT_SEED["volume_types"],
    }
    if quotas:
        seed["quotas"] = quotas
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(seed, sort_keys=False), encoding="utf-8")
    return seed


def cloud_entry(
    base_url: str,
    region: str,
    *,
    username: str,
    password: str,
    project_name: str,
    user_domain: str = "Default",
    project_domain: str = "Default",
) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": f"{base_url.rstrip('/')}/v3",
            "username": username,
            "password": password,
            "project_name": project_name,
            "user_domain_name": user_domain,
            "project_domain_name": project_domain,
        },
        "region_name": region,
        "interface": "public",
        "identity_api_version": 3,
    }


def write_clouds_yaml(
    path: str | os.PathLike[str],
    base_url: str,
    regions: list[str],
    *,
    username: str,
    password: str,
    project_name: str,
    user_domain: str = "Default",
    project_domain: str = "Default",
    prefix: str = "",
    extra: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write a clouds.yaml with one cloud per region (named `<prefix><region>`).

    Entries already in the file under other names are kept, so the portal's operators can keep
    real clouds next to the simulated ones. `extra` adds more named entries verbatim.
    """
    target = Path(path)
    existing: dict[str, Any] = {}
    if target.exists():
        existing = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    clouds = dict(existing.get("clouds") or {})
    for region in regions:
        clouds[f"{prefix}{region}"] = cloud_entry(
            base_url, region, username=username, password=password, project_name=project_name,
            user_domain=user_domain, project_domain=project_domain,
        )  # fmt: skip
    clouds.update(extra or {})
    doc = {"clouds": clouds}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return doc


def project_id_for(name: str, domain_id: str = "default") -> str:
    """The id cloudsim gives a seeded project, so the portal can store it before cloudsim runs."""
    return stable_id("project", domain_id, name, hex_=True)


def write_demo_files(
    *,
    seed_path: str | os.PathLike[str],
    clouds_yaml_path: str | os.PathLike[str],
    base_url: str,
    regions: list[str],
    projects: list[str],
    password: str,
    username: str = "portal",
    service_project: str = "portal",
    users: list[dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Everything `make demo` needs from cloudsim, in one call.

    Writes a seed with every region and allocation project and the portal's cloud account
    (`admin` on its own `service_project`, so it can create projects and set quotas, and
    `member` on every allocation project, so it can act in them by project id), plus a
    clouds.yaml with one cloud per region, named after the region. Returns {project name: id}.
    """
    roles: dict[str, list[str]] = {service_project: ["admin", "member"]}
    roles.update({name: ["member"] for name in projects if name != service_project})
    all_projects = [service_project, *[p for p in projects if p != service_project]]
    write_seed(
        seed_path,
        regions=regions,
        projects=all_projects,
        users=[
            {"name": "admin", "password": password, "roles": {service_project: ["admin"]}},
            {"name": username, "password": password, "roles": roles},
            *(users or []),
        ],
    )
    write_clouds_yaml(
        clouds_yaml_path, base_url, regions, username=username, password=password,
        project_name=service_project,
    )  # fmt: skip
    return {name: project_id_for(name) for name in all_projects}


# ---- applying a seed to the store --------------------------------------------------------
def ensure(store: Any, kind: str, obj: dict[str, Any], **where: Any) -> dict[str, Any]:
    key = where.pop("key", None) or obj["id"]
    existing = store.get(kind, key)
    if existing:
        return existing
    store.put(kind, obj, key=key, **where)
    return obj


def apply_seed(sim: Any, seed: dict[str, Any]) -> None:
    """Add every seeded object that is missing (ids derived from names, see module doc)."""
    store = sim.store
    domains = {}
    for d in seed.get("domains") or DEFAULT_SEED["domains"]:
        domain_id = d.get("id") or stable_id("domain", d["name"], hex_=True)
        domains[d["name"]] = ensure(
            store, "domain", {"id": domain_id, "name": d["name"], "enabled": True,
                              "description": d.get("description", "")}
        )  # fmt: skip
    roles = {}
    for name in seed.get("roles") or DEFAULT_SEED["roles"]:
        roles[name] = ensure(
            store, "role", {"id": stable_id("role", name, hex_=True), "name": name}
        )
    projects: dict[str, dict[str, Any]] = {}
    for p in seed.get("projects") or []:
        domain = domains[p.get("domain", "Default")]
        project = {
            "id": p.get("id") or stable_id("project", domain["id"], p["name"], hex_=True),
            "name": p["name"],
            "domain_id": domain["id"],
            "description": p.get("description", ""),
            "enabled": True,
            "is_domain": False,
            "parent_id": domain["id"],
            "tags": [],
            "options": {},
        }
        projects[p["name"]] = ensure(store, "project", project)
    for u in seed.get("users") or []:
        domain = domains[u.get("domain", "Default")]
        user = {
            "id": u.get("id") or stable_id("user", domain["id"], u["name"], hex_=True),
            "name": u["name"],
            "domain_id": domain["id"],
            "password": u["password"],
            "enabled": True,
            "password_expires_at": None,
            "options": {},
        }
        existing = store.get("user", user["id"])
        if existing and existing.get("password") != user["password"]:
            existing["password"] = user["password"]  # the seed owns the passwords it names
            store.put("user", existing)
        user = ensure(store, "user", user)
        for project_name, role_names in (u.get("roles") or {}).items():
            project = projects[project_name]
            for role_name in role_names:
                role = roles[role_name]
                assignment = {
                    "id": f"{user['id']}:{project['id']}:{role['id']}",
                    "user_id": user["id"],
                    "project_id": project["id"],
                    "role_id": role["id"],
                }
                ensure(store, "assignment", assignment)
    admin_project = next(iter(projects.values()), {"id": ""})
    for region in seed.get("regions") or ["RegionOne"]:
        for f in seed.get("flavors") or []:
            flavor = {"ephemeral": 0, "swap": 0, "is_public": True, "description": None, **f}
            flavor["id"] = str(flavor["id"])
            ensure(store, "flavor", flavor, region=region, key=f"{region}/{flavor['id']}")
        for i in seed.get("images") or []:
            image = image_doc(i, admin_project["id"])
            ensure(store, "image", image, region=region, key=f"{region}/{image['id']}")
        ext = seed.get("external_network")
        if ext:
            seed_external_network(sim, region, ext, admin_project["id"])
        seed_volume_types(sim, region, list(seed.get("volume_types") or []))


def image_doc(spec: dict[str, Any], owner: str) -> dict[str, Any]:
    now = iso()
    image = {
        "id": spec.get("id") or stable_id("image", spec["name"]),
        "name": spec["name"],
        "status": "active",
        "visibility": spec.get("visibility", "public"),
        "protected": False,
        "os_hidden": False,
        "container_format": spec.get("container_format", "bare"),
        "disk_format": spec.get("disk_format", "qcow2"),
        "min_disk": spec.get("min_disk", 0),
        "min_ram": spec.get("min_ram", 0),
        "size": spec.get("size", 0),
        "virtual_size": None,
        "checksum": stable_id("checksum", spec["name"], hex_=True),
        "os_hash_algo": "sha512",
        "os_hash_value": stable_id("hash", spec["name"], hex_=True) * 4,
        "owner": owner,
        "created_at": now,
        "updated_at": now,
        "tags": spec.get("tags", []),
    }
    image.update(spec.get("properties") or {})
    return image


def seed_external_network(sim: Any, region: str, ext: dict[str, Any], owner: str) -> None:
    import ipaddress

    net_id = stable_id("external-network", region, ext["name"])
    if sim.store.get("network", net_id):
        return
    now = iso()
    cidr = ipaddress.ip_network(ext["cidr"])
    hosts = list(cidr.hosts())
    subnet_id = stable_id("external-subnet", region, ext["name"])
    common = {"tenant_id": owner, "project_id": owner, "created_at": now, "updated_at": now,
              "revision_number": 0, "_region": region, "description": "", "tags": []}  # fmt: skip
    network = {
        **common,
        "id": net_id,
        "name": ext["name"],
        "admin_state_up": True,
        "status": "ACTIVE",
        "subnets": [subnet_id],
        "shared": False,
        "router:external": True,
        "mtu": 1500,
        "availability_zone_hints": [],
        "availability_zones": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "port_security_enabled": True,
        "qinq": False,
        "vlan_transparent": False,
    }
    subnet = {
        **common,
        "id": subnet_id,
        "name": f"{ext['name']}-subnet",
        "network_id": net_id,
        "ip_version": cidr.version,
        "cidr": str(cidr),
        "gateway_ip": str(hosts[0]),
        "allocation_pools": [{"start": str(hosts[9]), "end": str(hosts[-5])}],
        "host_routes": [],
        "dns_nameservers": [],
        "enable_dhcp": False,
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "subnetpool_id": None,
        "service_types": [],
        "router:external": True,
    }
    sim.store.put("network", network, region=region, project_id=owner)
    sim.store.put("subnet", subnet, region=region, project_id=owner)
