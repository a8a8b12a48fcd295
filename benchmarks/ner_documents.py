"""CPU milliseconds of English NER per text: the parts around possible names read as one spaCy
document each (what the detector does), against the same parts joined into one document
(tried on 2026-11-30 and reverted: no CPU difference, once both are measured the same way).

The texts are the prompts of ``benchmarks/concurrency.py`` (Faker's names, e-mails and phones
in 131 words) and the stand-in model's answers to them; each text read alone (light load), and
all texts in one batch (``nlp.pipe`` over everything, as a detection batch at saturation).
``time.process_time``, best of ``--repeat`` runs:

    .venv/bin/python benchmarks/ner_documents.py [--texts 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from concurrency import DIRECT_MODEL, PROMPTS

from streams.adapters.policy_files import load_policy_set
from streams.adapters.presidio_detector import (
    NER_CONTEXT_WORDS,
    detector_for_policy,
    name_chunks,
)
from streams.config import load_settings
from streams.devtools.model_server import answer_for


def best_ms_per_text(work: Callable[[], None], texts: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, (time.process_time() - started) * 1000 / texts)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=100, help="prompts (each with its answer)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    settings = load_settings()
    detector = detector_for_policy(load_policy_set(settings.policy_path).policy,
                                   settings.phone_regions)
    nlp, common = detector._nlp["en"], detector._common_words["en"]
    texts = [text for prompt in PROMPTS[:args.texts] for text in (prompt, answer_for(
        {"model": DIRECT_MODEL, "messages": [{"role": "user", "content": prompt}]}))]
    parts = [[(text[start:end]) for start, end in name_chunks(text, common,
                                                                NER_CONTEXT_WORDS["en"])]
             for text in texts]
    joined = ["\n\n".join(p) for p in parts]  # a paragraph break between the parts
    list(nlp.pipe(joined[:4]))  # warm up

    one_each = best_ms_per_text(lambda: [list(nlp.pipe(p)) for p in parts], len(texts),
                                args.repeat)
    as_one = best_ms_per_text(lambda: [list(nlp.pipe([d])) for d in joined], len(texts),
                              args.repeat)
    batch_each = best_ms_per_text(
        lambda: list(nlp.pipe([d for p in parts for d in p], batch_size=64)), len(texts),
        args.repeat)
    batch_one = best_ms_per_text(lambda: list(nlp.pipe(joined, batch_size=64)), len(texts),
                                 args.repeat)
    print(f"{len(texts)} texts, {sum(map(len, parts)) / len(texts):.1f} parts each on average;"
          " NER ms CPU per text:")
    print(f"  read alone:   one document per part {one_each:.1f}, joined {as_one:.1f}")
    print(f"  in one batch: one document per part {batch_each:.1f}, joined {batch_one:.1f}")


if __name__ == "__main__":
    main()
