"""The request id: answered to the caller, stamped on every log line, kept by the outbox and
carried in the task's message, whatever context publishes it."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from celery import signals
from django.db import transaction

from portal import outbox, request_ids
from portal.logs import JsonFormatter, RequestIdFilter
from portal.models import OutboxMessage


def a_record(message: str = "built %s", *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.getLogger("portal.test").makeRecord(
        "portal.test", logging.WARNING, __file__, 1, message, args or ("it",), exc_info,
        extra=extra or None,
    )  # fmt: skip
    RequestIdFilter().filter(record)
    return record


def test_a_log_line_is_one_json_object_with_the_works_id():
    with request_ids.bound(None) as rid:
        line = JsonFormatter().format(a_record(region="mons", server_id=7))

    assert "\n" not in line
    event = json.loads(line)
    assert event["message"] == "built it"
    assert event["level"] == "WARNING" and event["logger"] == "portal.test"
    assert event["request_id"] == rid and request_ids.valid(rid)
    assert event["region"] == "mons" and event["server_id"] == 7
    assert event["time"].endswith("+00:00")


def test_an_exception_stays_inside_the_one_line():
    try:
        raise RuntimeError("cloud said no\nat all")
    except RuntimeError:
        import sys

        line = JsonFormatter().format(a_record(exc_info=sys.exc_info()))

    assert "\n" not in line
    assert "RuntimeError: cloud said no" in json.loads(line)["exception"]


def test_outside_any_work_there_is_no_id():
    assert "request_id" not in json.loads(JsonFormatter().format(a_record()))


@pytest.mark.django_db
def test_the_answer_carries_the_callers_id_or_a_new_one(client):
    mine = f"req-{uuid.uuid4()}"
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID=mine)["X-Request-ID"] == mine

    other = client.get("/accounts/login/", HTTP_X_REQUEST_ID="trace-42")["X-Request-ID"]
    assert other != "trace-42" and request_ids.valid(other)
    assert request_ids.valid(client.get("/accounts/login/")["X-Request-ID"])


@pytest.mark.django_db
def test_a_callers_id_in_another_format_is_kept_beside_ours_in_the_log():
    with request_ids.bound("trace-42", client="trace-42") as rid:
        event = json.loads(JsonFormatter().format(a_record()))

    assert event["request_id"] == rid != "trace-42"
    assert event["client_request_id"] == "trace-42"


@pytest.mark.django_db(transaction=True)
def test_the_outbox_publishes_the_id_of_the_work_that_enqueued_it(settings):
    settings.PORTAL_OUTBOX_RELAY_ON_COMMIT = False
    published: list[dict] = []

    def seen(headers=None, **_):
        published.append(dict(headers or {}))

    signals.before_task_publish.connect(seen, weak=False)
    try:
        with request_ids.bound(None) as asked, transaction.atomic():
            outbox.enqueue("portal.tasks.periodic_heartbeat")
        row = OutboxMessage.objects.get()
        assert row.request_id == asked
        # The periodic relay publishes it later, while working under an id of its own.
        with request_ids.bound(None) as relaying:
            assert outbox.relay_due(older_than=0) == 1
    finally:
        signals.before_task_publish.disconnect(seen)

    assert relaying != asked
    assert [h[request_ids.TASK_HEADER] for h in published] == [asked]
    assert "portal_sent_at" in published[0]


def test_a_countdown_is_not_counted_as_waiting_in_the_queue():
    from portal.task_signals import _due

    assert _due(1000.0, None) == 1000.0
    assert _due(1000.0, "1970-01-01T00:17:10+00:00") == 1030.0  # 30 s countdown
    assert _due(1000.0, "not a time") == 1000.0
