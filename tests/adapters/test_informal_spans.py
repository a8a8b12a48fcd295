"""NER's PERSON spans in informal writing: stretched words, laughs and emoji at a span's edges are
not names (streams/adapters/informal_spans.py). Sentences written for these tests."""

from __future__ import annotations

from typing import Any

import pytest

from streams.adapters.informal_spans import chat_trimmed, stretched


@pytest.mark.parametrize(("word", "expected"), [
    ("Woooow", True), ("NOOOO", True), ("hahaha", True), ("Hehehehe", True),
    ("LOLOLOL", True), ("Mwahahaha", True),
    # names, and words with a double letter
    ("Anna", False), ("Hannah", False), ("Lulu", False), ("Mississippi", False),
    ("Bartholomew", False),
    # the ordinal of a monarch or a pope is part of a name
    ("III", False), ("XXIII", False), ("XVIII", False),
])
def test_a_stretched_word_or_a_laugh(word: str, expected: bool) -> None:
    assert stretched(word) is expected


@pytest.mark.parametrize(("span", "expected"), [
    # stretched words and laughs go, from either edge; nothing left, no person
    ("Sooooo", None),
    ("Hahahaha", None),
    ("Yessss Priyanka", "Priyanka"),
    ("Priyanka Noooo", "Priyanka"),
    ("Ouiiiii Mathilde", "Mathilde"),
    # what is left must hold a capital letter
    ("Wooow you", None),
    # an edge without a letter
    ("🙌 Priyanka", "Priyanka"),
    ("Priyanka Oduya 🎉", "Priyanka Oduya"),
    ("# 🎉", None),
    # what stays: names, particles, Roman numerals, lower-case words inside the span
    ("Priyanka Oduya", "Priyanka Oduya"),
    ("Ludwig van Beethoven", "Ludwig van Beethoven"),
    ("Richard III", "Richard III"),
    ("Louis XVIII", "Louis XVIII"),
    ("Alfonso XIII", "Alfonso XIII"),
    ("Gemma minogue", "Gemma minogue"),
])
def test_ner_person_spans_lose_what_no_name_is_made_of(span: str, expected: str | None) -> None:
    text = f"well {span} and then"
    start = len("well ")
    trimmed = chat_trimmed(text, start, start + len(span))
    assert (None if trimmed is None else text[trimmed[0]:trimmed[1]]) == expected


@pytest.fixture(scope="module")
def detector() -> Any:
    from streams.adapters.presidio_detector import PresidioDetector

    return PresidioDetector(["en"], entities={"PERSON"})


@pytest.mark.parametrize(("text", "persons"), [
    ("great stream tonight Loooool that was wild", []),
    # the name stays, the laugh goes: not given back when the name's neighbours are taken in
    # (repeated_names.widened)
    ("Hahahaha Marcus that was so funny", ["Marcus"]),
    ("I watched it twice Yessss Priyanka you nailed it", ["Priyanka"]),
])
def test_the_detector_reports_no_stretched_word_as_a_name(
        detector: Any, text: str, persons: list[str]) -> None:
    from streams.core.model import ChatMessage

    found = detector.detect((ChatMessage("user", text),), "en").findings
    assert [text[f.start:f.end] for f in found if f.entity_type == "PERSON"] == persons
