"""CPU of two skips of branch ``nonner``, each measured on and off in one process, interleaved
pass by pass (separate runs on the shared machine move by more than these save):

- the patterns of identifiers not run on a text whose longest run of digits is shorter than
  every match holds (``base.min_digit_run``): the 11 recognizers of identifiers that have such
  a bound, with and without it;
- the scan for a name after a day skipped where no day is named
  (``given_names.may_name_a_day``): the given-name recognizer with and without it.

The labelled prompts of the third-party dev corpora (seed 1, as ``detection_cpu.py
--third-party``), the memos of a batch forgotten every ``--batch`` prompts as the detector
does; ``--rounds`` rounds, the order of on and off swapped each round; the median and range of
the rounds, µs of CPU per prompt. Findings are compared on and off (they must be equal).

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/skip_cuts_cpu.py [--corpora KEYS] [--rounds 7] [--batch 4]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from _timing import print_on_off, recognizers_findings_cpu

DEFAULT_CORPORA = "en/conll2003-test,en/presidio-synth-v2,fr/wikiann-test,es/conll2002-test"


def main() -> None:
    from streams.adapters.recognizers import PATTERN_RECOGNIZERS, build_recognizers, given_names
    from streams.adapters.recognizers.base import DouaneRecognizer
    from streams.adapters.recognizers.batch_memos import forget
    from streams.devtools.bench import third_party as tp

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=DEFAULT_CORPORA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    day_test = given_names.may_name_a_day
    print(f"skips on and off, interleaved; batches of {args.batch}, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.2f}")
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, 96, 1)[0]]
        recognizers = build_recognizers(corpus.language, {*PATTERN_RECOGNIZERS, "PERSON"})
        bounded = [r for r in recognizers if isinstance(r, DouaneRecognizer)
                   and getattr(r, "_needs_digits", False)]
        given = next(r for r in recognizers if isinstance(r, given_names.GivenNameRecognizer))
        bounds = {id(p): p.min_digit_run for r in bounded for p in r.PATTERNS}

        def digits(on: bool, bounded: list[Any] = bounded,
                   bounds: dict[int, int] = bounds) -> None:
            for r in bounded:
                r._needs_digits = on
                for p in r.PATTERNS:
                    p.min_digit_run = bounds[id(p)] if on else 0

        def days(on: bool) -> None:  # the module's test, or the scan always run
            given_names.may_name_a_day = day_test if on else (lambda text: True)

        for name, switch, chosen in (("identifiers, digit-run bound", digits, bounded),
                                     ("given names, day test", days, [given])):
            spent: dict[bool, list[float]] = {True: [], False: []}
            found: dict[bool, list[Any]] = {}
            for round_ in range(args.rounds + 1):  # the first round warms up, not counted
                for on in ((True, False) if round_ % 2 else (False, True)):
                    switch(on)
                    cpu, out = recognizers_findings_cpu(chosen, texts, args.batch, forget)
                    if round_:
                        spent[on].append(1e6 * cpu / len(texts))
                    found[on] = out
            switch(True)
            same = "same findings" if found[True] == found[False] else "FINDINGS DIFFER"
            print_on_off(key, name, spent, same)


if __name__ == "__main__":
    main()
