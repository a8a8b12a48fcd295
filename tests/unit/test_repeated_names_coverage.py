"""``repeated_names._Coverage``: the index ``widened`` asks instead of a pass over every span
when a message holds many findings (the pass was quadratic in them: a prompt made of names
kept a detection process busy for minutes, outside every recognizer's guard)."""

from __future__ import annotations

import random

from streams.adapters.recognizers import repeated_names
from streams.adapters.recognizers.repeated_names import _Coverage, _shared, _Taken, widened
from streams.core.model import Finding


def _passed(spans: list[tuple[int, int, int]], mine: int | None, position: int) -> bool:
    return any(start <= position < end and owner != mine for start, end, owner in spans)


def test_the_coverage_answers_as_the_pass_over_the_spans() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        owners = list(range(rng.randint(1, 12)))
        spans = []
        for _ in range(rng.randint(0, 15)):  # overlapping, empty, repeated owners
            start = rng.randint(0, 40)
            spans.append((start, start + rng.randint(0, 8), rng.choice(owners)))
        mine = rng.choice([None, 99, *owners])
        taken = _Taken(spans, mine, _Coverage(spans))
        for position in range(-2, 52):
            assert (position in taken) == _passed(spans, mine, position), (spans, mine)
    assert "3" not in _Taken([(0, 9, 1)], None, _Coverage([(0, 9, 1)]))


def test_only_a_message_with_many_spans_gets_one() -> None:
    few = [(i, i + 1, i) for i in range(repeated_names.COVERAGE_MIN_SPANS)]
    assert _shared(few) is None
    assert _shared([*few, (70, 72, 70)]) is not None


def test_widened_on_a_text_made_of_names_finds_the_same_either_way(monkeypatch) -> None:
    text = "Anna Berg, Anna, Paris. " * 60
    persons = [Finding(0, "PERSON", at, at + 9, 0.85, "spacy:en")
               for at in range(0, len(text), 24)]
    places = [Finding(0, "LOCATION", at + 17, at + 22, 0.85, "spacy:en")
              for at in range(0, len(text), 24)]
    with_coverage = widened([text], [*persons, *places], language="en")
    monkeypatch.setattr(repeated_names, "COVERAGE_MIN_SPANS", 10**9)
    assert widened([text], [*persons, *places], language="en") == with_coverage


def test_the_spans_coordinated_holds_answer_as_the_pass() -> None:
    from streams.adapters.recognizers.repeated_names import _Held

    rng = random.Random(11)
    for _ in range(2000):
        spans = []
        for _ in range(rng.randint(0, 12)):  # empty ones too, in two messages
            start = rng.randint(0, 30)
            spans.append((rng.randint(0, 1), start, start + rng.randint(0, 6)))
        held = _Held(spans[: len(spans) // 2])
        for span in spans[len(spans) // 2:]:
            held.add(span)
        for _ in range(30):
            index, start = rng.randint(0, 1), rng.randint(-1, 38)
            end = start + rng.randint(-1, 6)
            expected = any(i == index and s < end and start < e for i, s, e in spans)
            assert held.overlaps(index, start, end) == expected, (spans, index, start, end)
