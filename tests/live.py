"""Real parts for tests of the queue and the browser: a Redis server and a Celery worker process
of our own, cloudsim over HTTP, and PostgreSQL. The worker runs the portal's real tasks on the
test database, so tests use ``django_db(transaction=True)`` (or ``live_server``) and wait for
outcomes. Registered for the whole suite from ``tests/conftest.py``; fixtures start only when a
test asks for them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from cloudsim.pytest_plugin import CloudSimInstance, free_port
from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


class RedisServer:
    """A private redis-server (nothing persisted), so tests may restart it at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class RabbitMQVhost:
    """A private virtual host on the machine's RabbitMQ, for running the queue tests with RabbitMQ
    as the broker (``PORTAL_TEST_BROKER=rabbitmq``, ``make test-rabbitmq``).

    Made and removed with ``rabbitmqctl`` (run as root or as the rabbitmq user). Deleting the
    vhost closes every connection to it and drops its queues, as a broker going away does: so
    ``stop``/``start``/``restart`` act on the vhost, and the tests of a broker outage run
    unchanged. ``PORTAL_TEST_RABBITMQ`` moves it (default ``guest:guest@127.0.0.1:5672``).
    """

    def __init__(self) -> None:
        self.vhost = f"portal-test-{uuid.uuid4().hex[:12]}"
        server = os.environ.get("PORTAL_TEST_RABBITMQ", "guest:guest@127.0.0.1:5672")
        self.user = server.partition(":")[0]
        self.server = server

    @property
    def url(self) -> str:
        return f"amqp://{self.server}/{self.vhost}"

    @staticmethod
    def _ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True,
                       timeout=60)  # fmt: skip

    def start(self) -> None:
        self._ctl("add_vhost", self.vhost)
        self._ctl("set_permissions", "-p", self.vhost, self.user, ".*", ".*", ".*")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("delete_vhost", self.vhost)

    def restart(self) -> None:
        self.stop()
        self.start()


def broker_kind() -> str:
    """``redis`` (a private redis-server per session) or ``rabbitmq`` (PORTAL_TEST_BROKER)."""
    kind = os.environ.get("PORTAL_TEST_BROKER", "redis")
    if kind not in ("redis", "rabbitmq"):
        raise ValueError(f"PORTAL_TEST_BROKER must be redis or rabbitmq, not {kind!r}")
    return kind


def stop_group(process: subprocess.Popen | None) -> None:
    """SIGTERM a child's process group, SIGKILL it if it does not go within 20 s."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class Worker:
    """``celery -A portal worker`` as a child process group on the test database.

    ``name`` is the node name (``w1@%h``): several workers on one machine need distinct ones.
    """

    def __init__(self, env: dict[str, str], log: Path, *, name: str | None = None) -> None:
        self.env, self.log, self.name = env, log, name
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        named = ["--hostname", self.name] if self.name else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
             "--queues", "default,provisioning,periodic", "--concurrency", "2",
             "--without-heartbeat", "--without-mingle", "--without-gossip", *named],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: "ready." in self.log.read_text(errors="replace").split("-- start --")[-1],
                 timeout=30, what="the Celery worker to be ready")  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the whole process group: the crash the reliability rules are about."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None

    def restart_fresh(self) -> None:
        with self.log.open("a") as f:
            f.write("\n-- start --\n")
        self.start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def settle(self, timeout: float = 15, quiet_for: float = 0.5) -> None:
        """Drop what is still queued and wait until no other connection to the test database has
        been busy for ``quiet_for`` seconds: a task still running when the database is flushed
        deadlocks the flush (TRUNCATE against its reads). One quiet moment is not enough: a task
        that just committed may have sent the next (a notification) a moment after the purge,
        and the worker starts it a moment later. Best effort: a broker a test restarted may
        refuse the purge."""
        if not self.alive:
            return
        with contextlib.suppress(Exception):
            celery_app.control.purge()
        from django.db import connection

        if connection.vendor != "postgresql":
            return
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state <> 'idle'"
                )
                busy = cursor.fetchone()[0]
            now = time.monotonic()
            if busy:
                quiet_since = None
                with contextlib.suppress(Exception):
                    celery_app.control.purge()
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= quiet_for:
                return
            time.sleep(0.1)


class Beat:
    """``celery -A portal beat`` with the portal's schedule: in a file, or with ``database``
    in the database as production keeps it (the settings' ``DatabaseScheduler``)."""

    def __init__(self, env: dict[str, str], workdir: Path, *, database: bool = False) -> None:
        self.env, self.workdir, self.database = env, workdir, database
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "beat.log"

    def start(self) -> None:
        log = self.log.open("ab")
        scheduler = [] if self.database else [
            "-S", "celery.beat:PersistentScheduler",
            "--schedule", str(self.workdir / "beat-schedule")]  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
             *scheduler],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None


def wait_for(predicate: Callable[[], object], *, timeout: float = 30, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


def rolled_up(world, **expected: int) -> None:
    """The kept usage shows ``expected``: the worker refreshes it just after its commit, so
    a request seen completed may be a moment ahead of it."""

    def current() -> dict[str, int]:
        from tenants.models import AllocationUsage

        row = AllocationUsage.objects.filter(allocation=world.allocation).values(*expected).first()
        return row or {}

    wait_for(lambda: current() == expected, timeout=10, what=f"usage {expected}, is {current()}")


def point_celery_at(url: str) -> None:
    """Send this process's tasks to ``url`` (the pools cache the broker they were made for)."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer | RabbitMQVhost]:
    """The session's broker: a private redis-server, or a private RabbitMQ vhost when
    ``PORTAL_TEST_BROKER=rabbitmq``; either can be stopped, started and restarted."""
    if broker_kind() == "rabbitmq":
        server: RedisServer | RabbitMQVhost = RabbitMQVhost()
    else:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def worker_environment(redis_url: str, clouds_yaml: str, **timings: str) -> dict[str, str]:
    """The environment of a Celery worker on this session's test database and broker.

    ``timings`` override the polling, lease and deadline settings (a real cloud is slower).
    """
    name = connection.settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "DATABASE_CONN_MAX_AGE": "0",
        "PORTAL_TEST_BROKER_URL": redis_url,
        "CLOUDS_YAML": clouds_yaml,
        "PORTAL_POLL_FIRST": "0.2",
        "PORTAL_POLL_MAX": "1",
        # Short leases, so a killed worker's request is re-driven within seconds.
        "PORTAL_LEASE_SECONDS": "3",
        "PORTAL_LEASE_QUEUE_GRACE": "3",
        "PORTAL_PROVISIONING_DEADLINE": "90",
        "CLOUD_API_TIMEOUT": "5",
        **timings,
    }


@pytest.fixture(scope="session")
def worker_env(django_db_setup, redis_server, cloudsim) -> dict[str, str]:
    return worker_environment(redis_server.url, str(cloudsim.clouds_yaml))


@pytest.fixture(scope="session")
def session_worker(worker_env, tmp_path_factory) -> Iterator[Worker]:
    worker = Worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    worker.restart_fresh()
    yield worker
    worker.stop()


@pytest.fixture
def worker(session_worker, redis_server) -> Iterator[Worker]:
    """The session's worker, started again if an earlier test killed it.

    Only for the test that asks for it does this process enqueue into the worker's Redis: a later
    unit test's tasks must go back to the in-process broker, or the live worker would run them
    against the test database while that test is flushing it.
    """
    if not session_worker.alive:
        session_worker.restart_fresh()
    before = celery_app.conf.broker_url
    point_celery_at(redis_server.url)
    yield session_worker
    session_worker.settle()
    point_celery_at(before)


@dataclass
class LiveWorld:
    sim: CloudSimInstance
    region: object
    allocation: object
    requester: object
    approver: object


def build_world(
    *,
    cloud_name: str,
    project_prefix: str,
    region_name: str = "RegionOne",
    instances: int = 10,
    requires_security_officer: bool = False,
) -> dict:
    """A region on ``cloud_name``, its catalog synced, an allocation with a project of its own
    (room for ``instances`` servers), a requester and an approver: what the live and the
    OpenStack lanes and the benchmarks start from."""
    from provisioning.services.catalog import catalog_sync
    from tenants.models import Role
    from tests.factories import (
        AllocationFactory,
        CloudRegionFactory,
        SecurityDomainFactory,
        SiteFactory,
        TenantFactory,
        make_user,
    )

    site = SiteFactory()
    domain = SecurityDomainFactory(requires_security_officer=requires_security_officer)
    region = CloudRegionFactory(
        site=site, domain=domain, cloud_name=cloud_name, region_name=region_name
    )
    catalog_sync(region=region)
    tenant = TenantFactory()
    allocation = AllocationFactory(
        tenant=tenant, region=region, project_name=f"{project_prefix}-{uuid.uuid4().hex[:8]}",
        instances=instances, vcpus=4 * instances, ram_mb=10_000 * instances,
    )  # fmt: skip
    rights = {"domains": (domain,), "sites": (site,)}
    return {
        "region": region,
        "allocation": allocation,
        "requester": make_user(
            f"{project_prefix}-req", memberships={tenant: Role.REQUESTER}, **rights
        ),
        "approver": make_user(
            f"{project_prefix}-app", memberships={tenant: Role.APPROVER}, **rights
        ),
    }


@pytest.fixture
def live_world(cloudsim_clean, worker, settings) -> LiveWorld:
    """A region on cloudsim's admin account, an allocation with its own project, two users."""
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    settings.PORTAL_LEASE_SECONDS = 3
    settings.PORTAL_LEASE_QUEUE_GRACE = 3
    return LiveWorld(
        sim=cloudsim_clean,
        **build_world(cloud_name=cloudsim_clean.admin_cloud, project_prefix="it"),
    )
