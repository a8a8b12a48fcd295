"""Helpers of branch ``tpspeed2`` (English detection's CPU on third-party text): the same
findings for less work."""

from __future__ import annotations

from typing import Any

import pytest
import regex

from streams.adapters.recognizers import street_address as sa

# Each English pattern at the edge of what ``_english_starts`` proves: 9 runs of non-spaces
# before the street type (flat word, flat number, house number and its half, direction, 4 name
# words), a
# flat word inside a word, a plural type, a weak type, an address on a line of its own, and
# text where a type follows many numbers without forming an address.
EDGES = (
    "Flat 5, 12 N Aa Bb Cc Dd Street, London SW1A 1AA",
    "x y (Flat 5, 12 1/2 N Aa Bb Cc Dd Street, London SW1A 1AA",
    "x y z (Flat 5, 12 N Aa Bb 3rd Dd Avenues. London SW1A 1AA",
    "SFlat 5 12 N Aa Bb Cc Dd Street",
    "Apartment 7\n12 N Aa Bb Cc Dd Avenue",
    "lives at 12 Green Park, and Unit 4, 9 Elm Park, Leeds LS1 4AP",
    "letter:\n  10 Downing St\nLondon",
    "Unit 3\nHenderson Plaza\nSimmonsberg\nG86 1GY",
    "8337 Sanders Wall Apt. 328, Figueroaland, GA 99883",
    "In 2020 Oxford Street reopened; 3 - 1 at Villa Park, 12 13 14 Road 1 2 Street",
)


@pytest.mark.parametrize("text", EDGES)
def test_english_patterns_tried_near_a_type_find_what_a_scan_finds(text: str) -> None:
    recognizer = sa.StreetAddressRecognizer("en")
    starts = recognizer._english_starts(text)
    for pattern, kind in sa.ENGLISH:
        scanned = [m.span() for m in pattern.regex.finditer(text)]
        assert [m.span() for m in recognizer._matches_from(pattern, text, starts[kind])] \
            == scanned


def test_nine_runs_before_the_type_are_read() -> None:
    # the flat word opens the 9th run before "Street": one run fewer and it would be missed
    text = "x y z (Flat 5, 12 1/2 N Aa Bb Cc Dd Street"
    assert sa.StreetAddressRecognizer("en")._english_starts(text)["strong"][0] == text.index("F")
    found = sa.StreetAddressRecognizer("en").analyze(text, ["STREET_ADDRESS"])
    assert [(r.start, r.end) for r in found] == [(text.index("F"), len(text))]


def test_no_street_type_no_english_attempt() -> None:
    starts = sa.StreetAddressRecognizer("en")._english_starts("Scores: 3 1 12 45 2-1 (Smith 12)")
    assert starts == {"strong": [], "weak": [], "any": []}


def test_english_street_types_are_ascii_words() -> None:
    # the proof reads a type as the whole run of ASCII letters after a space
    for word in sa.EN_STRONG_TYPES + sa.EN_WEAK_TYPES:
        assert regex.fullmatch(r"[A-Z][A-Za-z]*", word), word


def test_the_two_words_before_a_word_no_dictionary_holds_are_searched_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the tests of a person (said of one, a person's details, done to one) all read the two
    # words before the span: one search per span, the same persons found
    from streams.adapters.recognizers import given_names

    text = ("Please check the iban of Bunlerngsri tomorrow. With the help of Wuttikrai "
            "Phusilarungrueng we moved. Glentoran won 3-1.")
    recognizer = given_names.GivenNameRecognizer("en")
    pattern = given_names.TWO_WORDS_BEFORE_LONE
    searches: list[int] = []

    class Counted:
        def search(self, text: str, pos: int, endpos: int) -> Any:
            searches.append(endpos)
            return pattern.search(text, pos, endpos)

    monkeypatch.setattr(given_names, "TWO_WORDS_BEFORE_LONE", Counted())
    found = recognizer._unknown_names(text)
    assert [text[start:end] for start, end in found] == [
        "Bunlerngsri", "Wuttikrai Phusilarungrueng"]  # "iban of", "help of"; not the club
    assert sorted(searches) == [25, 64, 101]  # one per span
