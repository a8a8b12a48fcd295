"""CPU of the cuts of branch ``onescan`` in the given-name pass, each measured on and off in
one process, interleaved pass by pass (separate runs on the shared machine move by more than
these save). "Off" puts back the scan the cut replaced (``finditer`` over the whole text), so
each cut is measured alone, the others on; ``every cut`` turns all of them off together (the
one scan of capitalised words then feeds nothing).

As ``given_street_cuts_cpu.py``: the labelled prompts of the third-party dev corpora (seed 1),
the memos of a batch forgotten every ``--batch`` prompts as the detector does; ``--rounds``
rounds (a first one to warm up, not counted), the order of on and off swapped each round; the
median and range of the rounds, µs of CPU per prompt, under the guard of a detection process
(``--guard timer``, the default) or a timeout per search. Findings are compared on and off.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/onescan_cuts_cpu.py [--corpora KEYS] [--rounds 7] [--batch 4]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from _timing import print_on_off, recognizers_findings_cpu

DEFAULT_CORPORA = "en/conll2003-test,en/presidio-synth-v2,fr/wikiann-test,es/conll2002-test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=DEFAULT_CORPORA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timer")
    args = parser.parse_args()

    # as the detection process: the detector's module first (numpy's threads set before)
    from streams.adapters import presidio_detector  # noqa: F401
    from streams.adapters.recognizers import base
    from streams.adapters.recognizers import given_names as gn
    from streams.adapters.recognizers.batch_memos import forget

    if args.guard == "timer":
        base.use_cpu_timer()
    recognizer_class = gn.GivenNameRecognizer

    def scanned(pattern: Any) -> Any:
        return lambda self, words: list(pattern.finditer(words.text, **self.searching))

    def vietnamese(self: Any, words: Any) -> Any:
        return [run for run in gn.VIETNAMESE_RUN.finditer(words.text, **self.searching)
                if gn.fold(run.group().partition(" ")[0]).casefold() in gn.VIETNAMESE_SURNAMES]

    def unknown(self: Any, words: Any) -> Any:
        return [word for word in gn.CAPITALISED_WORD.finditer(words.text, **self.searching)
                if gn.unknown_word(word.group())
                and word.group().casefold() not in gn.NOT_A_SURNAME]

    class Text:  # what the scans before read of the one scan: the text alone
        def __init__(self, text: str, timeout: Any) -> None:
            self.text = text

    # each cut: the method it replaced, as it read before (a scan of the whole text)
    cuts: dict[str, list[tuple[Any, str, Any]]] = {
        "name run": [(recognizer_class, "_name_runs", scanned(gn.NAME_RUN))],
        "lone word": [(recognizer_class, "_lone_words", scanned(gn.LONE_WORD))],
        "vietnamese run": [(recognizer_class, "_vietnamese_runs", vietnamese)],
        "unknown capitalised": [(recognizer_class, "_unknown_capitalised", unknown)],
    }
    # all of them off, and the one scan not made
    cuts["every cut"] = [change for changes in list(cuts.values()) for change in changes] + [
        (gn, "capitalised_words", Text)]
    saved = {(id(owner), name): getattr(owner, name) for changes in cuts.values()
             for owner, name, _ in changes}

    def switch(changes: list[tuple[Any, str, Any]], on: bool) -> None:
        for owner, name, before in changes:
            setattr(owner, name, saved[(id(owner), name)] if on else before)

    from streams.devtools.bench import third_party as tp

    print(f"cuts on and off, interleaved; batches of {args.batch}, {args.rounds} rounds, guard "
          f"{args.guard}, load average {os.getloadavg()[0]:.2f}", flush=True)
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, 96, 1)[0]]
        chosen = [recognizer_class(corpus.language)]
        for name, changes in cuts.items():
            spent: dict[bool, list[float]] = {True: [], False: []}
            found: dict[bool, list[Any]] = {}
            for round_ in range(args.rounds + 1):
                for on in ((True, False) if round_ % 2 else (False, True)):
                    switch(changes, on)
                    cpu, out = recognizers_findings_cpu(chosen, texts, args.batch, forget)
                    if round_:
                        spent[on].append(1e6 * cpu / len(texts))
                    found[on] = out
            switch(changes, True)
            same = "same findings" if found[True] == found[False] else "FINDINGS DIFFER"
            print_on_off(key, name, spent, same)
        print(f"{key:22} load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
