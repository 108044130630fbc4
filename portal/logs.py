"""Log records that say which work they belong to, one JSON object per line.

Every record gets the id of the work in hand (``portal.request_ids``) and, in a worker, the task's
name and id, whatever logger wrote it (the portal's, Django's, Celery's, openstacksdk's). The
JSON form is what log shippers read without a parser per format; ``PORTAL_LOG_FORMAT=plain``
prints time, level, logger, request id and message as text, for a person reading a terminal.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from portal import request_ids

#: The LogRecord attributes every record has; anything else was passed in ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "request_id", "client_request_id", "task", "task_id"}
)


class RequestIdFilter(logging.Filter):
    """Stamps the work's id (and the task's) on the record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_ids.current()
        record.client_request_id = request_ids.client_id()
        record.task, record.task_id = _task()
        return True


def _task() -> tuple[str, str]:
    from celery._state import get_current_task

    task = get_current_task()
    if task is None or task.request.called_directly:
        return "", ""
    return task.name or "", task.request.id or ""


class JsonFormatter(logging.Formatter):
    """One line of JSON per record: time (UTC, ISO 8601), level, logger, message, the work's
    ids, the exception when there is one, and whatever the caller passed in ``extra=``."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "client_request_id", "task", "task_id"):
            if value := getattr(record, key, ""):
                event[key] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, default=str, ensure_ascii=False)
