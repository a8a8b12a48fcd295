"""A search's CPU limit where detection runs in a thread (``recognizers.base.within_cpu_limit``):
the ``regex`` module cuts an attempt when the whole *process* has used its timeout of CPU (it
reads ``clock()``), so other busy threads of the process cut it early, and a retry starts from
the beginning. Simulated, no clock read: a search that needs ``need`` of its thread's CPU while
the process uses ``ratio`` times as much."""

from __future__ import annotations

import math

import pytest

from streams.adapters.recognizers.base import REGEX_TIMEOUT_S, SearchLimits, within_cpu_limit


class Simulated:
    """A search and its thread's CPU clock: an attempt with ``timeout`` of the process's CPU
    gets ``timeout / ratio`` of this thread's; it ends when that covers ``need``."""

    def __init__(self, need: float, ratio: float) -> None:
        self.need, self.ratio = need, ratio
        self.now = 0.0
        self.attempts = 0

    def clock(self) -> float:
        return self.now

    def search(self, timeout: float | None) -> str:
        self.attempts += 1
        if timeout is None or timeout / self.ratio >= self.need:
            self.now += self.need
            return "matched"
        self.now += timeout / self.ratio
        raise TimeoutError("regex timed out")


@pytest.mark.parametrize("ratio", [1.0, 2.0, 10.0, 16.0, 100.0, 800.0])
def test_an_ordinary_search_ends_beside_busy_threads(ratio: float) -> None:
    # 5 ms alone; the process's other threads use ``ratio`` - 1 times its CPU meanwhile. Before,
    # every retry had as little as the first: at 100, 100 attempts, then TimeoutError
    search = Simulated(0.005, ratio)
    assert within_cpu_limit(search.search, REGEX_TIMEOUT_S, search.clock) == "matched"
    assert search.attempts <= 2


def test_a_search_that_needs_most_of_its_limit_ends_beside_a_busy_thread() -> None:
    search = Simulated(0.9 * REGEX_TIMEOUT_S, 3.0)
    assert within_cpu_limit(search.search, REGEX_TIMEOUT_S, search.clock) == "matched"
    assert search.attempts == 2


@pytest.mark.parametrize(("ratio", "attempts"), [(1.0, 1), (2.0, 2), (10.0, 2), (16.0, 2),
                                                 (1000.0, 64)])
def test_a_runaway_search_stops_after_about_its_limit(ratio: float, attempts: int) -> None:
    search = Simulated(math.inf, ratio)
    with pytest.raises(TimeoutError):
        within_cpu_limit(search.search, REGEX_TIMEOUT_S, search.clock)
    # its thread's CPU: the limit, at most twice it; one attempt never uses more than
    # ``MAX_ATTEMPT_SCALE`` times the limit of the process's CPU (a thread given 1/1000 of it
    # takes ~63 attempts then)
    assert REGEX_TIMEOUT_S <= search.now <= 2 * REGEX_TIMEOUT_S
    assert search.attempts <= attempts


def test_a_search_under_the_timer_runs_once_without_a_timeout() -> None:
    search = Simulated(10.0, 1.0)
    assert within_cpu_limit(search.search, None, search.clock) == "matched"
    assert search.attempts == 1


def test_a_pass_whose_searches_pass_their_own_timeout_is_retried_with_a_grown_limit() -> None:
    # a name recognizer's pass: its searches pass ``search_timeout_s`` themselves (one of them
    # through ``find_all``, which inside a pass's attempt runs once); the pass is retried
    recognizer = SearchLimits()
    recognizer.timeout_s = REGEX_TIMEOUT_S
    search = Simulated(0.005, 100.0)

    def find_persons() -> list[str]:
        first = search.search(recognizer.search_timeout_s)
        return [first, within_cpu_limit(search.search, recognizer.search_timeout_s, search.clock)]

    assert within_cpu_limit(lambda _: find_persons(), recognizer.search_timeout_s, search.clock,
                            whole_pass=True) == ["matched", "matched"]
    assert search.attempts == 3  # cut, then the pass again with both searches
    assert recognizer.search_timeout_s == REGEX_TIMEOUT_S  # the limit is back after the pass
