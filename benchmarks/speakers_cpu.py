"""CPU microseconds per prompt of branch ``esuk``'s Spanish person rules alone
(``recognizers/speakers.py``: the speaker of a verb of saying, a person of initials found
whole), on the Spanish dev corpus's prompts (docs/benchmarks.md, "Spanish and Ukrainian
persons toward 0.92").

The whole detection stage's CPU per prompt moves by more between runs on a shared machine than
these rules cost; this times the rules alone with ``time.thread_time``, best of ``--repeat``
passes, over the findings the detector made of each prompt (computed once beforehand, not
timed), labelled and entity-free prompts together.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/speakers_cpu.py [--corpora es/conll2002-test,es/wikineural-test]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from _timing import best

from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers.speakers import initials_widened, speakers
from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.devtools.bench import third_party


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="es/conll2002-test")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = third_party.cache_dir()
    keys = args.corpora.split(",")
    detector = PresidioDetector(["es"])
    for corpus in [c for c in third_party.CORPORA if c.key in keys]:
        labelled, free = third_party.prompts(root, corpus, args.count, 1)
        texts = [p.text for p in (*labelled, *free)]
        found: list[list[Finding]] = [
            list(d.findings) for d in detector.detect_batch(
                [DetectionRequest((ChatMessage("user", t),), "es") for t in texts])]
        n = len(texts)

        def timed(rule: Callable[[str, list[Finding]], object],
                  texts: list[str] = texts, found: list[list[Finding]] = found) -> float:
            return best(args.repeat, lambda: [rule(t, f) for t, f in zip(texts, found,
                                                                         strict=True)])

        said = timed(lambda t, f: speakers([t], f, "es"))
        initials = timed(lambda t, f: initials_widened([t], f, "es"))
        words = sum(len(t.split()) for t in texts) / n
        print(f"{corpus.key:24} {n} prompts, {words:.0f} words: µs CPU per prompt, best of "
              f"{args.repeat}: speakers {said / n * 1e6:.1f}, initials {initials / n * 1e6:.1f}; "
              f"the two {(said + initials) / n * 1e6:.1f}")


if __name__ == "__main__":
    main()
