"""French persons NER reads as places (``recognizers/fr_persons.py``, issue 14, branch
``frpersons``), and names in quotation marks (``given_names.NAME_RUN``). Made-up sentences and
names, none of a corpus; the findings of the other passes are given by hand, so no model runs
but in the last test."""

from __future__ import annotations

import pytest

from streams.adapters.presidio_detector import NER_SCORE
from streams.adapters.recognizers.fr_persons import (
    ABOVE_NER,
    french_persons,
    persons_in_places,
)
from streams.adapters.recognizers.given_names import NAME_RUN, SCORE, GivenNameRecognizer
from streams.core.model import Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings

RULES = {t: EntityRule(min_score=0.5) for t in ("PERSON", "LOCATION", "ORGANIZATION")}


def at(text: str, value: str, entity: str, score: float, recognizer: str) -> Finding:
    start = text.index(value)
    return Finding(0, entity, start, start + len(value), score, recognizer)


def kept(text: str, found: list[Finding], entity: str) -> list[str]:
    return [text[f.start:f.end] for f in select_findings(found, RULES)
            if f.entity_type == entity]


CUED = [
    # (text, the run NER read as a place or None, the persons kept)
    # who a verb of saying quotes: before it, present or passé composé, an adverb between
    ("Kowalczyk a déclaré que la réforme était prête.", "Kowalczyk", ["Kowalczyk"]),
    ("Kowalczyk souligne l'importance du texte.", "Kowalczyk", ["Kowalczyk"]),
    ("Kowalczyk a aussi estimé que le texte était prêt.", "Kowalczyk", ["Kowalczyk"]),
    # after it, following a quotation, the run closing the clause
    ("« C'est un échec », a estimé Kowalczyk, avant de partir.", "Kowalczyk", ["Kowalczyk"]),
    ("« C'est un échec », déclare Kowalczyk.", None, ["Kowalczyk"]),
    # a life fact in apposition
    ("Kowalczyk, né en 1950 à Cracovie, est peintre.", "Kowalczyk", ["Kowalczyk"]),
    ("Kowalczyk (née à Cracovie) est peintre.", "Kowalczyk", ["Kowalczyk"]),
    ("Kowalczyk, âgé de 45 ans, a été entendu.", "Kowalczyk", ["Kowalczyk"]),
    # a role or a family tie before it
    ("Le cardinal Qwertaxo a présidé la messe.", None, ["Qwertaxo"]),
    ("Le frère de Kowalczyk a témoigné.", "Kowalczyk", ["Kowalczyk"]),
    ("Il a épousé la fille de Kowalczyk.", "Kowalczyk", ["Kowalczyk"]),
    ("L'épouse de Qwertaxo vit à Lille.", None, ["Qwertaxo"]),
    # not persons: an institution after an article, a place common as a word, a verb that
    # is not one of saying, a word of the dictionaries after a tie, a role's complement
    ("La Commission a déclaré que le texte était prêt.", "Commission", []),
    ("L'Assemblée a estimé que le texte était prêt.", "Assemblée", []),
    ("Bruxelles estime que l'accord est prêt.", "Bruxelles", []),
    ("Kowalczyk annonce une hausse des prix.", "Kowalczyk", []),
    ("La mère de Dieu est vénérée ici.", "Dieu", []),
    ("Le ministre des Finances a déclaré la fin du plan.", "Finances", []),
    ("Il habite Kowalczyk depuis 1950.", "Kowalczyk", []),
]


@pytest.mark.parametrize(("text", "place", "expected"), CUED)
def test_a_french_cue_makes_the_run_a_person(text: str, place: str | None,
                                             expected: list[str]) -> None:
    given = [] if place is None else [at(text, place, "LOCATION", NER_SCORE, "spacy:fr")]
    found = [*given, *french_persons([text], given, "fr")]
    assert kept(text, found, "PERSON") == expected


def test_the_cues_are_french_only() -> None:
    text = "Kowalczyk a déclaré que la réforme était prête."
    given = [at(text, "Kowalczyk", "LOCATION", NER_SCORE, "spacy:fr")]
    assert french_persons([text], given, "es") == []
    assert french_persons([text], given, "en") == []
    assert french_persons([text], given, None) == []


IN_PLACES = [
    # (text, NER's place, the given-name pass's person, persons kept, places kept)
    # names put next to each other without punctuation: the person and the place apart
    ("Canal du Midi Anthony Yeboah (2) a marqué.", "Canal du Midi Anthony Yeboah",
     "Anthony Yeboah", ["Anthony Yeboah"], ["Canal du Midi"]),
    ("Villafranca di Verona Anthony Yeboah (1962-)", "Villafranca di Verona Anthony Yeboah",
     "di Verona Anthony Yeboah", ["Anthony Yeboah"], ["Villafranca di Verona"]),
    ("Hôpital Central Hind Dehiba Journal", "Hôpital Central Hind Dehiba Journal",
     "Hind Dehiba", ["Hind Dehiba"], ["Hôpital Central", "Journal"]),
    # places and institutions named after a person stay places
    ("Il enseigne au Lycée Victor Hugo depuis 2010.", "Lycée Victor Hugo", "Victor Hugo",
     [], ["Lycée Victor Hugo"]),
    ("Il étudie à l'Université Pierre et Marie Curie.", "Université Pierre et Marie Curie",
     "Marie Curie", [], ["Université Pierre et Marie Curie"]),
    ("Il habite Place du Général Charles de Gaulle.", "Place du Général Charles de Gaulle",
     "Charles de Gaulle", [], ["Place du Général Charles de Gaulle"]),
    ("Le centre hospitalier Louis Pasteur recrute.", "centre hospitalier Louis Pasteur",
     "Louis Pasteur", [], ["centre hospitalier Louis Pasteur"]),
    # a run whose words after the given name are common words is no person
    ("Angola Route 315 (Québec)", "Angola Route 315", "Angola Route", [], ["Angola Route 315"]),
]


@pytest.mark.parametrize(("text", "place", "person", "persons", "places"), IN_PLACES)
def test_a_person_at_the_edge_of_a_longer_place(text: str, place: str, person: str,
                                                persons: list[str], places: list[str]) -> None:
    given = [at(text, place, "LOCATION", NER_SCORE, "spacy:fr"),
             at(text, person, "PERSON", SCORE, "GivenNameRecognizer")]
    found = [*given, *persons_in_places([text], given, "fr")]
    assert kept(text, found, "PERSON") == persons
    assert kept(text, found, "LOCATION") == places


def test_a_person_in_a_place_only_from_the_given_name_pass_and_in_french() -> None:
    text = "Canal du Midi Anthony Yeboah (2)"
    place = at(text, "Canal du Midi Anthony Yeboah", "LOCATION", NER_SCORE, "spacy:fr")
    person = at(text, "Anthony Yeboah", "PERSON", SCORE, "GivenNameRecognizer")
    assert persons_in_places([text], [place, person], "en") == []
    other = at(text, "Anthony Yeboah", "PERSON", SCORE, "RepeatedName")
    assert persons_in_places([text], [place, other], "fr") == []


def test_a_cue_wins_over_ner_only_just() -> None:
    assert NER_SCORE < ABOVE_NER < 0.9  # identifiers and e-mail addresses (0.9+) still win


QUOTED = [
    # a name after a quotation mark, or after the markup of pasted Wikipedia text
    ("Il a rencontré 'Desmond Tutu' à Paris.", ["Desmond Tutu"]),
    ("Parc de Grand Mère ' ''Desmond Tutu ''' Paris", ["Desmond Tutu"]),
]


@pytest.mark.parametrize(("text", "expected"), QUOTED)
def test_a_name_in_quotation_marks(text: str, expected: list[str]) -> None:
    found = GivenNameRecognizer("fr").analyze(text, None)
    assert [text[r.start:r.end] for r in found] == expected


def test_a_run_does_not_start_after_an_elision() -> None:
    # after a letter and an apostrophe (an elision, "O'"), a name run still does not start
    assert NAME_RUN.search("l'Desmond Tutu") is None or NAME_RUN.search(
        "l'Desmond Tutu").start() != 2
    assert NAME_RUN.search("'Desmond Tutu").start() == 1  # type: ignore[union-attr]


def test_the_detector_runs_the_french_rules() -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest

    detector = PresidioDetector(["fr"], entities={"PERSON", "LOCATION", "ORGANIZATION"})
    text = "« C'est un échec », a estimé Qwertaxo, avant de partir."
    detection = detector.detect_batch([DetectionRequest((ChatMessage("user", text),), "fr")])
    assert "Qwertaxo" in kept(text, list(detection[0].findings), "PERSON")
