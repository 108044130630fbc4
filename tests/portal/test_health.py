"""Health: /healthz while the process lives, /readyz when it can work (and why not), the
operators' detail, and the command the worker and beat containers run."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal import health
from portal.celery import app
from portal.models import Heartbeat
from portal.tasks import periodic_heartbeat
from tests.factories import make_portal_role, make_user

pytestmark = pytest.mark.django_db


def test_healthz_answers_any_host_without_a_session(client):
    response = client.get("/healthz", HTTP_HOST="10.244.3.17:8000")  # a kubelet, by pod address
    assert (response.status_code, response.content) == (200, b"ok\n")
    assert "sessionid" not in response.cookies and response["Cache-Control"] == "no-store"


def test_readyz_is_degraded_until_the_schedule_beats_then_ok(client):
    response = client.get("/readyz", HTTP_HOST="10.244.3.17:8000")
    assert (response.status_code, response.content) == (200, b"degraded\n")
    periodic_heartbeat.apply()  # as a worker runs what beat sent
    assert Heartbeat.objects.get(name="schedule").hostname
    response = client.get("/readyz")
    assert (response.status_code, response.content) == (200, b"ok\n")


def test_readyz_is_not_ready_without_the_broker(client, settings):
    settings.PORTAL_HEALTH_TIMEOUT = 0.5
    broker_url = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        response = client.get("/readyz")
        [broker] = [c for c in health.readiness().checks if c.name == "broker"]
    finally:
        app.conf.broker_url = broker_url
    assert (response.status_code, response.content) == (503, b"not ready\n")
    assert not broker.ok and broker.required and "Error" in broker.detail


def test_operators_read_each_check(api_client):
    periodic_heartbeat.apply()
    api_client.force_authenticate(make_portal_role("olga", "operate_portal"))
    body = api_client.get(reverse("api:health")).json()
    assert body["status"] == "ok"
    assert [c["name"] for c in body["checks"]] == [
        "database", "migrations", "broker", "schedule", "probes",
    ]  # fmt: skip
    assert [c["required"] for c in body["checks"]] == [True, True, True, False, False]
    api_client.force_authenticate(make_user("rita"))
    assert api_client.get(reverse("api:health")).status_code == 403


def test_the_command_for_worker_and_beat_containers():
    out = io.StringIO()
    call_command("health", stdout=out)
    assert '"status": "degraded"' in out.getvalue()
    with pytest.raises(CommandError, match="Not ready: schedule"):
        call_command("health", "--require", "schedule", stdout=io.StringIO())
    periodic_heartbeat.apply()
    call_command("health", "--require", "schedule", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown checks"):
        call_command("health", "--require", "everything", stdout=io.StringIO())
