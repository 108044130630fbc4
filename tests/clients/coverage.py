"""The coverage table of docs/cloudsim.md, kept true by the client compatibility suite.

Against cloudsim each client test reads the operations it made cloudsim answer (`/_sim/counts`)
and checks two things: every one is a row of the coverage table marked supported or partly,
and the list of them written under the table for that client is the one the test saw. With
PORTAL_CLIENTS_UPDATE_DOCS=1 the test rewrites that list instead of comparing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloudsim.md"
ROW = re.compile(r"^\|[^|]*\|[^|]*\|\s*`([a-z_.\-*]+)`\s*\|\s*(supported|partly|not)\s*\|", re.M)


def table(text: str) -> dict[str, str]:
    """operation -> supported | partly | not, from the coverage table's rows."""
    return {m.group(1): m.group(2) for m in ROW.finditer(text)}


def block(client: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- calls:{client} -->\n)(.*?)(<!-- /calls:{client} -->)", re.S)


def check_coverage(client: str, counts: dict[str, int]) -> None:
    seen = sorted(op for op in counts if not op.endswith((".versions", ".version")))
    text = DOC.read_text()
    rows = table(text)
    missing = [op for op in seen if rows.get(op) not in ("supported", "partly")]
    assert not missing, f"{client} made calls the coverage table of {DOC} does not list: {missing}"
    listed = "".join(f"`{op}` " for op in seen).strip() + "\n"
    found = block(client).search(text)
    assert found, f"{DOC} has no <!-- calls:{client} --> block"
    if os.environ.get("PORTAL_CLIENTS_UPDATE_DOCS") == "1":
        DOC.write_text(block(client).sub(lambda m: m.group(1) + listed + m.group(3), text))
        return
    assert found.group(2) == listed, (
        f"the calls {client} makes changed; run the suite with PORTAL_CLIENTS_UPDATE_DOCS=1 to "
        f"update {DOC}:\n{listed}"
    )
