"""The clock the vault tests share (``clock`` in conftest.py)."""

from __future__ import annotations


class StoppedClock:
    """A clock that moves only when a test sets ``now``: periods and retention end on cue."""

    def __init__(self) -> None:
        self.now = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now
