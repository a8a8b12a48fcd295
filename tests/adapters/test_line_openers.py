"""A name opening a line of comments or chat, by the words after it
(streams/adapters/recognizers/line_openers.py). Sentences written for these tests."""

from __future__ import annotations

from typing import Any

import pytest

from streams.adapters.presidio_detector import NER_SCORE
from streams.adapters.recognizers import build_recognizers
from streams.adapters.recognizers.line_openers import (
    ADDRESSED_SCORE,
    DESCRIBED_SCORE,
    LineOpenerRecognizer,
)


@pytest.fixture(scope="module")
def recognizer() -> LineOpenerRecognizer:
    return LineOpenerRecognizer("en")


def openers(recognizer: LineOpenerRecognizer, text: str) -> list[tuple[str, float]]:
    return [(text[start:end], score) for start, end, score in recognizer.line_openers(text)]


@pytest.mark.parametrize(("text", "expected"), [
    # spoken to: a second- or first-person word next, after a comma or not
    ("great stream tonight\nTavrossi, you really carried that round", "Tavrossi"),
    ("Priyanka I watch every one of your videos", "Priyanka"),
    ("so true\nOkonquo my brother we miss your jokes", "Okonquo"),
    ("Miranda please do a part two", "Miranda"),
    ("Lorena why did you stop uploading", "Lorena"),
    ("Okonquo u rock", "Okonquo"),
    # a verb only a person does or thinks
    ("Tavrossi looks tired in this one", "Tavrossi"),
    ("the end was sad\nPriyanka sounds like she has a cold", "Priyanka"),
    # after a dash or a bullet
    ("- Okonquo thinks we should go", "Okonquo"),
    ("• Priyanka, thanks for the tips", "Priyanka"),
    # a known given name described by a copula (NER reads many as firms)
    ("Miranda is the best part of the show", "Miranda"),
    ("lol\nPriyanka was so mean to him", "Priyanka"),
    # a given name, then a word no dictionary holds: both
    ("Priyanka Oduya loves this song", "Priyanka Oduya"),
])
def test_a_name_spoken_to_or_doing_what_a_person_does(
        recognizer: LineOpenerRecognizer, text: str, expected: str) -> None:
    assert openers(recognizer, text) == [(expected, ADDRESSED_SCORE)]


@pytest.mark.parametrize(("text", "expected"), [
    # a copula after a word no dictionary holds (as many firms are named), "has"/"had", a
    # possessive, a verb a firm or a club may also be the subject of
    ("nice video\nOkonquo is the funniest guy on here", "Okonquo"),
    ("Tavrossi was robbed in the final", "Tavrossi"),
    ("Miranda had to leave early", "Miranda"),
    ("Okonquo's mum is a legend", "Okonquo"),
    ("Okonquo’s mum is a legend", "Okonquo"),
    ("Tavrossi continues his streak", "Tavrossi"),
    ("Tavrossi will win this year", "Tavrossi"),
])
def test_a_name_described_scores_below_ner(
        recognizer: LineOpenerRecognizer, text: str, expected: str) -> None:
    # below NER: where NER reads a place or a club, its reading stays
    assert openers(recognizer, text) == [(expected, DESCRIBED_SCORE)]
    assert DESCRIBED_SCORE < NER_SCORE < ADDRESSED_SCORE


@pytest.mark.parametrize("text", [
    # not at the start of a line
    "I think Tavrossi looks tired",
    "we all agree that Priyanka, you are right",
    # a dictionary word, a function word, a day, a title, an opening verb or greeting
    "Great, you did it again",
    "Honestly I love this",
    "Monday is the worst",
    "Hello you lot",
    "Please you must",
    "The best part is the end",
    "Draft you a letter",
    # a given name common as a word ("Will", "Hope")
    "Will you marry me",
    "Hope you all had fun",
    # a stretched word or a laugh, and a word without a vowel
    "Loooool you two together",
    "Hahahahahaha I can't",
    "Pfft you wish",
    # nothing after the name that says a person; a comma then anything else
    "Tavrossi",
    "Tavrossi and the rest",
    "Tavrossi, the new album",
    "Priyanka, 2024 tour dates",
    "Okonquo 2024 tour dates",
    # a second capitalised word that is no name: "Okonquo Street" is a street, "Priyanka
    # Motors" a firm
    "Okonquo Street is closed",
    "Priyanka Motors is hiring",
    # chat's "u" is a preposition before a place name in other languages
    "Okonquo u Bratislavy",
    # a contraction that is not a possessive
    "Tavrossi'sx you",
])
def test_what_is_not_a_name_opening_a_line(recognizer: LineOpenerRecognizer, text: str) -> None:
    assert openers(recognizer, text) == []


def test_each_line_is_judged() -> None:
    recognizer = LineOpenerRecognizer("en")
    text = "Tavrossi looks tired\nThe best part\nPriyanka is here\n\nOkonquo you rock"
    assert [name for name, _ in openers(recognizer, text)] == ["Tavrossi", "Priyanka",
                                                              "Okonquo"]


def test_english_only() -> None:
    names = {type(r).__name__ for r in build_recognizers("en", {"PERSON"})}
    assert "LineOpenerRecognizer" in names
    for language in ("fr", "es"):
        names = {type(r).__name__ for r in build_recognizers(language, {"PERSON"})}
        assert "LineOpenerRecognizer" not in names


@pytest.fixture(scope="module")
def detector() -> Any:
    from streams.adapters.presidio_detector import PresidioDetector

    return PresidioDetector(["en"], entities={"PERSON", "ORGANIZATION", "LOCATION"})


def test_the_detector_reports_a_name_opening_a_line_as_a_person(detector: Any) -> None:
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings

    text = "loved the whole episode\nOkonquo my brother we will miss your jokes"
    detection = detector.detect_batch([DetectionRequest((ChatMessage("user", text),), "en")])[0]
    rules = {entity: EntityRule(min_score=0.5) for entity in ("PERSON", "ORGANIZATION",
                                                               "LOCATION")}
    persons = [text[f.start:f.end] for f in select_findings(detection.findings, rules)
               if f.entity_type == "PERSON"]
    assert "Okonquo" in persons
