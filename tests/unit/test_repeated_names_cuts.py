"""``later_mentions`` asks whether a name found holds each occurrence by bisection
(``_Within``): the same answer as a pass over every name found."""

from __future__ import annotations

import random

import pytest

from streams.adapters.recognizers.repeated_names import _Within


@pytest.mark.parametrize(("spans", "stretch", "held"), [
    ([], (0, 1), False),
    ([(5, 10)], (5, 10), True),  # the same span
    ([(5, 10)], (6, 9), True),
    ([(5, 10)], (4, 9), False),  # starts before
    ([(5, 10)], (6, 11), False),  # ends after
    ([(0, 20), (5, 8)], (9, 12), True),  # held by an earlier, longer span
    ([(5, 8), (5, 12)], (5, 11), True),  # two spans starting together
    ([(5, 12), (5, 8)][::-1], (5, 11), True),
    ([(0, 4), (10, 14)], (5, 9), False),  # between two spans
    ([(0, 4), (10, 14)], (10, 14), True),
])
def test_within(spans: list[tuple[int, int]], stretch: tuple[int, int], held: bool) -> None:
    assert _Within(sorted(spans)).holds(*stretch) is held


def test_within_answers_as_a_pass_over_every_span() -> None:
    rng = random.Random(1)
    for _ in range(3000):
        spans = sorted((a, a + rng.randint(1, 12))
                       for a in (rng.randint(0, 40) for _ in range(rng.randint(0, 8))))
        start = rng.randint(0, 50)
        end = start + rng.randint(1, 10)
        assert _Within(spans).holds(start, end) is any(
            s <= start and end <= e for s, e in spans), (spans, start, end)
