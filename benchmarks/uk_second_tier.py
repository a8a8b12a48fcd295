"""CPU per Ukrainian prompt of the whole detection stage with the second-tier NER
(``DOUANE_UK_NER``: off, slovnet, slovnet-unsure), and the share of sentences the unsure
mode sends to the model (issue 14).

Prompts: the generated Ukrainian train set of ``douane bench pii`` (seed 1) and, when
``douane bench fetch-corpora`` has run, the 200 BRUK (dev) prompts of ``bench pii
--third-party``. ``time.thread_time`` around ``detect_batch`` (batches of 32, language
given, every entity type the code knows), best of ``--repeat`` runs. Needs the PyPI packages
``natasha``, ``slovnet``, ``navec``, ``razdel`` for the two slovnet modes:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/uk_second_tier.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

BATCH = 32
MODES = ("off", "slovnet", "slovnet-unsure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import KNOWN_ENTITIES
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii_data import generate

    loads = {"generated uk (train)": [p.text for p in generate("train", "uk", args.count, 1)]}
    bruk = [c for c in third_party.CORPORA if c.language == "uk" and c.role == "dev"]
    try:
        for corpus in bruk:
            labelled, _ = third_party.prompts(third_party.cache_dir(), corpus, args.count, 1)
            loads[f"{corpus.key} (dev)"] = [p.text for p in labelled]
    except third_party.CorpusMissing as missing:
        print(f"({missing})")

    for mode in MODES:
        detector = PresidioDetector(("uk",), KNOWN_ENTITIES, uk_ner=mode)
        for name, texts in loads.items():
            requests = [DetectionRequest((ChatMessage("user", t),), "uk") for t in texts]
            best = min(_cpu(detector, requests) for _ in range(args.repeat))
            words = sum(len(t.split()) for t in texts) / len(texts)
            line = (f"{mode:15} {name:28} {len(texts)} prompts, {words:.0f} words on average: "
                    f"{1000 * best / len(texts):.2f} ms CPU per prompt, "
                    f"{len(texts) / best:.0f} prompts per CPU-second")
            second = detector._second_tier.get("uk")
            if mode == "slovnet-unsure" and second is not None:
                lexicon = detector._lexicons["uk"]
                covered = [[(r.start, r.end) for r in lexicon.analyze(t, None) if r.score >= 0.5]
                           for t in texts]
                read, total = second.sentences_read(texts, covered)
                line += f"; the model read {read} of {total} sentences ({read / total:.0%})"
            print(line, flush=True)


def _cpu(detector: object, requests: list[object]) -> float:
    started = time.thread_time()
    for start in range(0, len(requests), BATCH):
        detector.detect_batch(requests[start : start + BATCH])  # type: ignore[attr-defined]
    return time.thread_time() - started


if __name__ == "__main__":
    main()
