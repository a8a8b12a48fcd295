"""Who a verb of saying quotes, and persons written with initials, in Spanish text
(``recognizers/speakers.py``, issue 14, branch ``esuk``). Made-up sentences and names, none
of a corpus; the findings of the other passes are given by hand, so no model runs."""

from __future__ import annotations

import pytest

from streams.adapters.presidio_detector import NER_SCORE
from streams.adapters.recognizers.given_names import SCORE
from streams.adapters.recognizers.speakers import ABOVE_NER, initials_widened, speakers
from streams.core.model import Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings

RULES = {t: EntityRule(min_score=0.5) for t in ("PERSON", "LOCATION", "ORGANIZATION")}


def at(text: str, value: str, entity: str, score: float, recognizer: str) -> Finding:
    start = text.index(value)
    return Finding(0, entity, start, start + len(value), score, recognizer)


def persons(text: str, given: list[Finding], language: str = "es") -> list[str]:
    """The persons the policy keeps once the speakers are added to ``given``."""
    found = [*given, *speakers([text], given, language)]
    return [text[f.start:f.end] for f in select_findings(found, RULES)
            if f.entity_type == "PERSON"]


SPEAKERS = [
    # a surname NER read as a place, the given-name pass as a person below it: the verb of
    # saying after it makes the person win
    ("Tras la reunión, Zubiaurre recordó que el plazo vence hoy.", "Zubiaurre", True,
     ["Zubiaurre"]),
    # an adverb between the speaker and the verb
    ("Zubiaurre también explicó el plan.", "Zubiaurre", True, ["Zubiaurre"]),
    # the verb first, after a comma, the speaker closing the clause
    ("El acuerdo llegará pronto, indicó Zubiaurre, tras la votación.", "Zubiaurre", True,
     ["Zubiaurre"]),
    ("\"Es un error\", subrayó ayer Zubiaurre.", "Zubiaurre", True, ["Zubiaurre"]),
    # a surname no dictionary holds, which nothing found: the verb alone says a person
    ("Según el informe, Qwertaxo consideró que no hay riesgo.", None, False, ["Qwertaxo"]),
    # a verb of saying that is not one: an institution announces, a place has a port
    ("Zubiaurre anunció el cierre.", "Zubiaurre", True, []),
    ("Zubiaurre tiene un puerto.", "Zubiaurre", True, []),
    # an article before it: an institution, whatever it says
    ("Según el texto, la Zubiaurre explicó el plan.", "Zubiaurre", True, []),
    # a word common in Spanish, which no pass called a person ("Rato", a while)
    ("Valencia explicó su plan de obras.", None, False, []),
    # a function word opening the clause is not a speaker, whatever found it
    ("Según dijo, el plazo vence hoy.", "Según", False, []),
    # the verb first, but the run does not close the clause: another construction
    ("El acuerdo, indicó Zubiaurre en la sesión, llegará pronto.", "Zubiaurre", True, []),
]


@pytest.mark.parametrize(("text", "place", "given_pass", "expected"), SPEAKERS)
def test_the_speaker_of_a_verb_of_saying(text: str, place: str | None, given_pass: bool,
                                         expected: list[str]) -> None:
    given = []
    if place is not None:
        given.append(at(text, place, "LOCATION", NER_SCORE, "spacy:es"))
        if given_pass:
            given.append(at(text, place, "PERSON", SCORE, "GivenNameRecognizer"))
    assert persons(text, given) == expected


def test_speakers_only_in_spanish() -> None:
    text = "Tras la reunión, Zubiaurre recordó que el plazo vence hoy."
    given = [at(text, "Zubiaurre", "LOCATION", NER_SCORE, "spacy:es"),
             at(text, "Zubiaurre", "PERSON", SCORE, "GivenNameRecognizer")]
    assert speakers([text], given, "fr") == []
    assert persons(text, given, "en") == []


INITIALS = [
    # NER's person without the last period of the initials
    ("El detenido, A. B., de 31 años, quedó libre.", "A. B", "A. B."),
    # without the first initial
    ("Comprobaron que a M. S. S. le constan varias detenciones.", "S. S", "M. S. S."),
    # one letter of them
    ("Lo usaba su hijo, J. A. A., según la policía.", "J", "J. A. A."),
]


@pytest.mark.parametrize(("text", "found", "expected"), INITIALS)
def test_a_person_of_initials_is_the_whole_run(text: str, found: str, expected: str) -> None:
    person = at(text, found, "PERSON", NER_SCORE, "spacy:es")
    chosen = select_findings([person, *initials_widened([text], [person], "es")], RULES)
    assert [text[f.start:f.end] for f in chosen] == [expected]


def test_initials_without_a_person_or_already_whole_add_nothing() -> None:
    text = "La empresa X. Y. Z. y el señor A. B. firmaron."
    assert initials_widened([text], [], "es") == []
    whole = at(text, "A. B.", "PERSON", NER_SCORE, "spacy:es")
    assert initials_widened([text], [whole], "es") == []
    assert initials_widened([text], [at(text, "A. B", "PERSON", NER_SCORE, "x")], "en") == []


def test_a_speaker_wins_over_ner_only_just() -> None:
    assert NER_SCORE < ABOVE_NER < 0.9  # identifiers and e-mail addresses (0.9+) still win


def test_the_detector_runs_both_rules_on_spanish_text_only() -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest

    detector = PresidioDetector(["es", "fr"], entities={"PERSON", "LOCATION", "ORGANIZATION"})
    text = "El plazo vence hoy, indicó Qwertaxo, tras la votación."
    spanish, french = detector.detect_batch([
        DetectionRequest((ChatMessage("user", text),), "es"),
        DetectionRequest((ChatMessage("user", text),), "fr")])
    assert [text[f.start:f.end] for f in spanish.findings if f.recognizer == "Speaker"] \
        == ["Qwertaxo"]
    assert not [f for f in french.findings if f.recognizer == "Speaker"]
