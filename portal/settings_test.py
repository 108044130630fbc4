"""Test settings: the real settings with a PostgreSQL default and fast password hashing."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
os.environ.setdefault("PORTAL_PROFILE", "development")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
# Unit tests enqueue into an in-process broker that nothing consumes; tests of the queue start
# their own Redis and Celery worker (tests/integration/conftest.py) and point the app at them.
CELERY_BROKER_URL = os.environ.get("PORTAL_TEST_BROKER_URL", "memory://")
# Seal after every commit, so a test reads a sealed chain without waiting for the periodic sealer.
PORTAL_AUDIT_SEAL_MIN_INTERVAL = float(os.environ.get("PORTAL_AUDIT_SEAL_MIN_INTERVAL", "0"))
# Cluster-wide counters go to the Redis a queue test starts (its workers are told so), never to
# the machine's; unit tests keep none unless a test points them somewhere.
PORTAL_METRICS_REDIS_URL = os.environ.get("PORTAL_TEST_BROKER_URL", "")
if not PORTAL_METRICS_REDIS_URL.startswith("redis"):
    PORTAL_METRICS_REDIS_URL = ""
PORTAL_METRICS_CACHE_SECONDS = 0.0
