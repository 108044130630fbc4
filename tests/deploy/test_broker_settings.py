"""The broker settings an operator of a cluster sets: Redis Sentinel's master name, RabbitMQ."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.deploy.invariants import ROOT

READ = (
    "import json, portal.settings as s; "
    "print(json.dumps([s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS]))"
)


def _broker_settings(**env: str) -> tuple[str, dict]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "PORTAL_"))
    }
    environment.update(PORTAL_PROFILE="development", **env)
    out = subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, env=environment,
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    url, options = json.loads(out.stdout)
    return url, options


def test_a_sentinel_broker_names_its_master():
    url, options = _broker_settings(
        CELERY_BROKER_URL="sentinel://10.0.0.1:26379;sentinel://10.0.0.2:26379",
        CELERY_BROKER_SENTINEL_MASTER="portal-broker",
    )
    assert url.startswith("sentinel://")
    assert options == {"visibility_timeout": 3600, "master_name": "portal-broker"}


def test_without_sentinel_no_master_is_named():
    _, options = _broker_settings(CELERY_BROKER_URL="amqp://portal@rabbitmq:5672/portal")
    assert "master_name" not in options


def test_kombu_takes_the_sentinel_settings():
    """The transport Celery will use accepts the URL and the master's name as given."""
    from kombu import Connection

    url, options = _broker_settings(
        CELERY_BROKER_URL="sentinel://10.0.0.1:26379;sentinel://10.0.0.2:26379",
        CELERY_BROKER_SENTINEL_MASTER="portal-broker",
    )
    connection = Connection(url, transport_options=options)
    assert connection.transport_cls == "sentinel"
    assert connection.transport_options["master_name"] == "portal-broker"
