"""Each kustomize overlay renders, and what it renders keeps the rules of docs/deployment.md:
probes, non-root, limits, exactly one beat, every setting wired. The checkers are first shown to
catch a hand-made bad manifest, so a rule that passes on the real ones is not a rule that cannot
fail."""

from __future__ import annotations

import copy

import pytest

from tests.deploy import invariants as inv
from tests.deploy.dockerfile import DOCKERFILE, final_stage_env

needs_kubectl = pytest.mark.skipif(
    inv.kubectl() is None,
    reason="kubectl is not installed (.ci/run installs Debian's kubernetes-client); "
    "the overlays cannot be rendered",
)


@pytest.fixture(scope="module", params=[p.name for p in inv.OVERLAYS])
def rendered(request) -> list[dict]:
    return inv.render(inv.KUSTOMIZE / "overlays" / request.param)


def test_there_are_overlays_to_render():
    assert {p.name for p in inv.OVERLAYS} >= {"staging", "production"}


def test_the_settings_names_are_found():
    """The scan finds calls spread over lines too (CACHE_URL, PORTAL_2FA_REQUIRED_FOR)."""
    names = inv.settings_env_names()
    assert {"DATABASE_URL", "CACHE_URL", "PORTAL_2FA_REQUIRED_FOR", "DJANGO_SECRET_KEY"} <= names
    assert len(names) > 80


def test_the_secret_holds_the_secrets():
    keys = inv.secret_keys()
    assert {"DJANGO_SECRET_KEY", "PORTAL_AUDIT_CHECKPOINT_KEY", "DATABASE_URL",
            "CELERY_BROKER_URL", "PORTAL_LDAP_BIND_PASSWORD", "PORTAL_OIDC_CLIENT_SECRET",
            "EMAIL_HOST_PASSWORD"} <= keys  # fmt: skip


def test_the_secret_example_holds_no_value():
    for line in inv.SECRET_KEYS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert value == "", f"{name} has a value in the example"


@needs_kubectl
def test_every_rule_holds(rendered):
    assert inv.all_problems(rendered, inv.settings_env_names(), inv.secret_keys()) == []


@needs_kubectl
def test_the_configmap_points_at_the_image_s_static_files(rendered):
    config = next(m for m in rendered if m["kind"] == "ConfigMap")
    assert config["data"]["STATIC_ROOT"] == final_stage_env(DOCKERFILE.read_text())["STATIC_ROOT"]


@needs_kubectl
def test_production_has_more_pods_and_larger_limits_than_staging():
    staging, production = (
        inv.render(inv.KUSTOMIZE / "overlays" / name) for name in ("staging", "production")
    )

    def floor(manifests, name):
        return next(h for h in inv.of_kind(manifests, "HorizontalPodAutoscaler")
                    if h["metadata"]["name"] == name)["spec"]["minReplicas"]  # fmt: skip

    for name in ("portal-web", "portal-worker"):
        assert floor(production, name) >= 3 > floor(staging, name)


# --- The checkers catch what they are for -------------------------------------------------


def _deployment(component: str, **spec) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"portal-{component}",
                     "labels": {"app.kubernetes.io/component": component}},
        "spec": {
            **spec,
            "template": {"spec": {
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                "containers": [{
                    "name": component, "image": "registry.example.org/portal:1.0.0",
                    "envFrom": [{"configMapRef": {"name": "portal-config"}},
                                {"secretRef": {"name": "portal-secrets"}}],
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                  "limits": {"cpu": "1", "memory": "1Gi"}},
                    "securityContext": {"allowPrivilegeEscalation": False,
                                        "readOnlyRootFilesystem": True},
                    "livenessProbe": {"exec": {"command": [
                        "python", "manage.py", "health", "--require", "schedule"]}},
                }],
            }},
        },
    }  # fmt: skip


def _good() -> list[dict]:
    web = _deployment("web")
    web["spec"]["template"]["spec"]["containers"][0].update(
        readinessProbe={"httpGet": {"path": "/readyz"}},
        livenessProbe={"httpGet": {"path": "/healthz"}},
        startupProbe={"httpGet": {"path": "/healthz"}},
        env=[{"name": "PROMETHEUS_MULTIPROC_DIR", "value": "/tmp/prometheus"}],
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
    )
    job = _deployment("migrate")
    job.update(kind="Job", spec={"backoffLimit": 2, "ttlSecondsAfterFinished": 60,
                                 "template": job["spec"]["template"]})  # fmt: skip
    job["spec"]["template"]["spec"]["containers"][0]["command"] = [
        "python", "manage.py", "migrate", "--noinput"]  # fmt: skip

    def hpa(name):
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"name": name}},
        }

    def pdb(component):
        return {
            "kind": "PodDisruptionBudget",
            "metadata": {"name": component},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/component": component}}},
        }

    return [
        web, _deployment("worker"), _deployment("beat", replicas=1, strategy={"type": "Recreate"}),
        job, hpa("portal-web"), hpa("portal-worker"), pdb("web"), pdb("worker"),
        {"kind": "NetworkPolicy", "metadata": {"name": "deny"},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        {"kind": "ConfigMap", "metadata": {"name": "portal-config"}, "data": {"LOG_LEVEL": "INFO"}},
    ]  # fmt: skip


NAMES, SECRET = {"LOG_LEVEL", "DATABASE_URL"}, {"DATABASE_URL"}


def _find(manifests, kind, component):
    return next(m for m in manifests if m["kind"] == kind and inv.component(m) == component)


def _container(manifests, component, kind="Deployment"):
    return _find(manifests, kind, component)["spec"]["template"]["spec"]["containers"][0]


def test_the_hand_made_good_layout_passes():
    assert inv.all_problems(_good(), NAMES, SECRET) == []


def _beat_two(m):
    _find(m, "Deployment", "beat")["spec"]["replicas"] = 2


def _beat_rolling(m):
    _find(m, "Deployment", "beat")["spec"]["strategy"] = {"type": "RollingUpdate"}


def _second_beat(m):
    m.append(copy.deepcopy(_find(m, "Deployment", "beat")))


def _beat_autoscaled(m):
    m.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
              "metadata": {"name": "beat"},
              "spec": {"scaleTargetRef": {"name": "portal-beat"}}})  # fmt: skip


def _beat_budget(m):
    beat = {"matchLabels": {"app.kubernetes.io/component": "beat"}}
    m.append({"kind": "PodDisruptionBudget", "metadata": {"name": "beat"},
              "spec": {"selector": beat}})  # fmt: skip


def _no_memory_limit(m):
    del _container(m, "worker")["resources"]["limits"]["memory"]


def _root(m):
    _find(m, "Deployment", "web")["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0


def _may_be_root(m):
    del _find(m, "Job", "migrate")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]


def _privileged(m):
    _container(m, "beat")["securityContext"]["privileged"] = True


def _escalates(m):
    del _container(m, "worker")["securityContext"]["allowPrivilegeEscalation"]


def _readiness_on_healthz(m):
    _container(m, "web")["readinessProbe"]["httpGet"]["path"] = "/healthz"


def _no_liveness(m):
    del _container(m, "web")["livenessProbe"]


def _worker_not_checked(m):
    del _container(m, "worker")["livenessProbe"]


def _no_worker_hpa(m):
    m.remove(next(x for x in m if x["metadata"]["name"] == "portal-worker"
                  and x["kind"] == "HorizontalPodAutoscaler"))  # fmt: skip


def _no_web_budget(m):
    m.remove(next(x for x in m if x["kind"] == "PodDisruptionBudget"
                  and x["metadata"]["name"] == "web"))  # fmt: skip


def _web_replicas(m):
    _find(m, "Deployment", "web")["spec"]["replicas"] = 2


def _no_job(m):
    m.remove(_find(m, "Job", "migrate"))


def _no_deny(m):
    m.remove(next(x for x in m if x["kind"] == "NetworkPolicy"))


def _setting_not_wired(m):
    next(x for x in m if x["kind"] == "ConfigMap")["data"].pop("LOG_LEVEL")


def _no_secret_ref(m):
    _container(m, "beat")["envFrom"].pop()


def _metrics_per_process(m):
    _container(m, "web")["env"] = []


def _metrics_dir_read_only(m):
    _container(m, "web")["volumeMounts"] = []


def _two_tags(m):
    _container(m, "worker")["image"] = "registry.example.org/portal:1.0.1"


def _latest(m):
    for component in ("web", "worker", "beat"):
        _container(m, component)["image"] = "registry.example.org/portal:latest"
    _container(m, "migrate", "Job")["image"] = "registry.example.org/portal:latest"


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (_beat_two, "beat replicas 2"),
        (_beat_rolling, "not Recreate"),
        (_second_beat, "2 beat Deployments"),
        (_beat_autoscaled, "scales beat"),
        (_beat_budget, "covers beat"),
        (_no_memory_limit, "no limits.memory"),
        (_root, "runAsUser is not a non-zero number"),
        (_may_be_root, "runAsNonRoot is not true"),
        (_privileged, "privileged"),
        (_escalates, "allowPrivilegeEscalation"),
        (_readiness_on_healthz, "readinessProbe asks '/healthz'"),
        (_no_liveness, "livenessProbe asks None"),
        (_worker_not_checked, "liveness is not manage.py health"),
        (_no_worker_hpa, "no HorizontalPodAutoscaler for portal-worker"),
        (_no_web_budget, "no PodDisruptionBudget for web"),
        (_web_replicas, "sets replicas"),
        (_no_job, "0 migrations Jobs"),
        (_no_deny, "no default-deny"),
        (_setting_not_wired, "LOG_LEVEL: neither in the ConfigMap nor in the Secret"),
        (_no_secret_ref, "no envFrom secretRef"),
        (_metrics_per_process, "PROMETHEUS_MULTIPROC_DIR is not set"),
        (_metrics_dir_read_only, "not on a writable volume"),
        (_two_tags, "several images"),
        (_latest, "no fixed tag"),
    ],
)
def test_a_broken_layout_is_caught(breakage, problem):
    manifests = _good()
    breakage(manifests)
    problems = inv.all_problems(manifests, NAMES, SECRET)
    assert any(problem in p for p in problems), problems
