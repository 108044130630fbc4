"""A web process sets apart what it keeps to its end before its first request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
import portal.wsgi
from django.urls import get_resolver

resolver = get_resolver()
young = gc.get_objects()
print(gc.get_freeze_count(), resolver._populated, any(o is resolver for o in young),
      any(o is resolver.reverse_dict for o in young))
"""


def test_the_loaded_portal_and_its_url_patterns_are_frozen():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=120,
    ).stdout.split()  # fmt: skip
    frozen, populated, resolver_young, patterns_young = out[-4:]
    assert int(frozen) > 50_000
    # Built before the freeze: the first request does not build them among young objects.
    assert (populated, resolver_young, patterns_young) == ("True", "False", "False")
