"""CPU microseconds per prompt of the person rules of branch ``enrecall2`` alone, on the dev
corpora's prompts (docs/benchmarks.md, "English persons still missed, second pass").

The whole detection stage's CPU per prompt moves by 10-30 % between runs on a shared machine,
more than these rules cost; this times the rules alone with ``time.thread_time``, best of
``--repeat`` passes over the same prompts: the two shapes of ``name_shapes`` (a name the writer
gives, the scorers of a match result: each a scan of the text) and the two passes of
``consistent_names`` (over the findings the detector made of each prompt, computed once
beforehand and not timed). The third change, a name asked or told taken in lower case, runs
inside ``asked_names`` only where a cue is followed by a lower-case word; it is timed with it.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/person_rules_cpu.py [--corpora en/conll2003-test,en/presidio-synth-v2]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from _timing import best

from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers.consistent_names import in_capitals, over_ner_readings
from streams.adapters.recognizers.name_shapes import NameShapeRecognizer
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
    detector = PresidioDetector(["en"])
    shapes = NameShapeRecognizer("en")
    for corpus in [c for c in third_party.CORPORA if c.key in keys]:
        labelled, _ = third_party.prompts(root, corpus, args.count, 1)
        texts = [p.text for p in labelled]
        found: list[list[Finding]] = [
            list(d.findings) for d in detector.detect_batch(
                [DetectionRequest((ChatMessage("user", t),), None) for t in texts])]
        n = len(texts)
        def timed(rule: Callable[[str, list[Finding]], object],
                  texts: list[str] = texts, found: list[list[Finding]] = found) -> float:
            return best(args.repeat, lambda: [rule(t, f) for t, f in zip(texts, found,
                                                                         strict=True)])

        told = timed(lambda t, _: shapes.given_by_the_writer(t))
        asked = timed(lambda t, _: shapes.asked_names(t))
        scorers = timed(lambda t, _: shapes.scorers(t))
        readings = timed(lambda t, f: over_ner_readings([t], f))
        capitals = timed(lambda t, f: in_capitals([t], f))
        words = sum(len(t.split()) for t in texts) / n
        total = told + scorers + readings + capitals
        print(f"{corpus.key:24} {n} prompts, {words:.0f} words: µs CPU per prompt, best of "
              f"{args.repeat}: a name the writer gives {told / n * 1e6:.1f}, scorers "
              f"{scorers / n * 1e6:.1f}, one reading per name {readings / n * 1e6:.1f}, in "
              f"capitals {capitals / n * 1e6:.1f}; the four {total / n * 1e6:.1f} "
              f"(asked_names, with its lower-case path, {asked / n * 1e6:.1f})")


if __name__ == "__main__":
    main()
