"""CPU of the cuts of branch ``onescan`` in the given-name pass, each measured on and off in
one process, interleaved pass by pass (separate runs on the shared machine move by more than
these save). "Off" puts back what ran before the cut (every lone word judged; the parts test's
lists built for every word), so each cut is measured alone, the others on; ``every cut`` turns
both off together.

As ``given_street_cuts_cpu.py``: the labelled prompts of the third-party dev corpora (seed 1),
the memos of a batch forgotten every ``--batch`` prompts as the detector does; ``--rounds``
rounds (a first one to warm up, not counted), the order of on and off swapped each round; the
median and range of the rounds, µs of CPU per prompt, under the guard of a detection process
(``--guard timer``, the default) or a timeout per search. Findings are compared on and off.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/onescan_cuts_cpu.py [--corpora KEYS] [--rounds 9] [--batch 4]
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

from _timing import cut_on_off

DEFAULT_CORPORA = "en/conll2003-test,en/presidio-synth-v2,fr/wikiann-test,es/conll2002-test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=DEFAULT_CORPORA)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timer")
    parser.add_argument("--skipped", action="store_true",
                        help="time only the work each cut skips, best of --rounds")
    args = parser.parse_args()

    # as the detection process: the detector's module first (numpy's threads set before)
    from streams.adapters import presidio_detector  # noqa: F401
    from streams.adapters.recognizers import base
    from streams.adapters.recognizers import given_names as gn
    from streams.adapters.recognizers.batch_memos import forget
    from streams.devtools.bench import third_party as tp

    if args.guard == "timer":
        base.use_cpu_timer()
    recognizer_class = gn.GivenNameRecognizer

    def parts_before(self: Any, word: str,
                     limit: float = gn.GIVEN_NAME_MAX_WORD_FREQUENCY) -> bool:
        """``_given_name_parts`` before the cut: its lists built for every word."""
        parts = [part[:1].upper() + part[1:] for part in word.split("-")]
        known = [self._given_name(part, self.given_here) and self.given_here[part] <= limit
                 for part in parts]
        return len(parts) > 1 and any(known) and all(
            k or gn.unknown_word(part) or gn.SYLLABLE.fullmatch(gn.fold(part).casefold())
            is not None for k, part in zip(known, parts, strict=True))

    # each cut: the method it changed, and what it was before
    cuts: dict[str, list[tuple[str, Any]]] = {
        "lone words gated": [("_may_be_lone_name", lambda self, word: True)],
        "parts test at once": [("_given_name_parts", parts_before)],
    }
    cuts = {name: changes for name, changes in cuts.items()
            if all(hasattr(recognizer_class, attribute) for attribute, _ in changes)}
    cuts["every cut"] = [change for changes in list(cuts.values()) for change in changes]
    saved = {name: getattr(recognizer_class, name) for changes in cuts.values()
             for name, _ in changes}

    def switch(changes: list[tuple[str, Any]], on: bool) -> None:
        for name, before in changes:
            setattr(recognizer_class, name, saved[name] if on else before)

    if args.skipped:
        skipped(args, gn, parts_before, tp, forget)
        return
    print(f"cuts on and off, interleaved; batches of {args.batch}, {args.rounds} rounds, guard "
          f"{args.guard}, load average {os.getloadavg()[0]:.2f}", flush=True)
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, 96, 1)[0]]
        chosen = [recognizer_class(corpus.language)]
        for name, changes in cuts.items():
            cut_on_off(key, name, functools.partial(switch, changes), chosen, texts,
                       args.batch, forget, args.rounds)
        print(f"{key:22} load average {os.getloadavg()[0]:.2f}", flush=True)


def skipped(args: Any, gn: Any, parts_before: Any, tp: Any, forget: Any) -> None:
    """The work each cut skips, timed alone on what the pass hands it (best of ``--rounds``,
    so a busy machine's slow passes drop out): the lone words the gate turns away, judged as
    before; and the parts test on the words without a hyphen the pass asks it about, with its
    lists built (before) and returning at once (after)."""
    print(f"the work each cut skips, timed alone, best of {args.rounds}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, 96, 1)[0]]
        _skipped_on(key, texts, gn.GivenNameRecognizer(corpus.language), args, gn,
                    parts_before, forget)


def _skipped_on(key: str, texts: list[str], recognizer: Any, args: Any, gn: Any,
                parts_before: Any, forget: Any) -> None:
    from _timing import best

    turned_away = [word.group() for text in texts for word in gn.LONE_WORD.finditer(text)
                   if not recognizer._may_be_lone_name(word.group())]
    words = [word for text in texts for word in gn.LONE_WORD.finditer(text)
             if not recognizer._may_be_lone_name(word.group())]
    asked: list[str] = []
    ask = gn.GivenNameRecognizer._given_name_parts

    def record(self: Any, word: str, *rest: Any) -> bool:
        asked.append(word)
        return bool(ask(self, word, *rest))

    gn.GivenNameRecognizer._given_name_parts = record
    try:
        for i, text in enumerate(texts):
            recognizer.find_persons(text)
            if i % args.batch == args.batch - 1:
                forget()
    finally:
        gn.GivenNameRecognizer._given_name_parts = ask
    plain = [w for w in asked if "-" not in w]
    n = len(texts)
    judged = 1e6 * best(args.rounds, lambda: [recognizer._lone_given_name(w)
                                              for w in words]) / n
    gate = 1e6 * best(args.rounds, lambda: [recognizer._may_be_lone_name(w)
                                            for w in turned_away]) / n
    before = 1e6 * best(args.rounds, lambda: [parts_before(recognizer, w) for w in plain]) / n
    after = 1e6 * best(args.rounds, lambda: [recognizer._given_name_parts(w)
                                             for w in plain]) / n
    print(f"{key:22} lone words turned away {len(words) / n:5.1f} per prompt: judged "
          f"{judged:6.1f} µs, the gate {gate:5.1f}; parts test on {len(plain) / n:5.1f} words "
          f"without a hyphen: {before:6.1f} -> {after:5.1f} µs per prompt", flush=True)


if __name__ == "__main__":
    main()
