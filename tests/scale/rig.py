"""The scaled-out portal on loopback: HAProxy in front of two gunicorn instances, three Celery
workers with names of their own, one beat, a Redis and cloudsim, on a database of the run's own,
with production's settings. And the automation client the API guide describes, whose retries
keep the same Idempotency-Key.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cloudsim.pytest_plugin import CloudSimInstance, start_cloudsim
from tests.live import ROOT, Beat, RedisServer, Worker
from tests.scale.haproxy import HAProxy

#: How often beat sends the heartbeat in the run (production: 30 s): often enough to count.
HEARTBEAT_EVERY = 5.0
#: Answers after which the API guide's client tries again with the same key.
RETRY_STATUSES = (429, 502, 503, 504)


def portal_environment(*, database: str, redis: RedisServer, sim: CloudSimInstance,
                       workdir: Path, base_url: str) -> dict[str, str]:  # fmt: skip
    """Production's profile (Redis cache and broker, secrets set, the real settings module),
    on loopback: no TLS in front, so no redirect to https."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_PROFILE": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_AUDIT_CHECKPOINT_KEY": secrets.token_urlsafe(32),
        "PORTAL_AUDIT_CHECKPOINT_SINK": f"file:{workdir / 'checkpoints.log'}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "CLOUDS_YAML": str(sim.clouds_yaml),
        "PORTAL_URL": base_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # One automation account files every request: its rate is the operators' to raise
        # (docs/api.md, Throttling); the run measures the portal, not the throttle.
        "PORTAL_API_RATE_USER": "100000/min",
        # A build's next look at the cloud comes soon: the figures are the workers', not the
        # poll interval's.
        "PORTAL_POLL_FIRST": "0.5",
        "PORTAL_POLL_MAX": "2",
        "PORTAL_HEARTBEAT_EVERY": str(HEARTBEAT_EVERY),
        # The reconciler and the probes every 10 minutes: out of the way of the measurement.
        "PORTAL_RECONCILE_EVERY": "600",
        "PORTAL_PROBE_EVERY": "600",
    }


@dataclass
class Rig:
    workdir: Path
    sim: CloudSimInstance
    redis: RedisServer
    webs: list
    workers: list[Worker]
    beat: Beat
    balancer: HAProxy
    beat_started: float = 0.0

    def processes(self) -> list:
        return [self.balancer, *self.webs, *self.workers, self.beat, self.redis, self.sim]

    def stop(self) -> None:
        """Everything the run started, by its own pid, whatever state it is in."""
        for part in (self.balancer, *self.webs, *self.workers, self.beat):
            try:
                part.stop()
            except Exception as err:  # keep stopping the others
                print(f"stopping {part}: {err}")
        self.redis.stop()
        self.sim.stop()


def start_rig(workdir: Path, database: str, *, build_time: float) -> Rig:
    from benchmarks.serving import Gunicorn

    sim = start_cloudsim(workdir / "cloudsim", build_time=build_time)
    redis = RedisServer(workdir)
    rig = None
    try:
        redis.start()
        webs = []
        for i in (1, 2):
            (workdir / f"web{i}").mkdir()
            webs.append(Gunicorn({}, workdir / f"web{i}", workers=2, threads=1))
        balancer = HAProxy(workdir, [web.port for web in webs])
        env = portal_environment(database=database, redis=redis, sim=sim, workdir=workdir,
                                 base_url=balancer.url)  # fmt: skip
        env["STATIC_ROOT"] = str(workdir / "static")
        # Production serves the hashed files collectstatic writes (whitenoise's manifest).
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=env, check=True)  # fmt: skip
        for web in webs:
            web.env = env
        workers = [Worker(env, workdir / f"w{i}.log", name=f"w{i}@%h") for i in (1, 2, 3)]
        beat = Beat(env, workdir, database=True)
        rig = Rig(workdir, sim, redis, webs, workers, beat, balancer)
        for web in webs:
            web.start()
        for worker in workers:
            worker.restart_fresh()
        beat.start()
        rig.beat_started = time.monotonic()
        balancer.start()
        return rig
    except BaseException:
        if rig is not None:
            rig.stop()
        else:
            redis.stop()
            sim.stop()
        raise


@dataclass
class Filed:
    """What the client saw of one request: the key it filed it with, the id it got back, and how
    many times it had to try (submit and approval)."""

    key: str
    request_id: int | None = None
    tries: int = 0
    approve_tries: int = 0
    errors: list[str] = field(default_factory=list)


class Client:
    """One automation client through the balancer, with the API guide's rule: on a broken
    connection, 409 (the same key still in progress), 429, 502, 503 or 504, send the same
    request again with the same key."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict, key: str, *, deadline: float = 120) -> tuple:
        """(answer, tries, what went wrong before it)."""
        errors: list[str] = []
        give_up = time.monotonic() + deadline
        for tries in range(1, 1000):
            try:
                answer = self.session.post(f"{self.base}/{path}", json=body, timeout=60,
                                           headers={"Idempotency-Key": key})  # fmt: skip
            except requests.RequestException as err:
                errors.append(type(err).__name__)
                self.session.close()
            else:
                retry = answer.status_code in RETRY_STATUSES or (
                    answer.status_code == 409
                    and answer.json().get("code") == "idempotency_key_in_progress"
                )
                if not retry:
                    return answer, tries, errors
                errors.append(str(answer.status_code))
            if time.monotonic() > give_up:
                raise AssertionError(f"POST {path} with key {key}: no answer, {errors}")
            time.sleep(min(0.1 * 2**tries, 2))
        raise AssertionError("unreachable")


def file_and_approve(
    base_url: str, *, requester_token: str, approver_token: str, body_for, count: int,
    clients: int, on_filed=None,
) -> list[Filed]:  # fmt: skip
    """File ``count`` server requests from ``clients`` threads, each with a key of its own, and
    approve each as soon as it is filed (the approver's own key). ``on_filed(n)`` is told how
    many are filed so far."""
    filed = [Filed(key=str(uuid.uuid4())) for _ in range(count)]
    done = 0
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run(share: list[tuple[int, Filed]]) -> None:
        nonlocal done
        mine = Client(base_url, requester_token)
        theirs = Client(base_url, approver_token)
        try:
            for i, item in share:
                answer, item.tries, errors = mine.post("requests/", body_for(i), item.key)
                item.errors += errors
                assert answer.status_code == 201, (answer.status_code, answer.text[:500])
                item.request_id = answer.json()["id"]
                answer, item.approve_tries, errors = theirs.post(
                    f"requests/{item.request_id}/approve/", {}, f"approve-{item.key}"
                )
                item.errors += errors
                assert answer.status_code == 200, (answer.status_code, answer.text[:500])
                with lock:
                    done += 1
                    n = done
                if on_filed:
                    on_filed(n)
        except BaseException as err:
            failures.append(err)

    threads = [
        threading.Thread(target=run, args=(list(enumerate(filed))[i::clients],))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return filed
