"""CPU seconds one hostile prompt costs detection, and where: inside the recognizers' passes
(each bounded by its guard) or in the steps after them that no guard bounds (``widened``,
``later_mentions``, ``coordinated``, ...). A prompt made of names ("Anna, Anna, ...") is
what makes those steps' findings many (docs/benchmarks.md, "What no guard bounds").

Run as a detection process runs (the CPU timer installed before the detector), one English
detector, each prompt once (``time.process_time``; the cost grows with the square of the
length where a step is quadratic, so two lengths tell it):

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/hostile_names_cpu.py --chars 20000 80000
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable
from typing import Any

from streams.adapters import presidio_detector as pd  # first: the libraries' settings
from streams.adapters.recognizers import base

UNITS = ("A-", "a ", "Aa ", "AAAA-", "Anna Berg ", "a, ", "1 (", "Ab A. ", "ANNA BERG ",
         "Anna, ", "Mr. Anna ", "A. ", "Berg and Anna ", "Anna Berg. Berg said. ",
         # (branch postguard) a person beside a stronger finding, a name in a headline, a name
         # of three words one of which is a word ("The"): other steps' questions
         "Anna Berg anna.berg@example.org ", "Anna Berg.\nANNA BERG\n", "Dang The Chi, ",
         # every surname different ("{}": an invented word per repetition): the words of the
         # names found grow with the text
         "Anna {}, ", "Dang The {}, ",
         # (branch nerlimit) what the NER reads most of per character: a token per character
         # or two, every word capitalised, one chunk or thousands of them
         "A,", "A ", "Ab-Cd ", "\u00c9-", "Anna" + " then" * 17 + ". ")
STEPS = ("widened", "later_mentions", "coordinated", "over_ner_readings", "in_capitals",
         "name_chunks", "merged", "_after_recognizers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[20_000, 80_000])
    parser.add_argument("--units", nargs="+", default=list(UNITS))
    args = parser.parse_args()
    from streams.core.model import ChatMessage

    base.use_cpu_timer()
    detector = pd.PresidioDetector(("en",), possible_names=True)
    spent: dict[str, float] = collections.defaultdict(float)

    def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return step(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - started
        return run

    for name in STEPS:
        if hasattr(pd, name):  # (``_after_recognizers``: since branch postguard)
            setattr(pd, name, timed(name, getattr(pd, name)))
    guarded = base.CpuTimer.recognizer_pass

    def in_pass(self: base.CpuTimer, recognizer: Any, work: Callable[[], Any],
                text: str) -> Any:
        started = time.process_time()
        try:
            return guarded(self, recognizer, work, text)
        finally:
            spent["pass:" + type(recognizer).__name__] += time.process_time() - started

    base.CpuTimer.recognizer_pass = in_pass  # type: ignore[method-assign]
    # the model stages (branch nerlimit): the NER, then the opt-in tiers if any
    for method in ("_model_findings", "_tier_findings"):
        if hasattr(detector, method):
            setattr(detector, method, timed(method, getattr(detector, method)))
    for chars in args.chars:
        for unit in args.units:
            text = _repeated(unit, chars)
            spent.clear()
            started = time.process_time()
            try:
                outcome = f"{len(detector.detect([ChatMessage('user', text)], 'en').findings)}"
            except Exception as error:  # a guard's block is an outcome here
                outcome = type(error).__name__
            total = time.process_time() - started
            top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(
                spent.items(), key=lambda kv: -kv[1])[:3])
            print(f"{chars:7} {unit!r:24} {total:6.2f} s  findings {outcome:>6}  {top}",
                  flush=True)


def _repeated(unit: str, chars: int) -> str:
    """``unit`` repeated to ``chars`` characters; "{}" in it: a different invented word each
    time ("Zab", "Zac", ...: letters only, in no dictionary)."""
    if "{}" not in unit:
        return (unit * (chars // len(unit) + 1))[:chars]
    parts, size, number = [], 0, 0
    while size < chars:
        word, left = "", number
        while True:
            word, left = "abcdefghijklmnopqrstuvwxyz"[left % 26] + word, left // 26
            if not left:
                break
        parts.append(unit.format("Zo" + word))
        size += len(parts[-1])
        number += 1
    return "".join(parts)[:chars]


if __name__ == "__main__":
    main()
