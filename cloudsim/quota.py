"""Per-region, per-project quotas with the upstream defaults (seed may override them)."""

from __future__ import annotations

from typing import Any

COMPUTE_DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "key_pairs": 100,
    "metadata_items": 128,
    "server_groups": 10,
    "server_group_members": 10,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
}
NETWORK_DEFAULTS = {
    "network": 100,
    "subnet": 100,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
    "subnetpool": -1,
}


def defaults(sim: Any, service: str) -> dict[str, int]:
    base = dict(COMPUTE_DEFAULTS if service == "compute" else NETWORK_DEFAULTS)
    base.update((sim.seed.get("quotas") or {}).get(service) or {})
    return base


def limits(sim: Any, region: str, project_id: str, service: str) -> dict[str, int]:
    values = defaults(sim, service)
    stored = sim.store.get("quota", f"{region}/{project_id}") or {}
    values.update(stored.get(service) or {})
    return values


def update(
    sim: Any, region: str, project_id: str, service: str, changes: dict[str, Any]
) -> dict[str, int]:
    """Apply changes (unknown keys are the caller's problem to reject) and return the limits."""
    key = f"{region}/{project_id}"
    stored = sim.store.get("quota", key) or {"id": key}
    section = dict(stored.get(service) or {})
    section.update({k: int(v) for k, v in changes.items()})
    stored[service] = section
    sim.store.put("quota", stored, region=region, project_id=project_id, key=key)
    return limits(sim, region, project_id, service)


def allows(limit: int, used: int, requested: int) -> bool:
    return limit < 0 or used + requested <= limit
