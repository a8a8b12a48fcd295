"""One reading per name in a request (``recognizers/consistent_names.py``): a later mention of
a person found wins NER's place or organisation reading of exactly the same span. Made-up
sentences, none of a corpus."""

from __future__ import annotations

import pytest

from streams.adapters.presidio_detector import NER_SCORE, PresidioDetector
from streams.adapters.recognizers.consistent_names import (
    ABOVE_NER,
    in_capitals,
    over_ner_readings,
)
from streams.adapters.recognizers.given_names import SCORE
from streams.adapters.recognizers.repeated_names import NAME as LATER_MENTION
from streams.adapters.recognizers.repeated_names import later_mentions
from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings

RULES = {t: EntityRule(min_score=0.5) for t in ("PERSON", "LOCATION", "ORGANIZATION")}


def at(text: str, value: str, entity: str, score: float, recognizer: str,
       nth: int = 1) -> Finding:
    """A finding of ``value``'s ``nth`` occurrence in ``text``."""
    start = -1
    for _ in range(nth):
        start = text.index(value, start + 1)
    return Finding(0, entity, start, start + len(value), score, recognizer)


def kept(text: str, findings: list[Finding]) -> list[tuple[str, str]]:
    """What the policy keeps of ``findings`` after the rule: (value, type) in text order."""
    chosen = select_findings(over_ner_readings([text], findings), RULES)
    return [(text[f.start:f.end], f.entity_type) for f in chosen]


@pytest.mark.parametrize(("text", "mention", "ner_type", "expected"), [
    # a surname no dictionary holds, read as an organisation, then as a place
    ("Minister Tervelina Bakarova resigned. Bakarova led the board.", "Bakarova",
     "ORGANIZATION", "PERSON"),
    ("Minister Tervelina Bakarova resigned. Bakarova led the board.", "Bakarova",
     "LOCATION", "PERSON"),
    # a surname of the lexicon rare as a word
    ("Ms Ingrid Havelka was told. Havelka has recovered.", "Havelka", "LOCATION", "PERSON"),
    # a place the dictionaries know well keeps NER's reading, even when NER once read it
    # inside a person ("Ajax Amsterdam" in a results table)
    ("Ajax Amsterdam 18 7 8 3. AMSTERDAM 1996-12-06 results.", "AMSTERDAM", "LOCATION",
     "LOCATION"),
    ("Coach Real Barcelona 15 10. Barcelona won the cup.", "Barcelona", "LOCATION", "LOCATION"),
])
def test_a_later_mention_wins_ners_reading_of_the_same_span(
        text: str, mention: str, ner_type: str, expected: str) -> None:
    last = text.count(mention)  # the mention: its last occurrence
    findings = [at(text, mention, ner_type, NER_SCORE, "spacy:en", nth=last),
                at(text, mention, "PERSON", SCORE, LATER_MENTION, nth=last)]
    assert kept(text, findings) == [(mention, expected)]


def test_only_exactly_the_same_span() -> None:
    # the mention inside a longer organisation is a part of another name ("Bakarova Logistics")
    text = "Minister Tervelina Bakarova resigned. Bakarova Logistics denied it."
    findings = [at(text, "Bakarova Logistics", "ORGANIZATION", NER_SCORE, "spacy:en"),
                at(text, "Bakarova", "PERSON", SCORE, LATER_MENTION, nth=2)]
    assert kept(text, findings) == [("Bakarova Logistics", "ORGANIZATION")]


@pytest.mark.parametrize(("person_from", "other_from"), [
    ("GivenNameRecognizer", "spacy:en"),  # not a later mention: the lexicon's own reading
    (LATER_MENTION, "CoreNLP"),  # a place from another source than spaCy's NER
])
def test_only_a_later_mention_over_spacys_reading(person_from: str, other_from: str) -> None:
    text = "Minister Tervelina Bakarova resigned. Bakarova led the board."
    findings = [at(text, "Bakarova", "ORGANIZATION", NER_SCORE, other_from, nth=2),
                at(text, "Bakarova", "PERSON", SCORE, person_from, nth=2)]
    assert over_ner_readings([text], findings) == findings


def test_from_the_name_found_to_the_mention() -> None:
    # the name found whole, NER's organisation on its later mention: ``later_mentions``
    # proposes the mention, the rule lets it win
    text = "Minister Tervelina Bakarova resigned. Critics of Bakarova welcomed it."
    found = [at(text, "Tervelina Bakarova", "PERSON", NER_SCORE, "spacy:en"),
             at(text, "Bakarova", "ORGANIZATION", NER_SCORE, "spacy:en", nth=2)]
    mentions = later_mentions([text], found, language="en")
    assert [text[f.start:f.end] for f in mentions] == ["Bakarova"]
    raised = over_ner_readings([text], [*found, *mentions])
    assert [f.score for f in raised if f.recognizer == LATER_MENTION] == [ABOVE_NER]
    assert kept(text, [*found, *mentions]) == [("Tervelina Bakarova", "PERSON"),
                                               ("Bakarova", "PERSON")]


@pytest.fixture(scope="module")
def detector() -> PresidioDetector:
    return PresidioDetector(("en",))


@pytest.mark.parametrize(("text", "mention"), [
    # spaCy's English model reads these later mentions as an organisation and a place
    ("Minister Adaeze Okonkwo-Barde resigned. Okonkwo-Barde had led the ministry since 2019, "
     "and critics of Okonkwo-Barde welcomed it.", "Okonkwo-Barde"),
    ("Ange Mbatoumba won the election in 1993. Rebels accuse Mbatoumba of tribalism. The "
     "mutiny forced Mbatoumba to miss the summit.", "Mbatoumba"),
])
def test_the_detector_reports_every_mention_as_the_person(
        detector: PresidioDetector, text: str, mention: str) -> None:
    detection = detector.detect_batch([DetectionRequest((ChatMessage("user", text),), None)])[0]
    chosen = select_findings(detection.findings, RULES)
    # (its first mention is inside the name found whole)
    readings = [f.entity_type for f in chosen if text[f.start:f.end] == mention]
    assert readings == ["PERSON"] * (text.count(mention) - 1)


def capitals(text: str, *found: str) -> list[str]:
    """What ``in_capitals`` adds, given the persons ``found`` in ``text``."""
    persons = [at(text, value, "PERSON", NER_SCORE, "spacy:en") for value in found]
    return [text[f.start:f.end] for f in in_capitals([text], persons)]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # a headline, a subject line in capitals above the text that names the person
    ("ROWING - WRZESNIEWSKA RETIRES AFTER TEN SEASONS. WARSAW 2026-03-01 Agata "
     "Wrzesniewska said on Monday...", ["Agata Wrzesniewska"], ["WRZESNIEWSKA"]),
    ("SUBJECT: MEETING WITH OKONKWO-BARDE\nDear all, Adaeze Okonkwo-Barde will attend.",
     ["Adaeze Okonkwo-Barde"], ["OKONKWO-BARDE"]),
])
def test_a_name_found_is_found_in_a_headline_in_capitals(
        text: str, found: list[str], expected: list[str]) -> None:
    assert capitals(text, *found) == expected


@pytest.mark.parametrize(("text", "found"), [
    # in a sentence with lower-case letters, ``later_mentions`` decides
    ("Agata Wrzesniewska wrote; WRZESNIEWSKA is on the form.", ["Agata Wrzesniewska"]),
    # a one-word name found may be a word NER took for a name
    ("WRZESNIEWSKA RETIRES. Wrzesniewska said so.", ["Wrzesniewska"]),
    # a word common as a word ("Little", "Pace", "Street") stays a word in a headline
    ("LITTLE CHANGE IN THE MARKET. Jason Little said so.", ["Jason Little"]),
    # only whole words
    ("OKONKWOS WIN. Ada Okonkwo said so.", ["Ada Okonkwo"]),
])
def test_what_is_not_a_name_in_capitals(text: str, found: list[str]) -> None:
    assert capitals(text, *found) == []
