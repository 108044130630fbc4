"""Per-region, per-project quotas (compute, network, volume) with the upstream defaults (seed may
override them)."""

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

#: Cinder's global keys (per-type keys, default -1, are added by cloudsim.block_storage_quota).
VOLUME_DEFAULTS = {
    "volumes": 10,
    "per_volume_gigabytes": -1,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
    "groups": 10,
}
DEFAULTS = {"compute": COMPUTE_DEFAULTS, "network": NETWORK_DEFAULTS, "volume": VOLUME_DEFAULTS}


def defaults(sim: Any, service: str) -> dict[str, int]:
    base = dict(DEFAULTS[service])
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
