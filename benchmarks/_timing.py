"""Timing shared by the benchmarks: a step that takes microseconds (the benchmarks of pure
functions: ``budgets.py``, ``policy_eval.py``, ``usage_cost.py``), and a change measured on and
off in one process (``batch_memos_cpu.py``, ``islenska_memo_cpu.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


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


def best_kept_and_changed(run: Callable[[bool], float], rounds: int) -> tuple[float, float]:
    """The least of ``rounds`` values of ``run(False)`` (as before) and of ``run(True)`` (with
    the change), passes alternated in one process. Each timed ``run(False)`` follows an untimed
    one over the same input, so what the old code memoised is warm: the difference is an upper
    bound of what the change costs."""
    kept, changed = [], []
    for _ in range(rounds):
        run(False)
        kept.append(run(False))
        changed.append(run(True))
    return min(kept), min(changed)


def recognizers_findings_cpu(recognizers: list[Any], texts: list[str], batch: int,
                             forget: Callable[[], None]) -> tuple[float, list[Any]]:
    """(this thread's CPU seconds, each text's findings) for ``recognizers`` run over
    ``texts``, the per-batch memos emptied (``forget``) every ``batch`` texts as the detector
    does: how the cut benchmarks time a recognizer with a cut on and off."""
    out = []
    started = time.thread_time()
    for i, text in enumerate(texts):
        out.append([(r.name, f.start, f.end, f.score) for r in recognizers
                    for f in r.analyze(text, None)])
        if (i + 1) % batch == 0:
            forget()
    forget()
    return time.thread_time() - started, out


def best(passes: int, work: Callable[[], object]) -> float:
    """The least thread CPU seconds of ``passes`` runs of ``work``."""
    times = []
    for _ in range(passes):
        start = time.thread_time()
        work()
        times.append(time.thread_time() - start)
    return min(times)


def print_on_off(corpus: str, name: str, spent: dict[bool, list[float]], same: str) -> None:
    """One line of a cut benchmark: µs per prompt with the cut off and on (median, range)."""
    off, on_ = statistics.median(spent[False]), statistics.median(spent[True])
    print(f"{corpus:22} {name:30} off {off:6.1f} ({min(spent[False]):.1f}-"
          f"{max(spent[False]):.1f}), on {on_:6.1f} ({min(spent[True]):.1f}-"
          f"{max(spent[True]):.1f}) µs per prompt: {off - on_:+.1f} saved; {same}", flush=True)


def cut_on_off(corpus: str, name: str, switch: Callable[[bool], object],
               recognizers: list[Any], texts: list[str], batch: int,
               forget: Callable[[], None], rounds: int) -> None:
    """A cut's CPU with it off and on (``switch``), in one process: ``rounds`` timed rounds
    after an untimed one, which of the two goes first alternating round by round; the cut is
    left on, and one line printed (``print_on_off``) saying whether the findings are the same."""
    spent: dict[bool, list[float]] = {True: [], False: []}
    found: dict[bool, list[Any]] = {}
    for round_ in range(rounds + 1):
        for on in ((True, False) if round_ % 2 else (False, True)):
            switch(on)
            cpu, out = recognizers_findings_cpu(recognizers, texts, batch, forget)
            if round_:
                spent[on].append(1e6 * cpu / len(texts))
            found[on] = out
    switch(True)
    same = "same findings" if found[True] == found[False] else "FINDINGS DIFFER"
    print_on_off(corpus, name, spent, same)


class PartTimer:
    """This thread's CPU seconds spent in named parts of a run (``spent``): ``patch`` wraps a
    method or a module's function for the run, ``restore`` puts the originals back (an
    instance's method is shadowed by an instance attribute, removed afterwards)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._patched: list[tuple[object, str, object]] = []

    def patch(self, owner: object, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        self._patched.append((owner, attribute, vars(owner).get(attribute)))
        spent = self.spent

        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - started

        setattr(owner, attribute, wrapper)

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._patched):
            if original is None:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)
        self._patched.clear()
