"""Durations as security teams write them in policies: ``90d``, ``12h``, ``2w``, ``10y``."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400}
DURATION_PATTERN = r"^[0-9]{1,6}[smhdwy]$"
_DURATION = re.compile(r"([0-9]{1,6})([smhdwy])\Z")


def parse_duration(text: str) -> int:
    """Seconds in ``text``; a year is 365 days. ValueError if it is not ``<number><unit>``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a duration such as 30d, 12h, 15m, 2w or 1y")
    return int(match.group(1)) * UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The largest exact unit: 86400 -> ``1d``, 5400 -> ``90m``."""
    for unit in ("y", "w", "d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"
