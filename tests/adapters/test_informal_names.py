"""Names written in lower case in a text otherwise capitalised, as web comments mix them
(GivenNameRecognizer._lower_case_names_in_capitalised_text). Sentences written for these
tests."""

from __future__ import annotations

import pytest

from streams.adapters.recognizers.given_names import GivenNameRecognizer


def names(text: str, language: str = "en") -> list[str]:
    return [text[r.start:r.end] for r in GivenNameRecognizer(language).analyze(text, None)
            if r.score >= 0.5]


@pytest.mark.parametrize(("text", "expected"), [
    # a verb of a person after a known given name in lower case, itself in lower case
    ("Great episode. Honestly oriana should apologise to the team. Love it!", ["oriana"]),
    ("Loved the intro. I think leopold wants a rematch. See you Friday.", ["leopold"]),
    # a word introducing a person before it
    ("Cool tricks. Hey ignatius is that your real bike? Subscribed.", ["ignatius"]),
    # "my name is": a known given name or a word no dictionary holds
    ("Amazing work. My name is kaveesha and I draw too.", ["kaveesha"]),
    ("Amazing work. My name is ignatius and I draw too.", ["ignatius"]),
    # alone, a given name that is also a word stays a word; a verb in capitals is shouting,
    # and "my name is" before a function word names nobody
    ("Nice shot. The ruby colour of that car is great.", []),
    ("What a tone. This melody CAN make anyone cry.", []),
    ("Funny video. My name is the least of your worries.", []),
    ("Top video. My name is not important here.", []),
])
def test_a_lower_case_name_in_a_capitalised_text(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_a_text_without_capitals_keeps_its_own_rules() -> None:
    # (the same words, all in lower case: the rules of ``_lower_case_names``)
    assert names("so oriana should apologise to the team") == ["oriana"]
