"""What a detection process keeps of what it has read: spaCy's vocabulary (strings, lexemes) and the
process's resident memory after every block of unseen third-party prompts, one prompt per call
(one caller), the language given. Without spaCy's memory zone the vocabulary grows with every
new word read, names included; with it (``spacy_ops.read_and_forget``) it should stay flat
after the first prompts (douane's own word memos are bounded: ``lru_cache(maxsize=16384)``).

Reads the dev corpora of ``douane bench fetch-corpora`` (never the held-out ones), seeds 1, 2,
3... until ``--prompts`` per corpus; prints counts, never texts:

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/detection_memory.py [--corpora en/conll2003-dev,fr/wikiann-dev] [--prompts 600]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

STEP = 100


def lexemes(nlp: object) -> int:
    """The lexemes in the vocabulary now (``len(vocab)`` counts every one ever made, the ones a
    memory zone freed included)."""
    return sum(1 for _ in nlp.vocab)  # type: ignore[attr-defined]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="",
                        help="corpus keys (default: every dev corpus read by spaCy)")
    parser.add_argument("--prompts", type=int, default=600, help="unseen prompts per corpus")
    args = parser.parse_args()

    import streams
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    wanted = [k for k in args.corpora.split(",") if k]
    corpora = [c for c in tp.CORPORA if (c.key in wanted if wanted else
                                         c.role == "dev" and c.language in ("en", "fr", "es"))]
    detector = PresidioDetector(sorted({c.language for c in corpora}))
    print(f"detection memory - code in {os.path.dirname(streams.__file__)}, one prompt per "
          f"call, language given; vocabulary strings / lexemes / resident MB after every {STEP} "
          f"prompts, load average {os.getloadavg()[0]:.2f}", flush=True)
    root = tp.cache_dir()
    for corpus in corpora:
        nlp = detector._nlp[corpus.language]
        texts: list[str] = []
        seed = 1
        while len(texts) < args.prompts:
            labelled, free = tp.prompts(root, corpus, args.prompts, seed)
            texts.extend(p.text for p in labelled + free)
            seed += 1
        texts = texts[:args.prompts]
        readings = [f"start {len(nlp.vocab.strings)} / {lexemes(nlp)} / {rss_mb():.0f}"]
        started = time.process_time()
        for n, text in enumerate(texts, 1):
            detector.detect_batch([DetectionRequest((ChatMessage("user", text),),
                                                    corpus.language)])
            if n % STEP == 0:
                readings.append(f"{n}: {len(nlp.vocab.strings)} / {lexemes(nlp)} / "
                                f"{rss_mb():.0f}")
        spent = time.process_time() - started
        print(f"{corpus.key:24} " + ", ".join(readings)
              + f"; {1000 * spent / len(texts):.2f} ms CPU per prompt, peak resident "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
