"""docs/architecture.md is the map a newcomer follows to find where to change or add
something: every path it names (in backticks, from the repository's root) must exist, so a
move or a rename that forgets the map fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "architecture.md"
NAMED = re.compile(r"`((?:streams|tests|schemas|benchmarks|policies|scripts|kafka|deploy|"
                   r"requirements|docs)/[^`\s]*)`")


def named_paths(text: str) -> list[str]:
    return sorted(set(NAMED.findall(text)))


def missing(paths: list[str]) -> list[str]:
    return [path for path in paths if not any(ROOT.glob(path.rstrip("/")))]


def test_the_map_names_the_places_to_add_things() -> None:
    paths = named_paths(MAP.read_text(encoding="utf-8"))
    for place in ("streams/adapters/providers/", "streams/adapters/recognizers/",
                  "streams/adapters/audit/", "streams/core/policy.py",
                  "streams/console/pages/__init__.py"):
        assert place in paths, place


def test_every_path_the_map_names_exists() -> None:
    assert missing(named_paths(MAP.read_text(encoding="utf-8"))) == []


def test_a_path_that_does_not_exist_is_found() -> None:
    text = "see `streams/core/decision.py` and `streams/adapters/audit/sqlite_store.py`"
    assert missing(named_paths(text)) == ["streams/adapters/audit/sqlite_store.py"]
