"""Which text should the trained English NER read? (``DOUANE_EN_WEB_NER``, issue 14)

The built model (``douane models build en-web-ner``) is run as the tier runs it
(``EnWebNerTier.find``, after the shipped detector's first pass, English only, language
detected as ``douane bench pii`` does) in each of its modes, on the corpora of ``douane bench
pii --third-party`` (200 prompts per corpus, seed 1), and scored as that bench scores
(``pii.score``, the policy's overlap resolution). Rows: ``douane`` (the tier off), ``+trained,
no stop list`` (every PERSON span of the model over whole prompts, where nothing of the first
pass is: what the experiment of branch ``trainner`` called the union), then each mode.
Columns: PERSON precision / recall / F2 / persons leaked, every type leaked, over-redaction
(entity-free prompts with a PERSON, PERSONs per 1,000 words), the share of sentences read and
the tier's CPU per prompt (``time.thread_time`` around ``find``, best of 3).

    nice -n 10 env PYTHONPATH=$PWD DOUANE_CACHE=/work/main/.cache .venv/bin/python \\
        benchmarks/en_web_ner_bench.py --model DIR [--role dev|heldout]

``--role heldout`` (WNUT-17 test, WikiNEuRal en) prints summary rows only.
Not a bench of the whole pipeline: a name the tier adds is not searched for again elsewhere
in the prompt here, as ``douane bench pii`` with the tier on does.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCORED = ("PERSON", "LOCATION", "ORGANIZATION", "PHONE_NUMBER", "STREET_ADDRESS")
BATCH = 32
DEV_CORPORA = ("en/wnut17-dev", "en/conll2003-test", "en/presidio-synth-v2")
HELDOUT_CORPORA = ("en/wnut17-test", "en/wikineural-test")
MODES = ("trained", "trained-unsure", "trained-candidates")

Raw = tuple[str, int, int, float, str]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--role", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers.en_web_ner import EnWebNerTier, load_model
    from streams.config import NerTiers, load_settings
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii import ALWAYS_DETECTED

    model = load_model(args.model)
    tiers = {mode: EnWebNerTier(args.model, mode, nlp=model) for mode in MODES}
    root = third_party.cache_dir()
    wanted = DEV_CORPORA if args.role == "dev" else HELDOUT_CORPORA
    corpora = [c for c in third_party.CORPORA if c.key in wanted]
    detector = PresidioDetector(["en"], entities={*SCORED, *ALWAYS_DETECTED},
                                phone_regions=load_settings().phone_regions,
                                ner_tiers=NerTiers())
    print(f"third-party corpora from {root} (files digest {third_party.fingerprint(root)}), "
          f"{args.count} prompts per corpus, seed {args.seed}; model {args.model}; "
          f"load average {os.getloadavg()[0]:.2f}")
    for corpus in corpora:
        labelled, free = third_party.prompts(root, corpus, args.count, args.seed)
        first, first_free = _first(detector, labelled), _first(detector, free)
        print(f"\n-- {corpus.key} ({corpus.role}, {len(labelled)} prompts, "
              f"{len(free)} entity-free)")
        print(f"{'variant':28} {'P':>6} {'R':>6} {'F2':>6} {'leaked':>6} {'all leaked':>10} "
              f"{'over-redaction':>20} {'read':>5} {'ms/prompt':>9}")
        texts = [p.text for p in labelled]
        free_texts = [p.text for p in free]
        print(_scored("douane", labelled, free, first, first_free) + f" {'-':>5} {'-':>9}")
        raw = _union_raw(model, texts, first)
        raw_free = _union_raw(model, free_texts, first_free)
        print(_scored("+trained, no stop list", labelled, free, raw, raw_free)
              + f" {'100%':>5} {'-':>9}")
        for mode, tier in tiers.items():
            added = tier.find(texts, first)
            added_free = tier.find(free_texts, first_free)
            ms = _cpu_ms(tier, texts, first)
            share = _read_share(mode, texts, first)
            print(_scored(f"+{mode}", labelled, free,
                          [f + a for f, a in zip(first, added, strict=True)],
                          [f + a for f, a in zip(first_free, added_free, strict=True)])
                  + f" {share:>5.0%} {ms:9.2f}")
    return 0


def _first(detector: Any, prompts: Sequence[Any]) -> list[list[Raw]]:
    from streams.core.model import ChatMessage, DetectionRequest

    out: list[list[Raw]] = []
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
        out.extend([(f.entity_type, f.start, f.end, f.score, f.recognizer)
                    for f in d.findings] if d.language == "en" else [] for d in detections)
    return out


def _union_raw(model: Any, texts: Sequence[str],
               first: Sequence[list[Raw]]) -> list[list[Raw]]:
    out = []
    for found, doc in zip(first, model.pipe(texts, batch_size=BATCH), strict=True):
        added = [("PERSON", e.start_char, e.end_char, 0.84, "raw") for e in doc.ents
                 if e.label_ == "PERSON" and not any(
                     f[3] >= 0.5 and f[1] < e.end_char and e.start_char < f[2] for f in found)]
        out.append(found + added)
    return out


def _read_share(mode: str, texts: Sequence[str], first: Sequence[list[Raw]]) -> float:
    from streams.adapters.recognizers.en_web_ner import pieces_to_read
    read = sum(end - start for text, found in zip(texts, first, strict=True)
               for start, end in pieces_to_read(mode, text, found))
    return read / (sum(len(t) for t in texts) or 1)


def _cpu_ms(tier: Any, texts: Sequence[str], first: Sequence[list[Raw]]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        for start in range(0, len(texts), BATCH):
            tier.find(texts[start : start + BATCH], first[start : start + BATCH])
        best = min(best, time.thread_time() - started)
    return 1000 * best / max(1, len(texts))


def _scored(name: str, labelled: Sequence[Any], free: Sequence[Any],
            rows: Sequence[list[Raw]], free_rows: Sequence[list[Raw]]) -> str:
    from streams.core.model import Finding
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import Scores, score

    def findings(row: list[Raw]) -> list[Finding]:
        return [Finding(0, *f) for f in row]

    rules = {entity: EntityRule(min_score=0.5) for entity in SCORED}
    scores = Scores()
    for prompt, row in zip(labelled, rows, strict=True):
        score(prompt, select_findings(findings(row), rules), scores)
    persons_only = {"PERSON": rules["PERSON"]}
    selected = [select_findings(findings(row), persons_only) for row in free_rows]
    with_person = sum(bool(s) for s in selected)
    words = sum(p.words for p in free)
    over = (f"{with_person / len(free):.1%}, {1000 * sum(map(len, selected)) / words:.2f}/kw"
            if free else "-")
    person = scores.by_entity["PERSON"]
    return (f"{name:28} {person.precision:6.3f} {person.recall:6.3f} {person.f2:6.3f} "
            f"{person.leaked:6} {scores.overall().leaked:10} {over:>20}")

if __name__ == "__main__":
    raise SystemExit(main())
