"""Fixtures of the queue tests (a private Redis, a real Celery worker, cloudsim) live in
``tests/live.py``, shared with the browser tests and registered from ``tests/conftest.py``.
"""

from tests.live import wait_for

__all__ = ["wait_for"]
