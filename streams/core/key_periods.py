"""Retention periods of data keys, and which keys a retention run may destroy at a given time.

Pure: no I/O, no clock of its own (callers pass ``now`` in epoch seconds, so tests drive time).

Personal values are encrypted under a data key per (tenant, subject) and *period*: a slice of
time of ``length_s`` seconds for one retention setting. Every value stored during a period
expires when the period's last value does, at ``start + length_s + retention_s``; so a value is
kept at most ``retention_s + length_s``. :func:`period_length` keeps that slack at a tenth of
the retention (at most a day), so "30 days" means at most 31 and "1 hour" at most 66 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_PERIOD_S = 86_400
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def period_length(retention_s: int) -> int:
    """How long one period collects values: a tenth of the retention, 1 s to 1 day."""
    if retention_s < 1:
        raise ValueError(f"retention must be at least 1 second, got {retention_s}")
    return max(1, min(MAX_PERIOD_S, retention_s // 10))


@dataclass(frozen=True)
class KeyPeriod:
    start: int  # epoch seconds, a multiple of length_s
    length_s: int
    retention_s: int

    @property
    def period_id(self) -> str:
        return f"{self.start}+{self.length_s}/{self.retention_s}"

    @property
    def expires_at(self) -> int:
        return self.start + self.length_s + self.retention_s

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    @property
    def label(self) -> str:
        """For people: ``2026-11-25T00:00Z +1d, kept 30d``."""
        start = datetime.fromtimestamp(self.start, UTC).strftime("%Y-%m-%dT%H:%MZ")
        length, kept = format_duration(self.length_s), format_duration(self.retention_s)
        return f"{start} +{length}, kept {kept}"


def period_for(moment: float, retention_s: int) -> KeyPeriod:
    length = period_length(retention_s)
    return KeyPeriod(int(moment) // length * length, length, retention_s)


def parse_period_id(period_id: str) -> KeyPeriod:
    match = re.fullmatch(r"(\d+)\+(\d+)/(\d+)", period_id)
    if match is None:
        raise ValueError(f"not a period id: {period_id!r}")
    return KeyPeriod(int(match[1]), int(match[2]), int(match[3]))


def format_duration(seconds: int) -> str:
    """For people, largest units first: 2592000 -> ``30d``, 5400 -> ``1h30m``,
    60480 (a tenth of 7 days) -> ``16h48m``."""
    parts = []
    left = seconds
    for unit, size in _UNITS.items():
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Hold:
    """A legal hold: the tenant's keys (all of them, or one subject's) must not be destroyed."""

    tenant: str
    subject: str | None  # keyed fingerprint; None holds every subject of the tenant

    def covers(self, tenant: str, subject: str) -> bool:
        return self.tenant == tenant and self.subject in (None, subject)


@dataclass(frozen=True)
class KeyRef:
    key_id: str
    tenant: str
    subject: str
    period: KeyPeriod


def held(key: KeyRef, holds: Iterable[Hold]) -> bool:
    return any(h.covers(key.tenant, key.subject) for h in holds)


def destroyable(keys: Iterable[KeyRef], now: float, holds: Iterable[Hold]) -> list[KeyRef]:
    """Keys whose period has ended by ``now`` and that no hold covers."""
    hold_list = list(holds)
    return [k for k in keys if k.period.expired(now) and not held(k, hold_list)]
