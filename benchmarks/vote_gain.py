"""Where the cross-language vote's gain on a corpus comes from (issue 14, ``DOUANE_NER_VOTE``).

For each labelled prompt of a dev corpus (as ``douane bench pii --third-party`` draws them:
seed 1, 200 prompts, language detected among en, fr, es), the detector runs with the vote off
and with the vote mode(s) asked for (``DOUANE_NER_VOTE_LANGUAGES`` = the corpus's language).
Each gold ``PERSON`` span is scored as the bench scores it (``pii.score``: 80 % of its
characters covered by findings of the policy's choice, ``select_findings`` from 0.5). For the
persons a mode finds and ``off`` does not (its gain), and for those ``off`` finds and the mode
does not (its loss), it prints what the first pass had there:

- the text's own model's raw label on the span (every label, ``MISC`` too, which detection
  drops; the model reads whole sentences as detection does for Spanish): ``PER``, ``LOC``,
  ``ORG``, ``MISC`` or ``-`` (nothing);
- the type of the first pass's selected finding that covered it (``LOCATION``,
  ``ORGANIZATION``, ... or ``-`` when it leaked);

then the same for the vote's findings that are not a gold person (its false persons), and how
many sentences each mode hands the voters. Held-out corpora are refused: this prints spans'
labels (never their text) and is for dev data only.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python benchmarks/vote_gain.py \
        [--corpus es/conll2002-test] [--modes vote-unsure,vote]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.core.model import Finding
    from streams.devtools.bench.pii_data import LabelledPrompt, Span

LANGUAGES = ("en", "fr", "es")
BATCH = 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="es/conll2002-test")
    parser.add_argument("--modes", default="vote-unsure")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--context", type=int, default=None,
                        help="vote-places: words either side of a run (PLACE_CONTEXT_WORDS)")
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.config import NerTiers, load_settings
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii import ALWAYS_DETECTED

    if args.context is not None:
        from streams.adapters.recognizers import xlingual_ner

        xlingual_ner.PLACE_CONTEXT_WORDS = args.context
    corpus = next((c for c in third_party.CORPORA if c.key == args.corpus), None)
    if corpus is None or corpus.role != "dev":
        raise SystemExit(f"{args.corpus}: not a dev corpus (held-out ones are never read)")
    labelled, _ = third_party.prompts(third_party.cache_dir(), corpus, args.count, 1)
    entities = {"PERSON", "LOCATION", "ORGANIZATION", "PHONE_NUMBER", "STREET_ADDRESS",
                *ALWAYS_DETECTED}
    regions = load_settings().phone_regions
    modes = ["off", *(m for m in args.modes.split(",") if m)]
    detectors = {mode: PresidioDetector(LANGUAGES, entities=entities, phone_regions=regions,
                                        ner_tiers=NerTiers(vote=mode,
                                                           vote_languages=(corpus.language,)))
                 for mode in modes}
    print(f"{corpus.key}: {len(labelled)} prompts, seed 1, language detected; load average "
          f"{os.getloadavg()[0]:.2f}")
    read: dict[str, Counter[str]] = {mode: Counter() for mode in modes}
    for mode, detector in detectors.items():
        if detector._vote is not None:  # what the voters read, in this first pass only
            detector._vote._persons = _counting(detector._voter_persons, read[mode])
    findings = {mode: _detect(detector, labelled) for mode, detector in detectors.items()}
    text_chars = sum(len(p.text) for p in labelled)
    for mode, detector in detectors.items():  # warm: the second pass, CPU of this thread
        if detector._vote is not None:
            detector._vote._persons = detector._voter_persons
        started = time.thread_time()
        _detect(detector, labelled)
        print(f"{mode}: {1000 * (time.thread_time() - started) / len(labelled):.2f} ms CPU "
              "per prompt (detection, language detected, seen again); the voters read "
              + ", ".join(f"{voter} {n / text_chars:.1%}" for voter, n in
                          sorted(read[mode].items())) + " of the text's characters")
    own = detectors["off"]._nlp[corpus.language]
    raw = [_raw_labels(own, p.text) for p in labelled]
    for mode in modes[1:]:
        gained: Counter[tuple[str, str]] = Counter()
        lost: Counter[tuple[str, str]] = Counter()
        false: Counter[tuple[str, str]] = Counter()
        for p, before, after, labels in zip(labelled, findings["off"], findings[mode], raw,
                                            strict=True):
            for gold in p.spans:
                if gold.entity_type != "PERSON":
                    continue
                was, now = _found(p, gold, before), _found(p, gold, after)
                where = (_label(labels, gold.start, gold.end),
                         _covering(p, gold, before))
                if now and not was:
                    gained[where] += 1
                elif was and not now:
                    lost[where] += 1
            for f in after:
                if f.recognizer.startswith("xlingual-vote") and not any(
                        g.entity_type == "PERSON" and g.start < f.end and f.start < g.end
                        for g in p.spans):
                    gold_type = next((g.entity_type for g in p.spans
                                      if g.start < f.end and f.start < g.end), "-")
                    false[(_label(labels, f.start, f.end), gold_type)] += 1
        print(f"\n== {mode}: gold persons found with it and not without: "
              f"{sum(gained.values())}; lost: {sum(lost.values())} ==")
        print("  (own model's raw label on the span, first pass's covering type): count")
        for (label, covering), n in gained.most_common():
            print(f"  gained  {label:5} {covering:14} {n}")
        for (label, covering), n in lost.most_common():
            print(f"  lost    {label:5} {covering:14} {n}")
        print(f"  its persons on no gold person: {sum(false.values())} "
              "(own model's raw label, gold type there)")
        for (label, gold_type), n in false.most_common():
            print(f"  false   {label:5} {gold_type:14} {n}")
    return 0


def _counting(persons: Any, read: Counter[str]) -> Any:
    def counted(language: str, texts: Sequence[str]) -> Any:
        read[language] += sum(len(t) for t in texts)
        return persons(language, texts)
    return counted


def _detect(detector: Any, prompts: Sequence[LabelledPrompt]) -> list[list[Finding]]:
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings

    out: list[list[Finding]] = []
    for start in range(0, len(prompts), BATCH):
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None)
             for p in prompts[start:start + BATCH]])
        for d in detections:
            types = {f.entity_type for f in d.findings}
            out.append(list(select_findings(
                d.findings, {t: EntityRule(min_score=0.5) for t in types})))
    return out


def _raw_labels(nlp: Any, text: str) -> list[tuple[int, int, str]]:
    """Every entity the model labels in ``text``, read sentence by sentence as Spanish
    detection reads it (``name_chunks`` without a context: whole sentences)."""
    from streams.adapters.presidio_detector import SENTENCE

    spans = [(s.start(), s.end()) for s in SENTENCE.finditer(text)]
    out: list[tuple[int, int, str]] = []
    for (offset, _), doc in zip(spans, nlp.pipe(text[s:e] for s, e in spans), strict=True):
        out.extend((offset + ent.start_char, offset + ent.end_char, ent.label_)
                   for ent in doc.ents)
    return out


def _label(labels: Sequence[tuple[int, int, str]], start: int, end: int) -> str:
    """The raw label overlapping the span most, or ``-``."""
    best = max(((min(e, end) - max(s, start), label) for s, e, label in labels
                if s < end and start < e), default=(0, "-"))
    return best[1]


def _found(prompt: LabelledPrompt, gold: Span, findings: Sequence[Finding]) -> bool:
    from streams.devtools.bench.pii import COVERAGE, _coverage

    return _coverage(prompt.text, gold, [f for f in findings if f.entity_type == "PERSON"]
                     ) >= COVERAGE


def _covering(prompt: LabelledPrompt, gold: Span, findings: Sequence[Finding]) -> str:
    from streams.devtools.bench.pii import COVERAGE, _coverage

    types = sorted({f.entity_type for f in findings if f.start < gold.end
                    and gold.start < f.end})
    covered = _coverage(prompt.text, gold, findings) >= COVERAGE
    return ("+".join(types) or "-") + ("" if covered else " (leaked)")


if __name__ == "__main__":
    raise SystemExit(main())
