"""Every ``X-Douane-*`` header the front door reads or sends, and those providers receive, is
documented in docs/producers.md (issue 16): found in the source, so a new one cannot be added
without its line in the guide."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r"""["'](X-Douane-[A-Za-z0-9-]+)["']""")
SOURCES = [*sorted((ROOT / "streams" / "front_door").glob("*.py")),
           ROOT / "streams" / "adapters" / "providers" / "base.py"]


def test_every_douane_header_in_the_code_is_in_the_producers_guide() -> None:
    headers = {h for path in SOURCES for h in HEADER.findall(path.read_text())}
    assert {"X-Douane-Classification", "X-Douane-Purpose", "X-Douane-Timeout-S",
            "X-Douane-Request-Id", "X-Douane-Audit-Record"} <= headers  # the search works
    guide = (ROOT / "docs" / "producers.md").read_text()
    assert sorted(h for h in headers if f"`{h}`" not in guide) == []
