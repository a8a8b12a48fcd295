"""The indexes that keep the steps after the recognizers linear on a prompt made of names give
the answers of the passes they replace (``repeated_names._Stronger`` against ``_beaten`` and
``_outside``'s pass; ``_occurrences``'s scan of every word against its ``str.find`` per name;
``_Reach`` against the pass over the spans kept so far, as ``later_mentions`` keeps phrases),
on thousands of random cases, empty spans and several messages included."""

from __future__ import annotations

import random

from streams.adapters.recognizers.repeated_names import (
    _beaten,
    _occurrences,
    _Reach,
    _rivals,
    _Stronger,
)
from streams.core.model import Finding

TYPES = ("PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE")


def _random_findings(rng: random.Random) -> list[Finding]:
    found = []
    for _ in range(rng.randrange(0, 40)):
        start = rng.randrange(0, 60)
        end = start + rng.choice((0, 1, 2, 5, 12, 40))
        found.append(Finding(rng.randrange(0, 2), rng.choice(TYPES), start, end,
                             rng.choice((0.4, 0.5, 0.85, 0.9, 1.0)), "test"))
    return found


def test_the_stronger_findings_index_answers_as_the_pass() -> None:
    rng = random.Random(14)
    checked = 0
    for _ in range(3000):
        findings = _random_findings(rng)
        rivals = _rivals(findings)
        stronger = _Stronger(rivals)
        for f in findings:
            expected = sorted((o.start, o.end) for o in rivals
                              if o.score > f.score and o.message_index == f.message_index
                              and o.start < f.end and f.start < o.end)
            assert sorted((o.start, o.end) for o in stronger.overlapping(f)) == expected
            assert stronger.beats(f) == _beaten(f, rivals)
            checked += 1
    assert checked > 30_000


def test_the_scan_of_every_word_finds_what_the_search_per_name_finds() -> None:
    rng = random.Random(7)
    pieces = ("Anna", "anna", "Berg", "BERG", "Anna-Berg", "O'Berg", "x", "1", " ", " ", ", ",
              ".", "@", "/", "-", "'", "é", "\u0301", "\n", "Bergen", "nna")
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        names = set(rng.sample(("Anna", "Berg", "BERG", "anna", "Anna-Berg", "O'Berg", "nna",
                                "é"), rng.randrange(1, 5)))
        by_name = [(m.start(), m.end()) for m in _occurrences(text, names, scan=False)]
        scanned = [(m.start(), m.end()) for m in _occurrences(text, names, scan=True)
                   if m.group() in names]
        assert scanned == by_name, (text, names)


def test_the_reach_of_the_spans_kept_answers_as_the_pass() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        size = rng.randrange(0, 50)
        kept: list[tuple[int, int]] = []
        reach = _Reach(size)
        for _ in range(rng.randrange(0, 30)):
            start = rng.randrange(0, size + 1)
            end = rng.randrange(start, size + 1)
            held = any(s <= start and end <= e for s, e in kept)
            assert (reach.furthest(start) >= end) == held
            if not held or rng.random() < 0.3:
                kept.append((start, end))
                reach.add(start, end)
