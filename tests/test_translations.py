"""French is complete: every string the portal marks has a French translation, checked formats.

The strings are gathered afresh from a copy of the code (as ``make messages`` would), so a new
label, error or e-mail line without French fails here, not in front of a French-speaking user.
The compiled catalogues the portal reads must say what the committed ``.po`` files say.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("manage.py", "portal", "provisioning", "tenants", "portalctl", "templates", "locale")
CATALOGUES = (
    "locale",
    "portal/locale",
    "provisioning/locale",
    "tenants/locale",
    "portalctl/locale",
)
IGNORED = ("tests", "idp", "cloudsim", "benchmarks", "scripts", "docs", "var", ".venv")


def _po(base: Path, catalogue: str) -> Path:
    return base / catalogue / "fr" / "LC_MESSAGES" / "django.po"


def _gettext_tool(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def gathered(tmp_path_factory) -> Path:
    """A copy of the code with its catalogues brought up to date by ``makemessages``."""
    copy = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    ignore = [f"--ignore={name}" for name in IGNORED]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--add-location=file", *ignore],
        cwd=copy, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return copy


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_every_marked_string_has_french(gathered, catalogue):
    po = _po(gathered, catalogue)
    untranslated = _gettext_tool("msgattrib", "--untranslated", "--no-obsolete", str(po))
    fuzzy = _gettext_tool("msgattrib", "--only-fuzzy", "--no-obsolete", str(po))
    missing = [line for line in untranslated.splitlines() if line.startswith("msgid ")][1:]
    unsure = [line for line in fuzzy.splitlines() if line.startswith("msgid ")][1:]
    assert not missing, f"{catalogue}: no French for {missing[:20]} (run `make messages`)"
    assert not unsure, f"{catalogue}: fuzzy (unchecked) French for {unsure[:20]}"


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_translations_keep_their_placeholders(catalogue):
    """``msgfmt --check`` refuses a French string that drops or renames a ``%(name)s``."""
    _gettext_tool("msgfmt", "--check", "-o", os.devnull, str(_po(ROOT, catalogue)))


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_compiled_catalogue_matches_its_source(catalogue, tmp_path):
    compiled = tmp_path / "django.mo"
    _gettext_tool("msgfmt", "-o", str(compiled), str(_po(ROOT, catalogue)))
    committed = _po(ROOT, catalogue).with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing: run `make messages`"
    with compiled.open("rb") as fresh, committed.open("rb") as kept:
        assert gettext.GNUTranslations(kept)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            f"{committed} is older than its .po: run `make messages`"
        )
