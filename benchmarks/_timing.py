"""Timing a step that takes microseconds, shared by the benchmarks of pure functions
(``budgets.py``, ``policy_eval.py``, ``usage_cost.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call_us(step: Callable[[], object], rounds: int, repeats: int = 5) -> float:
    """Microseconds per call of ``step``: ``rounds`` calls timed together, ``repeats`` times,
    the median taken (one slow pass on a shared machine does not move it)."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(rounds):
            step()
        runs.append((time.perf_counter() - start) / rounds * 1e6)
    return statistics.median(runs)
