"""Take the README's screenshots (docs/screenshots/*.png, 1280x800) with the browser tests.

Runs the request-to-build journey in chromium against a live server, a real Celery worker and
cloudsim, saving each main page as it goes, the SLA report's browser test and the journey in
French.
Usage: ``.venv/bin/python scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOURNEYS = [
    "tests/browser/test_journeys.py"
    "::test_vm_request_approved_in_the_inbox_is_built_without_a_reload",
    "tests/browser/test_reports.py::test_sla_report_by_keyboard_leads_to_the_late_request",
    "tests/browser/test_french.py",
]

if __name__ == "__main__":
    env = {**os.environ, "PORTAL_SCREENSHOTS": "1"}
    command = [sys.executable, "-m", "pytest", "-p", "no:warnings", "-q", *JOURNEYS]
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))  # noqa: S603 (our own command)
