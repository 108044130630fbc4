"""What every rendered overlay and the Dockerfile must hold, as functions that list the problems
they find (an empty list: none), so each rule is tested on the real manifests and on a hand-made
bad one alike."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kustomize"
OVERLAYS = sorted(p.parent for p in (KUSTOMIZE / "overlays").glob("*/kustomization.yaml"))
SECRET_KEYS_FILE = KUSTOMIZE / "base" / "portal-secrets.example.env"
CONFIG_MAP, SECRET = "portal-config", "portal-secrets"
#: The Python modules whose environment reads the manifests must wire.
SETTINGS_MODULES = (ROOT / "portal" / "settings.py", ROOT / "portal" / "production.py")

Manifest = dict


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(overlay: Path) -> list[Manifest]:
    """``kubectl kustomize`` of one overlay, parsed (kustomize's deprecation notes go to stderr)."""
    out = subprocess.run(
        [kubectl() or "kubectl", "kustomize", str(overlay)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def settings_env_names(paths: tuple[Path, ...] = SETTINGS_MODULES) -> set[str]:
    """Every name the settings read with ``env.<cast>("NAME", ...)``, over several lines too."""
    pattern = re.compile(r"\benv\.\w+\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")
    return {name for path in paths for name in pattern.findall(path.read_text())}


def secret_keys(path: Path = SECRET_KEYS_FILE) -> set[str]:
    """The Secret's keys, as its example file lists them (commented out: optional)."""
    pattern = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(path.read_text()))


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m.get("kind") == kind]


def component(manifest: Manifest) -> str:
    return manifest["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(``Kind/name``, pod spec) of every workload: Deployments, Jobs, CronJobs."""
    for m in manifests:
        name = f"{m['kind']}/{m['metadata']['name']}"
        if m["kind"] in ("Deployment", "Job"):
            yield name, m["spec"]["template"]["spec"]
        elif m["kind"] == "CronJob":
            yield name, m["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def resource_problems(manifests: list[Manifest]) -> list[str]:
    problems = []
    for name, spec in pod_specs(manifests):
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for what in ("cpu", "memory"):
                    if what not in res.get(kind, {}):
                        problems.append(f"{name} container {c['name']}: no {kind}.{what}")
    return problems


def security_problems(manifests: list[Manifest]) -> list[str]:
    """Non-root with a numeric uid, no privilege, no escalation, read-only root."""
    problems = []
    for name, spec in pod_specs(manifests):
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if not isinstance(pod.get("runAsUser"), int) or pod["runAsUser"] == 0:
            problems.append(f"{name}: runAsUser is not a non-zero number")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{name}: shares a host namespace")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            where = f"{name} container {c['name']}"
            if sc.get("privileged", False):
                problems.append(f"{where}: privileged")
            if sc.get("allowPrivilegeEscalation", True):
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if sc.get("runAsUser") == 0:
                problems.append(f"{where}: runs as root")
    return problems


def web_probe_problems(manifests: list[Manifest]) -> list[str]:
    webs = [d for d in of_kind(manifests, "Deployment") if component(d) == "web"]
    if len(webs) != 1:
        return [f"{len(webs)} web Deployments, want 1"]
    problems = []
    container = webs[0]["spec"]["template"]["spec"]["containers"][0]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        got = container.get(probe, {}).get("httpGet", {}).get("path")
        if got != path:
            problems.append(f"web {probe} asks {got!r}, want {path!r}")
    if "startupProbe" not in container:
        problems.append("web has no startupProbe")
    return problems + web_metrics_problems(container)


def web_metrics_problems(container: dict) -> list[str]:
    """gunicorn's processes share their HTTP metrics through files in PROMETHEUS_MULTIPROC_DIR,
    which must be on a writable volume (the root filesystem is read-only); without it each
    scrape sees one process's counters."""
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    where = env.get("PROMETHEUS_MULTIPROC_DIR")
    if not where:
        return ["web: PROMETHEUS_MULTIPROC_DIR is not set"]
    mounts = [m["mountPath"].rstrip("/") for m in container.get("volumeMounts", [])]
    if not any(where == m or where.startswith(m + "/") for m in mounts):
        return [f"web: PROMETHEUS_MULTIPROC_DIR {where} is not on a writable volume"]
    return []


def background_probe_problems(manifests: list[Manifest]) -> list[str]:
    """Workers and beat check themselves with ``manage.py health``; beat requires its schedule."""
    problems = []
    for d in of_kind(manifests, "Deployment"):
        if component(d) not in ("worker", "beat"):
            continue
        container = d["spec"]["template"]["spec"]["containers"][0]
        command = container.get("livenessProbe", {}).get("exec", {}).get("command", [])
        if command[:3] != ["python", "manage.py", "health"]:
            problems.append(f"{d['metadata']['name']}: liveness is not manage.py health")
        elif component(d) == "beat" and "schedule" not in command:
            problems.append(f"{d['metadata']['name']}: liveness does not require the schedule")
    return problems


def beat_problems(manifests: list[Manifest]) -> list[str]:
    beats = [d for d in of_kind(manifests, "Deployment") if component(d) == "beat"]
    if len(beats) != 1:
        return [f"{len(beats)} beat Deployments, want exactly 1"]
    beat, problems = beats[0], []
    if beat["spec"].get("replicas") != 1:
        problems.append(f"beat replicas {beat['spec'].get('replicas')!r}, want 1")
    if beat["spec"].get("strategy", {}).get("type") != "Recreate":
        problems.append("beat strategy is not Recreate")
    name = beat["metadata"]["name"]
    for hpa in of_kind(manifests, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            problems.append(f"HorizontalPodAutoscaler {hpa['metadata']['name']} scales beat")
    for pdb in of_kind(manifests, "PodDisruptionBudget"):
        labels = pdb["spec"]["selector"].get("matchLabels", {})
        if labels.get("app.kubernetes.io/component") == "beat":
            problems.append(f"PodDisruptionBudget {pdb['metadata']['name']} covers beat")
    return problems


def _deployment_named(manifests: list[Manifest], wanted: str) -> str | None:
    for d in of_kind(manifests, "Deployment"):
        if component(d) == wanted:
            return d["metadata"]["name"]
    return None


def scaling_problems(manifests: list[Manifest]) -> list[str]:
    """HorizontalPodAutoscalers and PodDisruptionBudgets for web and worker."""
    problems = []
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(manifests, "HorizontalPodAutoscaler")
    }
    for h in of_kind(manifests, "HorizontalPodAutoscaler"):
        if h["apiVersion"] != "autoscaling/v2":
            problems.append(f"HorizontalPodAutoscaler {h['metadata']['name']}: not autoscaling/v2")
    budgets = {
        p["spec"]["selector"].get("matchLabels", {}).get("app.kubernetes.io/component")
        for p in of_kind(manifests, "PodDisruptionBudget")
    }
    for wanted in ("web", "worker"):
        name = _deployment_named(manifests, wanted)
        if name is None:
            problems.append(f"no {wanted} Deployment")
            continue
        if name not in targets:
            problems.append(f"no HorizontalPodAutoscaler for {name}")
        if wanted not in budgets:
            problems.append(f"no PodDisruptionBudget for {wanted}")
        deployment = next(d for d in of_kind(manifests, "Deployment") if component(d) == wanted)
        if "replicas" in deployment["spec"]:
            problems.append(f"{name} sets replicas, which its autoscaler owns")
    return problems


def job_problems(manifests: list[Manifest]) -> list[str]:
    jobs = [j for j in of_kind(manifests, "Job") if component(j) == "migrate"]
    if len(jobs) != 1:
        return [f"{len(jobs)} migrations Jobs, want 1"]
    job, problems = jobs[0], []
    command = " ".join(
        job["spec"]["template"]["spec"]["containers"][0].get("command", [])
        + job["spec"]["template"]["spec"]["containers"][0].get("args", [])
    )
    if "manage.py migrate --noinput" not in command:
        problems.append(f"the migrations Job runs {command!r}")
    for field in ("backoffLimit", "ttlSecondsAfterFinished"):
        if field not in job["spec"]:
            problems.append(f"the migrations Job has no {field}")
    return problems


def network_policy_problems(manifests: list[Manifest]) -> list[str]:
    policies = of_kind(manifests, "NetworkPolicy")
    deny = [
        p for p in policies
        if p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes", [])) >= {"Ingress", "Egress"}
        and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]  # fmt: skip
    problems = [] if deny else ["no default-deny NetworkPolicy (ingress and egress)"]
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            if not rule.get("from"):
                problems.append(f"NetworkPolicy {p['metadata']['name']} admits any source")
    return problems


def env_wiring_problems(manifests: list[Manifest], names: set[str], secret: set[str]) -> list[str]:
    """Every setting's name in the ConfigMap or the Secret, and every workload reads both."""
    maps = [m for m in of_kind(manifests, "ConfigMap") if m["metadata"]["name"] == CONFIG_MAP]
    if len(maps) != 1:
        return [f"{len(maps)} ConfigMaps named {CONFIG_MAP}, want 1"]
    config = set(maps[0].get("data", {}))
    problems = [
        f"{n}: neither in the ConfigMap nor in the Secret" for n in sorted(names - config - secret)
    ]
    problems += [f"{n}: both in the ConfigMap and in the Secret" for n in sorted(config & secret)]
    for name, spec in pod_specs(manifests):
        for c in spec["containers"]:
            sources = {
                (kind, ref["name"])
                for source in c.get("envFrom", [])
                for kind, ref in source.items()
            }
            for wanted in (("configMapRef", CONFIG_MAP), ("secretRef", SECRET)):
                if wanted not in sources:
                    problems.append(
                        f"{name} container {c['name']}: no envFrom {wanted[0]} {wanted[1]}"
                    )
    return problems


def image_problems(manifests: list[Manifest]) -> list[str]:
    """One image, one tag (never latest, never none) for every workload of an overlay."""
    images = {c["image"] for _, spec in pod_specs(manifests) for c in spec["containers"]}
    problems = [] if len(images) == 1 else [f"several images: {sorted(images)}"]
    for image in images:
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        if not tag or tag == "latest":
            problems.append(f"{image}: no fixed tag")
    return problems


def all_problems(manifests: list[Manifest], names: set[str], secret: set[str]) -> list[str]:
    return (
        resource_problems(manifests) + security_problems(manifests)
        + web_probe_problems(manifests) + background_probe_problems(manifests)
        + beat_problems(manifests) + scaling_problems(manifests) + job_problems(manifests)
        + network_policy_problems(manifests) + env_wiring_problems(manifests, names, secret)
        + image_problems(manifests)
    )  # fmt: skip
