"""How often the selection of findings forwards part of a finding it drops.

``streams.core.redaction.select_findings`` keeps, of overlapping findings, the one with the
higher score (then the longer) and drops the others whole: what a dropped finding covers
beyond the kept ones reaches the model in plaintext (a name's first word where a place took
its surname, a phone number's end where an organisation took its start). This script counts,
on third-party prompts (`douane bench fetch-corpora`), the prompts where such a rest holds a
letter or a digit, by the dropped finding's type and the types that won, the types of
``--types`` (default: every type the detector reports, as `douane bench pii` scores them)
selected at ``--min-score``. It changes nothing; it measures the gap.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/overlap_rests.py [--corpora en/presidio-synth-v2,fr/wikiann-test] \\
        [--types PERSON,STREET_ADDRESS,...]
"""

from __future__ import annotations

import argparse
import collections

from streams.adapters.presidio_detector import PresidioDetector
from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings
from streams.devtools.bench import third_party


def rests(text: str, dropped: Finding, kept: list[Finding]) -> str:
    """The characters of ``dropped`` that no kept finding covers."""
    covered = {i for f in kept for i in range(f.start, f.end)}
    return "".join(text[i] for i in range(dropped.start, dropped.end) if i not in covered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="en/presidio-synth-v2,en/conll2003-test,"
                                             "fr/wikiann-test")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--min-score", type=float, default=0.5)
    parser.add_argument("--types", default="",
                        help="comma-separated entity types a policy redacts (default: all)")
    args = parser.parse_args()
    root = third_party.cache_dir()
    for key in args.corpora.split(","):
        language, name = key.split("/")
        corpus = next(c for c in third_party.CORPORA
                      if c.name == name and c.language == language)
        prompts, _ = third_party.prompts(root, corpus, args.count, 1)
        detector = PresidioDetector((language,))
        types = set(args.types.split(",")) if args.types else set(detector.entities)
        rules = {entity: EntityRule(min_score=args.min_score)
                 for entity in detector.entities if entity in types}
        by_kind: collections.Counter[tuple[str, str]] = collections.Counter()
        with_rest = 0
        for prompt in prompts:
            detection = detector.detect_batch(
                [DetectionRequest((ChatMessage("user", prompt.text),), language)])[0]
            kept = select_findings(detection.findings, rules)
            found = False
            for dropped in detection.findings:
                if dropped in kept or dropped.entity_type not in rules \
                        or dropped.score < args.min_score:
                    continue
                if any(ch.isalnum() for ch in rests(prompt.text, dropped, kept)):
                    winners = sorted({f.entity_type for f in kept
                                      if f.start < dropped.end and dropped.start < f.end})
                    by_kind[(dropped.entity_type, "+".join(winners))] += 1
                    found = True
            with_rest += found
        chosen = f"types: {args.types}" if args.types else "all types"
        print(f"{key}: {with_rest} of {len(prompts)} prompts forward part of a dropped finding "
              f"(min score {args.min_score}, {chosen})")
        for (dropped_type, winners), count in by_kind.most_common():
            print(f"    {count:4}  {dropped_type} dropped for {winners}")


if __name__ == "__main__":
    main()
