"""CPU of branch ``enprec``'s doubted persons (``recognizers/not_persons.py``) on the English dev
corpora's prompts (docs/benchmarks.md, "English persons' precision and over-redaction").

Two figures per corpus, both thread CPU:

- **the rule alone**: ``doubted`` over each prompt's findings (the detector's raw findings,
  computed once beforehand and not timed), twice as ``_after_recognizers`` calls it (the second
  time on the same findings: an upper bound of the widened pass), best of ``--repeat``;
- **the steps after the recognizers, on and off**: ``_after_recognizers`` over the same raw
  findings with ``doubted`` in place and replaced by the identity, alternated ``--repeat`` times
  in one process (median and range). With it on, the steps also do less (no widening or later
  mention of a doubted person), so the difference may be a saving.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/not_persons_cpu.py [--corpora en/conll2003-test,en/presidio-synth-v2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from _timing import best, print_on_off

from streams.adapters import presidio_detector
from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers import not_persons
from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.devtools.bench import third_party


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="en/conll2003-test,en/presidio-synth-v2,"
                                             "en/wnut17-dev")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = third_party.cache_dir()
    keys = args.corpora.split(",")
    raw: list[list[Finding]] = []
    real_steps = presidio_detector._after_recognizers

    def keep_raw(contents: list[str], found: list[Finding], language: str) -> list[Finding]:
        raw.append(list(found))
        return real_steps(contents, found, language)

    presidio_detector._after_recognizers = keep_raw
    detector = PresidioDetector(["en"])
    for corpus in [c for c in third_party.CORPORA if c.key in keys]:
        labelled, free = third_party.prompts(root, corpus, args.count, 1)
        texts = [p.text for p in (*labelled, *free)]
        raw.clear()
        detector.detect_batch([DetectionRequest((ChatMessage("user", t),), "en") for t in texts])
        found = list(raw)
        n = len(texts)

        def rule(texts: Sequence[str] = texts, found: list[list[Finding]] = found) -> None:
            for text, findings in zip(texts, found, strict=True):
                not_persons.doubted([text], not_persons.doubted([text], findings, "en"), "en")

        alone = best(args.repeat, rule)
        spent: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for on in (False, True):
                presidio_detector.doubted = (  # type: ignore[assignment]
                    not_persons.doubted if on else (lambda _t, f, _l=None: list(f)))
                started = time.thread_time()
                for text, findings in zip(texts, found, strict=True):
                    real_steps([text], list(findings), "en")
                spent[on].append((time.thread_time() - started) / n * 1e6)
        presidio_detector.doubted = not_persons.doubted
        words = sum(len(t.split()) for t in texts) / n
        print(f"{corpus.key:22} {n} prompts, {words:.0f} words: doubted alone (two passes) "
              f"{alone / n * 1e6:.1f} µs CPU per prompt, best of {args.repeat}", flush=True)
        print_on_off(corpus.key, "steps after the recognizers", spent,
                     "(saved < 0: what doubting costs)")


if __name__ == "__main__":
    main()
