"""What each possible-name rule (streams/adapters/recognizers/possible_names.py) finds on the
third-party dev corpora: words that are a labelled person, words inside another labelled
entity (a place, an organisation: replaced by a policy that redacts those anyway), words
labelled nothing; and on the corpora's entity-free prompts, words reported per 1,000.

Only possible names a policy at their score would act on are counted: not those overlapping a
finding of any type scored 0.5 or more (that one wins the place).

    PYTHONPATH=$PWD DOUANE_CACHE=... .venv/bin/python benchmarks/possible_names.py \
        [--languages en,fr,es] [--role dev] [--examples 10]

``--examples`` prints, per rule, words labelled nothing or another type (third-party text;
only for corpora that may be looked at: never pass ``--role heldout`` with it).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

from streams.adapters.presidio_detector import PresidioDetector
from streams.core.model import ChatMessage, DetectionRequest
from streams.devtools.bench import third_party
from streams.devtools.bench.pii import ALWAYS_DETECTED, BATCH

POSSIBLE = "PossibleNameRecognizer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="en,fr,es")
    parser.add_argument("--role", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=0)
    args = parser.parse_args()
    if args.examples and args.role != "dev":
        parser.error("--examples only with --role dev")
    languages = [lang for lang in args.languages.split(",") if lang]
    root = third_party.cache_dir()
    corpora = [c for c in third_party.CORPORA if c.language in languages and c.role == args.role]
    detector = PresidioDetector(languages, entities={"PERSON", "LOCATION", "ORGANIZATION",
                                                     *ALWAYS_DETECTED}, possible_names=True)
    print(f"{'corpus':28} {'rule':26} {'person':>6} {'other':>6} {'none':>6} "
          f"{'free/1k words':>13}")
    for corpus in corpora:
        labelled, free = third_party.prompts(root, corpus, args.count, args.seed)
        tally: dict[str, Counter[str]] = defaultdict(Counter)
        examples: dict[str, list[str]] = defaultdict(list)
        for prompts, free_set in ((labelled, False), (free, True)):
            for start in range(0, len(prompts), BATCH):
                chunk = prompts[start:start + BATCH]
                detections = detector.detect_batch(
                    [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
                for prompt, detection in zip(chunk, detections, strict=True):
                    sure = [f for f in detection.findings if f.score >= 0.5]
                    for f in detection.findings:
                        if f.recognizer != POSSIBLE or any(
                                s.start < f.end and f.start < s.end for s in sure):
                            continue
                        rule = _rule(prompt.text, f, detection.language)
                        if free_set:
                            tally[rule]["free"] += 1
                            continue
                        gold = [g for g in prompt.spans if g.start < f.end and f.start < g.end]
                        kind = ("person" if any(g.entity_type == "PERSON" for g in gold)
                                else "other" if gold else "none")
                        tally[rule][kind] += 1
                        if kind != "person" and len(examples[rule]) < args.examples:
                            examples[rule].append(f"{kind}: {prompt.text[f.start:f.end]} | "
                                                  + prompt.text[max(0, f.start - 30):f.end + 30]
                                                  .replace("\n", " "))
        free_words = sum(p.words for p in free)
        for rule, counts in sorted(tally.items()):
            per_k = f"{1000 * counts['free'] / free_words:.2f}" if free_words else "-"
            print(f"{corpus.key:28} {rule:26} {counts['person']:>6} {counts['other']:>6} "
                  f"{counts['none']:>6} {per_k:>13}")
            for example in examples[rule]:
                print(f"      {example!r}")


_SPANS: dict[tuple[str, str], dict[tuple[int, int], str]] = {}


def _rule(text: str, finding: object, language: str) -> str:
    """Which rule reported a finding (the recognizer's results carry it; findings do not)."""
    from streams.adapters.recognizers.possible_names import possible_names

    key = (text, language)
    if key not in _SPANS:
        _SPANS.clear()
        _SPANS[key] = {(s, e): rule for s, e, _, rule in possible_names(text, language)}
    return _SPANS[key].get((finding.start, finding.end), "?")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
