"""Would the other installed spaCy models, as voters across languages, find more persons?
(issue 14; the vote kept is ``DOUANE_NER_VOTE``, streams/adapters/recognizers/xlingual_ner.py)

On the third-party corpora of ``douane bench pii --third-party`` (same prompts: 200 per
corpus, seed 1, language detected as the bench does, scored by ``pii.score`` with the policy's
overlap resolution), for each corpus of the role asked for:

- ``douane``: the detector as it is (``DOUANE_NER_VOTE=off``, the first pass);
- ``<x> alone``: model ``x``'s own PERSON, LOCATION and ORGANIZATION spans, whatever the text's
  language (how good each model is on another language's text);
- ``+<x> union``: the first pass plus model ``x``'s PERSON spans at 0.84 (below NER's 0.85: it
  adds only where nothing is) when ``x`` is not the text's language; ``+others union``: both
  other models';
- ``+others 2+cap``: the same, only spans of two capitalised words or more with no function
  word, title or opening word (``CrossLanguageVote.looks_like_a_name``);
- ``+others known``: only spans with a word the name lexicon knows or no dictionary holds;
- ``+vote .84``: both other models agree (overlapping PERSON spans) and the span looks like a
  name, always at 0.84;
- ``+vote (kept)``: ``CrossLanguageVote.vote`` itself: the same at 0.86 where the span holds
  whole the first-pass names, places or organisations it overlaps (it relabels them).

Each row: PERSON precision / recall / F2 / persons leaked (no finding of any type covers 80 %
of them), every type leaked, and over-redaction: the entity-free prompts of the corpus with a
PERSON reported. Then, with ``--cpu``, the detection's CPU per prompt (this thread,
``time.thread_time``, language given, batches of 32, best of ``--repeat``) with the vote off,
``vote-unsure`` and ``vote``, and the share of sentences the unsure mode hands the voters
(``xlingual_ner.sentences_to_read``).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/xlingual_vote.py [--role dev|heldout]
        [--languages en,fr,es] [--cpu [--modes off,vote-unsure] [--no-quality]] [--repeat 3]

Held-out corpora: print the summary rows only, never a sentence (this script prints none).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.core.model import Finding
    from streams.devtools.bench.pii_data import LabelledPrompt

LANGUAGES = ("en", "fr", "es")
BATCH = 32
SCORED = ("PERSON", "LOCATION", "ORGANIZATION", "PHONE_NUMBER", "STREET_ADDRESS")

# (text, its detected language, the first pass's findings, each model's raw findings)
Row = tuple[str, str, list["Finding"], dict[str, list[tuple[str, int, int, float, str]]]]
Variant = Callable[[Row], list["Finding"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--languages", default="en,fr,es")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", action="store_true", help="also CPU per prompt, each mode")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="off,vote-unsure,vote",
                        help="DOUANE_NER_VOTE modes whose CPU is measured (--cpu)")
    parser.add_argument("--no-quality", action="store_true", help="the CPU figures only")
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.config import NerTiers, load_settings
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii import ALWAYS_DETECTED

    languages = [lang for lang in args.languages.split(",") if lang]
    root = third_party.cache_dir()
    corpora = [c for c in third_party.CORPORA if c.language in languages and c.role == args.role]
    try:
        prompts = {c: third_party.prompts(root, c, args.count, args.seed) for c in corpora}
    except third_party.CorpusMissing as error:
        print(f"xlingual_vote: skipped: {error}")
        return 0
    entities = {*SCORED, *ALWAYS_DETECTED}
    detector = PresidioDetector(LANGUAGES, entities=entities, ner_tiers=NerTiers(vote="off"),
                                phone_regions=load_settings().phone_regions)
    print(f"third-party corpora from {root} (files digest {third_party.fingerprint(root)}), "
          f"{args.count} prompts per corpus, seed {args.seed}; load average "
          f"{os.getloadavg()[0]:.2f}")
    for corpus in [] if args.no_quality else corpora:
        labelled, free = prompts[corpus]
        print(f"\n-- {corpus.key} ({corpus.role}, {len(labelled)} prompts, "
              f"{len(free)} entity-free)")
        rows = _collect(detector, labelled), _collect(detector, free)
        print(f"{'variant':18} {'P':>6} {'R':>6} {'F2':>6} {'leaked':>6} {'all leaked':>10} "
              f"{'over-redaction':>14}")
        for name, variant in _variants():
            print(_scored(name, variant, labelled, free, *rows))
    if args.cpu:
        _cpu(corpora, prompts, entities, args.repeat, args.modes.split(","))
    return 0


def _collect(detector: Any, prompts: Sequence[LabelledPrompt]) -> list[Row]:
    from streams.core.model import ChatMessage, DetectionRequest

    rows: list[Row] = []
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
        texts = [p.text for p in chunk]
        models = {lang: detector._spacy_findings(*_model(detector, lang), lang, texts)
                  for lang in LANGUAGES}
        rows.extend((p.text, d.language, list(d.findings),
                     {lang: models[lang][i] for lang in LANGUAGES})
                    for i, (p, d) in enumerate(zip(chunk, detections, strict=True)))
    return rows


def _model(detector: Any, language: str) -> tuple[Any, frozenset[str]]:
    return detector._nlp[language], detector._common_words[language]


def _variants() -> list[tuple[str, Variant]]:
    from streams.adapters.recognizers.given_names import common_words, lexicon
    from streams.adapters.recognizers.xlingual_ner import (
        SCORE_ADDED,
        WORD,
        CrossLanguageVote,
        voters,
    )
    from streams.core.model import Finding

    judge = CrossLanguageVote(lambda language, texts: [], "vote")
    given, surnames, common = lexicon("given_names"), lexicon("surnames"), common_words()

    def known(text: str, start: int, end: int) -> bool:
        words = [w.group().casefold() for w in WORD.finditer(text, start, end)
                 if w.group()[0].isupper()]
        return any(w in given or w in surnames or w not in common for w in words)

    def persons(row: Row, voter: str) -> list[tuple[int, int]]:
        return [(s, e) for entity, s, e, *_ in row[3][voter] if entity == "PERSON"]

    def alone(model: str) -> Variant:
        return lambda row: [Finding(0, entity, s, e, 0.85, model)
                            for entity, s, e, *_ in row[3][model]]

    def added(chosen: Callable[[str], Sequence[str]],
              keep: Callable[[str, int, int], bool] = lambda *_: True) -> Variant:
        def run(row: Row) -> list[Finding]:
            text, language, first, _ = row
            return first + [Finding(0, "PERSON", s, e, SCORE_ADDED, f"+{voter}")
                            for voter in chosen(language) for s, e in persons(row, voter)
                            if keep(text, s, e)]
        return run

    def vote(at_84: bool) -> Variant:
        def run(row: Row) -> list[Finding]:
            text, language, first, _ = row
            raw = [(f.entity_type, f.start, f.end, f.score, f.recognizer) for f in first]
            found = judge.vote(text, raw, {v: persons(row, v) for v in voters(language)})
            return first + [Finding(0, "PERSON", s, e, SCORE_ADDED if at_84 else score, name)
                            for _, s, e, score, name in found]
        return run

    others: Callable[[str], Sequence[str]] = voters
    return [
        ("douane", lambda row: row[2]),
        *((f"{model} alone", alone(model)) for model in LANGUAGES),
        *((f"+{model} union", added(lambda lang, m=model: [m] if m != lang else []))
          for model in LANGUAGES),
        ("+others union", added(others)),
        ("+others 2+cap", added(others, judge.looks_like_a_name)),
        ("+others known", added(others, known)),
        ("+vote .84", vote(True)),
        ("+vote (kept)", vote(False)),
    ]


def _scored(name: str, variant: Variant, labelled: Sequence[LabelledPrompt],
            free: Sequence[LabelledPrompt], rows: list[Row], free_rows: list[Row]) -> str:
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import Scores, score

    rules = {entity: EntityRule(min_score=0.5) for entity in SCORED}
    scores = Scores()
    for prompt, row in zip(labelled, rows, strict=True):
        score(prompt, select_findings(variant(row), rules), scores)
    # as ``douane bench pii`` counts it: persons selected among themselves
    persons_only = {"PERSON": rules["PERSON"]}
    with_person = sum(bool(select_findings(variant(row), persons_only)) for row in free_rows)
    person = scores.by_entity["PERSON"]
    over = f"{with_person} of {len(free)}" if free else "-"
    return (f"{name:18} {person.precision:6.3f} {person.recall:6.3f} {person.f2:6.3f} "
            f"{person.leaked:6} {scores.overall().leaked:10} {over:>14}")


def _cpu(corpora: Sequence[Any], prompts: dict[Any, Any], entities: set[str],
         repeat: int, modes: Sequence[str]) -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers.slovnet_ner import SENTENCE
    from streams.adapters.recognizers.xlingual_ner import person_cover, sentences_to_read
    from streams.config import NerTiers
    from streams.core.model import ChatMessage, DetectionRequest

    print(f"\n== CPU per prompt, language given, batches of {BATCH}, best of {repeat}, "
          f"load average {os.getloadavg()[0]:.2f} ==")
    detectors = {mode: PresidioDetector(LANGUAGES, entities=entities,
                                        ner_tiers=NerTiers(vote=mode))
                 for mode in dict.fromkeys(["off", *modes])}
    for corpus in corpora:
        labelled = prompts[corpus][0]
        requests = [DetectionRequest((ChatMessage("user", p.text),), corpus.language)
                    for p in labelled]
        cells = []
        for mode, detector in detectors.items():
            best = float("inf")
            for _ in range(repeat):
                started = time.thread_time()
                for i in range(0, len(requests), BATCH):
                    detector.detect_batch(requests[i : i + BATCH])
                best = min(best, time.thread_time() - started)
            per_prompt = 1000 * best / len(requests)
            cells.append(f"{mode} {per_prompt:.2f} ms ({1000 / per_prompt:.0f}/s)")
        off = detectors["off"]
        firsts = [[(f.entity_type, f.start, f.end, f.score, f.recognizer)
                   for f in off.detect((r.messages[0],), corpus.language).findings]
                  for r in requests]
        texts = [p.text for p in labelled]
        read = sum(len(sentences_to_read(text, person_cover(first)))
                   for text, first in zip(texts, firsts, strict=True))
        total = sum(len(SENTENCE.findall(text)) for text in texts) or 1
        print(f"{corpus.key:26} " + ", ".join(cells) +
              f"; vote-unsure reads {read} of {total} sentences ({read / total:.0%})")


if __name__ == "__main__":
    raise SystemExit(main())
