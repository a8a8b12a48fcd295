"""Durations as security teams write them in policies: ``90d``, ``12h``, ``2w``, ``10y``."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400}
DURATION_PATTERN = r"^[0-9]{1,6}[smhdwy]$"
_DURATION = re.compile(r"([0-9]{1,6})([smhdwy])\Z")


HOW_TO_WRITE = ("use a number and a unit: s, m (minutes), h, d, w, y (365 days), with no "
                "space - e.g. 30d, 12h, 15m, 2w, 10y")
# words people write for a unit, by how they start -> the unit letter
_WORDS = (("sec", "s"), ("min", "m"), ("hour", "h"), ("hr", "h"), ("day", "d"), ("week", "w"),
          ("wk", "w"), ("year", "y"), ("yr", "y"))
_WRITTEN = re.compile(r"\s*([0-9]+)\s*([A-Za-z]+)\s*\Z")


def duration_problem(text: object) -> str:
    """Why ``text`` is not a duration, and how to write it (never which pattern failed)."""
    shown = f"'{text}'" if isinstance(text, str) else repr(text)
    hint = ""
    written = _WRITTEN.match(text) if isinstance(text, str) else None
    if written is not None:
        number, word = written.group(1), written.group(2).lower()
        if len(number) > 6:
            hint = " (at most 6 digits: use a larger unit)"
        elif word.startswith("mo"):
            hint = (f"; there is no month unit ('m' means minutes): write days, e.g. "
                    f"{int(number) * 30}d")
        elif word in UNITS:
            hint = f" (did you mean '{number}{word}'?)"
        else:
            unit = next((u for start, u in _WORDS if word.startswith(start)), None)
            if unit is not None:
                hint = f" (did you mean '{number}{unit}'?)"
    return f"{shown} is not a duration: {HOW_TO_WRITE}{hint}"


def parse_duration(text: str) -> int:
    """Seconds in ``text``; a year is 365 days. ValueError if it is not ``<number><unit>``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(duration_problem(text))
    return int(match.group(1)) * UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The largest exact unit: 86400 -> ``1d``, 5400 -> ``90m``."""
    for unit in ("y", "w", "d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"
