"""Phone numbers reported where there are none: over-redaction by the phone recognizer.

Runs the whole detector (every entity type, language detected, findings selected as the
pipeline selects them at score 0.5) on:

- the prompts ``douane bench pii --third-party`` builds from each dev corpus (labelled and
  entity-free; seed 1). These corpora label no phone numbers (presidio-research excepted, where
  a finding overlapping a labelled phone is not counted), so every ``PHONE_NUMBER`` finding is
  suspect: it is counted, and its *shape* is listed (each digit run replaced by its length:
  "2 1 1 1 2 2 2" for a league-table row), never its text;
- the generated prompts of ``douane bench pii`` (train and held-out, five languages): phone
  recall and false positives (planted phone numbers must all stay found);
- prompts made only of the generated prompts' filler sentences (no personal data at all).

    DOUANE_CACHE=... PYTHONPATH=. .venv/bin/python benchmarks/phone_over_redaction.py \
        [--count 200] [--shapes 15]

A corpus that is not fetched (``douane bench fetch-corpora``) is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import random
import re
from collections import Counter

from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings

PHONE = "PHONE_NUMBER"
LANGUAGES = ("en", "fr", "es", "uk", "is")


def shape(text: str) -> str:
    """The writing without its digits: each digit run replaced by its length."""
    return re.sub(r"\d+", lambda m: str(len(m.group())), text)


def main() -> int:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii_data import LabelledPrompt, generate
    from streams.devtools.bench.pii_templates import FILLER

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--shapes", type=int, default=15, help="shapes listed per corpus")
    args = parser.parse_args()

    detector = PresidioDetector(LANGUAGES)
    rules = {entity: EntityRule(min_score=0.5) for entity in detector.entities}

    def phones(prompts: list[LabelledPrompt]) -> tuple[int, int, int, int, Counter[str]]:
        """(planted phones, found, false positives, prompts with a false positive, shapes)."""
        planted = found = false = with_false = 0
        shapes: Counter[str] = Counter()
        for start in range(0, len(prompts), 32):
            chunk = prompts[start : start + 32]
            detections = detector.detect_batch(
                [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
            for prompt, detection in zip(chunk, detections, strict=True):
                selected: list[Finding] = [f for f in select_findings(detection.findings, rules)
                                           if f.entity_type == PHONE]
                gold = [s for s in prompt.spans if s.entity_type == PHONE]
                planted += len(gold)
                found += sum(_covered(prompt.text, g.start, g.end, selected) for g in gold)
                extra = [f for f in selected
                         if not any(g.start < f.end and f.start < g.end for g in gold)]
                false += len(extra)
                with_false += bool(extra)
                shapes.update(shape(prompt.text[f.start:f.end]) for f in extra)
        return planted, found, false, with_false, shapes

    print(f"phone over-redaction, load average {os.getloadavg()[0]:.2f}")
    print(f"{'set':36} {'prompts':>7} {'phones':>6} {'found':>5} {'false':>5} "
          f"{'prompts with a false':>20}")

    def report(name: str, prompts: list[LabelledPrompt]) -> None:
        planted, found, false, with_false, shapes = phones(prompts)
        print(f"{name:36} {len(prompts):>7} {planted:>6} {found:>5} {false:>5} "
              f"{with_false:>9} ({with_false / max(1, len(prompts)):.1%})")
        for written, count in shapes.most_common(args.shapes):
            print(f"      {count:>4}  {written!r}")

    root = third_party.cache_dir()
    for corpus in third_party.CORPORA:
        if corpus.role != "dev":
            continue
        try:
            labelled, free = third_party.prompts(root, corpus, args.count, 1)
        except third_party.CorpusMissing as missing:
            print(f"{corpus.key}: {missing}")
            continue
        report(f"{corpus.key} labelled", labelled)
        if free:
            report(f"{corpus.key} entity-free", free)
    for dataset in ("train", "heldout"):
        for language in LANGUAGES:
            report(f"generated {dataset} {language}", generate(dataset, language, args.count, 1))
    for language in LANGUAGES:
        rng = random.Random(f"filler/{language}")
        prompts = []
        for _ in range(args.count):
            words, sentences = rng.randint(50, 300), list[str]()
            while sum(len(s.split()) for s in sentences) < words:
                sentences.append(rng.choice(FILLER[language]))
            prompts.append(LabelledPrompt(language, " ".join(sentences), ()))
        report(f"generated filler only {language}", prompts)
    return 0


def _covered(text: str, start: int, end: int, findings: list[Finding]) -> bool:
    """>= 80 % of the value's characters covered, as ``douane bench pii`` counts a find."""
    wanted = {i for i in range(start, end) if not text[i].isspace()}
    covered = {i for f in findings for i in range(max(f.start, start), min(f.end, end))}
    return len(wanted & covered) >= 0.8 * len(wanted)


if __name__ == "__main__":
    raise SystemExit(main())
