"""The vote of the other installed spaCy models on a text's persons (``DOUANE_NER_VOTE``,
``recognizers/xlingual_ner.py``): the rules of the vote on given spans, which sentences the
unsure mode reads, the setting, and the real models inside the detector."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers.xlingual_ner import (
    SCORE_ADDED,
    SCORE_RELABELLED,
    CrossLanguageVote,
    Finding,
    voters,
)
from streams.config import NerTiers, SettingError, load_ner_tiers, load_settings
from streams.core.decision import FULL_METHODS
from streams.core.model import ChatMessage

# ----------------------------------------------------------------------------- the rules


def _no_model(language: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    raise AssertionError("the rules are checked without reading any text")


def span(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


TEXT = "Could I see Camilla Martin at the Hotel Lyon, or mail ana.ruiz@example.org, Mr Grant?"


@pytest.mark.parametrize(("fr", "es", "first", "expected"), [
    # both voters agree on two capitalised words the first pass left alone: added below NER
    ("Camilla Martin", "Camilla Martin", [], [("Camilla Martin", SCORE_ADDED)]),
    # overlapping spans agree too; each voter's own span is reported
    ("Camilla Martin", "Martin", [], [("Camilla Martin", SCORE_ADDED)]),
    # one voter alone is not enough
    ("Camilla Martin", None, [], []),
    # a single capitalised word is not enough
    ("Martin", "Martin", [], []),
    # a function word of English, French or Spanish ("Could I"), a title ("Mr Grant")
    ("Could I", "Could I", [], []),
    ("Mr Grant", "Mr Grant", [], []),
    # the first pass's organisation, held whole: the vote replaces it (above NER's 0.85)
    ("Camilla Martin", "Camilla Martin", [("ORGANIZATION", "Camilla Martin", 0.85)],
     [("Camilla Martin", SCORE_RELABELLED)]),
    ("Camilla Martin", "Camilla Martin", [("LOCATION", "Martin", 0.85)],
     [("Camilla Martin", SCORE_RELABELLED)]),
    # a span that would cut a first-pass finding stays below it: nothing covered is uncovered
    ("Martin at the Hotel", "Martin at the Hotel", [], []),
    ("Hotel Lyon", "Hotel Lyon", [("ORGANIZATION", "the Hotel Lyon, or mail", 0.85)],
     [("Hotel Lyon", SCORE_ADDED)]),
])
def test_the_vote(fr: str | None, es: str | None, first: list[tuple[str, str, float]],
                  expected: list[tuple[str, float]]) -> None:
    text = TEXT
    vote = CrossLanguageVote(_no_model, "vote")
    found: list[Finding] = [(entity, *span(text, words), score, "spacy:en")
                            for entity, words, score in first]
    by_voter = {"fr": [span(text, fr)] if fr else [], "es": [span(text, es)] if es else []}
    got = vote.vote(text, found, by_voter)
    assert [(text[start:end], score) for _, start, end, score, _ in got] == expected
    assert all(entity == "PERSON" for entity, *_ in got)


def test_an_overlap_with_another_type_keeps_the_lower_score() -> None:
    # never above an e-mail address (or any other type), even when the span holds it whole
    text = "Write to Ana Ruiz ana.ruiz@example.org today."
    vote = CrossLanguageVote(_no_model, "vote")
    email: Finding = ("EMAIL_ADDRESS", *span(text, "ana.ruiz@example.org"), 1.0, "email")
    wide = span(text, "Ana Ruiz ana.ruiz@example.org")
    got = vote.vote(text, [email], {"fr": [wide], "es": [wide]})
    assert [score for *_, score, _ in got] == [SCORE_ADDED]


def test_the_voters_are_the_other_two_languages() -> None:
    assert voters("en") == ("fr", "es")
    assert voters("es") == ("en", "fr")
    assert voters("uk") == ()


# ----------------------------------------------------------------------------- what it reads


class Recording:
    """A voter that reports the same words as a person wherever it reads them."""

    def __init__(self, words: str) -> None:
        self.words = words
        self.read: list[str] = []
        self.by_language: list[tuple[str, str]] = []

    def __call__(self, language: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        self.read.extend(texts)
        self.by_language.extend((language, text.strip()) for text in texts)
        return [[span(text, self.words)] if self.words in text else [] for text in texts]


def test_the_unsure_mode_reads_only_sentences_with_a_run_no_person_holds() -> None:
    # a sentence without two capitalised words in a row holds nothing the vote could report
    text = ("We met Camilla Martin. The Hotel Lyon is closed. Keiko Tanabe called. "
            "We saw Bob there.")
    first: list[Finding] = [
        ("PERSON", *span(text, "Camilla Martin"), 0.85, "spacy:en"),
        ("LOCATION", *span(text, "Hotel Lyon"), 0.85, "spacy:en"),
        # a person under an organisation of a higher score is not a cover
        ("ORGANIZATION", *span(text, "Keiko Tanabe"), 0.85, "spacy:en"),
        ("PERSON", *span(text, "Keiko Tanabe"), 0.84, "GivenNameRecognizer"),
    ]
    voter = Recording("Keiko Tanabe")
    extra = CrossLanguageVote(voter, "vote-unsure").find("en", [text], [first])
    # the Spanish model (the smallest) reads first; French only where Spanish saw a person
    assert voter.by_language == [("es", "The Hotel Lyon is closed."),
                                 ("es", "Keiko Tanabe called."), ("fr", "Keiko Tanabe called.")]
    assert [(text[s:e], score) for _, s, e, score, _ in extra[0]] == [
        ("Keiko Tanabe", SCORE_RELABELLED)]
    voter = Recording("Keiko Tanabe")
    CrossLanguageVote(voter, "vote").find("en", [text], [first])
    assert voter.read == [text, text]
    voter = Recording("Nobody Here")  # the first voter finds no one: the second reads nothing
    assert CrossLanguageVote(voter, "vote").find("en", [text], [first]) == [[]]
    assert voter.read == [text]


SPANISH = ("Román Sudupe habló ayer con la jueza en la sala del tribunal. "
           "Luego llegó Luis Enrique Martínez con sus abogados y muchos periodistas. "
           "Después habló el portavoz de Naciones Unidas sobre el caso. "
           "Más tarde Ana María López firmó el acta del juicio.")


@pytest.mark.parametrize(("first", "read"), [
    # the first pass's organisation that may be a name: three words either side of it
    ([("ORGANIZATION", "Román Sudupe", 0.85)], ["Román Sudupe habló ayer con"]),
    # a place on part of a run: the whole run, and three words either side, across sentences
    ([("LOCATION", "Martínez", 0.85)],
     ["tribunal. Luego llegó Luis Enrique Martínez con sus abogados"]),
    ([("ORGANIZATION", "Román Sudupe", 0.85), ("LOCATION", "Martínez", 0.85)],
     ["Román Sudupe habló ayer con", "tribunal. Luego llegó Luis Enrique Martínez con sus "
      "abogados"]),
    # nothing of the first pass there, or a person: nothing to relabel
    ([], []),
    ([("PERSON", "Luis Enrique Martínez", 0.85)], []),
    # a place below the policy's threshold is not one
    ([("LOCATION", "Martínez", 0.4)], []),
    # a place of dictionary words ("Naciones Unidas"), a person held by the first pass
    ([("ORGANIZATION", "Naciones Unidas", 0.85), ("PERSON", "Ana María López", 0.85)], []),
])
def test_the_places_mode_reads_only_around_places_that_may_be_names(
        first: list[tuple[str, str, float]], read: list[str]) -> None:
    text = SPANISH
    found: list[Finding] = [(entity, *span(text, words), score, "spacy:es")
                            for entity, words, score in first]
    voter = Recording("Luis Enrique Martínez")
    CrossLanguageVote(voter, "vote-places").find("es", [text], [found])
    # the text's voters are French (first) and English (only where French saw a person)
    assert [piece for language, piece in voter.by_language if language == "fr"] == read
    assert len(voter.read) == len(read) + sum("Luis Enrique" in piece for piece in read)


def test_the_places_mode_relabels_what_it_reads() -> None:
    text = SPANISH
    first: list[Finding] = [("ORGANIZATION", *span(text, "Román Sudupe"), 0.85, "spacy:es"),
                            ("ORGANIZATION", *span(text, "Naciones Unidas"), 0.85, "spacy:es")]
    voter = Recording("Román Sudupe")
    extra = CrossLanguageVote(voter, "vote-places").find("es", [text], [first])
    assert [(text[s:e], score) for _, s, e, score, _ in extra[0]] == [
        ("Román Sudupe", SCORE_RELABELLED)]
    assert voter.by_language == [("fr", "Román Sudupe habló ayer con"),
                                 ("en", "Román Sudupe habló ayer con")]


def test_no_vote_on_a_language_without_voters() -> None:
    voter = Recording("Ivan")
    assert CrossLanguageVote(voter, "vote").find("uk", ["Іван Франко."], [[]]) == [[]]
    assert voter.read == []


@pytest.mark.parametrize(("languages", "text_language", "voted"), [
    (("en", "fr", "es"), "en", True),
    (("en", "fr", "es"), "es", True),
    (("es",), "es", True),
    (("es",), "en", False),
    (("es",), "fr", False),
    (("en", "fr"), "es", False),
    (("en", "fr"), "fr", True),
    (("es",), "uk", False),  # a language without voters is never voted on
])
def test_only_the_languages_asked_for_are_voted_on(languages: tuple[str, ...],
                                                   text_language: str, voted: bool) -> None:
    text = "We met Keiko Tanabe."
    voter = Recording("Keiko Tanabe")
    vote = CrossLanguageVote(voter, "vote", languages)
    extra = vote.find(text_language, [text], [[]])
    assert vote.votes_on(text_language) is voted
    assert [[text[s:e] for _, s, e, _, _ in found] for found in extra] == (
        [["Keiko Tanabe"]] if voted else [[]])
    assert bool(voter.read) is voted  # a language not voted on costs no voter a read


def test_vote_languages_must_have_voters() -> None:
    with pytest.raises(ValueError, match="vote languages must be some of en, fr, es"):
        CrossLanguageVote(_no_model, "vote", ("uk",))
    with pytest.raises(ValueError, match="vote languages"):
        CrossLanguageVote(_no_model, "vote", ())


# ----------------------------------------------------------------------------- the setting


def test_the_vote_by_default_is_the_cheap_one_on_spanish_alone() -> None:
    assert (load_ner_tiers({}).vote, load_ner_tiers({}).vote_languages) == (
        "vote-places", ("es",))
    assert (NerTiers().vote, NerTiers().vote_languages) == ("vote-places", ("es",))
    assert load_settings({}).ner_tiers.vote == "vote-places"
    assert load_ner_tiers({"DOUANE_NER_VOTE": "off"}).vote == "off"
    assert load_settings({"DOUANE_NER_VOTE": "vote-unsure"}).ner_tiers.vote == "vote-unsure"
    assert load_ner_tiers({"DOUANE_NER_VOTE": "vote-places",
                           "DOUANE_NER_VOTE_LANGUAGES": "en,fr,es"}).vote_languages == (
        "en", "fr", "es")
    with pytest.raises(SettingError, match=(
            r"DOUANE_NER_VOTE='all' must be one of: vote-places, off, vote-unsure, vote$")):
        load_ner_tiers({"DOUANE_NER_VOTE": "all"})
    with pytest.raises(ValueError, match="vote mode"):
        CrossLanguageVote(_no_model, "off")


@pytest.mark.parametrize(("value", "languages"), [
    (None, ("es",)),  # unset: Spanish, where the vote pays most
    ("", ("es",)),
    ("es", ("es",)),
    (" ES , en ", ("en", "es")),  # case and spaces do not matter; kept in a fixed order
    ("es,es", ("es",)),
    ("fr,en,es", ("en", "fr", "es")),
])
def test_the_vote_languages_setting(value: str | None, languages: tuple[str, ...]) -> None:
    env = {} if value is None else {"DOUANE_NER_VOTE_LANGUAGES": value}
    assert load_ner_tiers(env).vote_languages == languages
    assert load_settings(env).ner_tiers.vote_languages == languages


@pytest.mark.parametrize("value", ["uk", "es,uk", "spanish", ",", "es;fr"])
def test_a_vote_language_douane_cannot_vote_on_is_refused(value: str) -> None:
    # the message names the variable, the value and what is allowed
    with pytest.raises(SettingError, match=(
            r"^DOUANE_NER_VOTE_LANGUAGES='.*' must be a comma-separated list of some of: "
            r"en, fr, es$")) as refused:
        load_ner_tiers({"DOUANE_NER_VOTE_LANGUAGES": value})
    assert repr(value) in str(refused.value)


# ----------------------------------------------------------------------------- real models


@pytest.fixture(scope="module")
def detectors() -> dict[str, PresidioDetector]:
    entities = {"PERSON", "LOCATION", "ORGANIZATION", "EMAIL_ADDRESS"}
    # every language voted on, as a deployment that asks for it (the default is Spanish only)
    return {mode: PresidioDetector(("en", "es"), entities, ner_tiers=NerTiers(
                vote=mode, vote_languages=("en", "fr", "es")))
            for mode in ("off", "vote-unsure", "vote-places")}


def persons(detector: PresidioDetector, text: str, language: str) -> list[str]:
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings

    detection = detector.detect([ChatMessage("user", text)], language)
    kept = select_findings(detection.findings, {e: EntityRule(min_score=0.5) for e in
                                                ("PERSON", "LOCATION", "ORGANIZATION")})
    return [text[f.start:f.end] for f in kept if f.entity_type == "PERSON"]


@pytest.mark.parametrize(("language", "text", "off", "on"), [
    # the Spanish model takes the second name for an organisation; English and French agree on
    # a person (French is loaded for the vote alone: this detector detects en and es)
    ("es", "La jueza Begoña Azarloza archivó la causa contra Román Sudupe.",
     ["Begoña Azarloza"], ["Begoña Azarloza", "Román Sudupe"]),
    # names the text's own model finds are kept as they are
    ("en", "Goals were scored by Tiago Mendes and Yusuf Demirtas before half-time.",
     ["Tiago Mendes", "Yusuf Demirtas"], ["Tiago Mendes", "Yusuf Demirtas"]),
])
def test_the_real_models_vote(detectors: dict[str, PresidioDetector], language: str, text: str,
                              off: list[str], on: list[str]) -> None:
    assert persons(detectors["off"], text, language) == off
    assert persons(detectors["vote-unsure"], text, language) == on
    # the cheap mode reads only around "Román Sudupe", the Spanish model's organisation
    assert persons(detectors["vote-places"], text, language) == on


def test_a_vote_on_spanish_alone() -> None:
    entities = {"PERSON", "LOCATION", "ORGANIZATION"}
    spanish = NerTiers(vote="vote-unsure", vote_languages=("es",))
    detector = PresidioDetector(("en", "es"), entities, ner_tiers=spanish)
    assert detector.method("es") == "ner+patterns+vote"
    assert detector.method("en") == "ner+patterns"  # English text is not voted on
    # the voters of Spanish text are English and French: French is loaded for the vote alone
    assert detector.loaded_models == {"en": "detection", "es": "detection", "fr": "vote"}
    assert persons(detector, "La jueza Begoña Azarloza archivó la causa contra Román Sudupe.",
                   "es") == ["Begoña Azarloza", "Román Sudupe"]
    # a detector that does not detect Spanish has nothing to vote on: no model loaded for it
    english = PresidioDetector(("en",), entities, ner_tiers=spanish)
    assert english.method("en") == "ner+patterns"
    assert english.loaded_models == {"en": "detection"}
    assert "vote" not in english.startup_seconds


def test_the_method_names_the_vote(detectors: dict[str, PresidioDetector]) -> None:
    assert detectors["off"].method("en") == "ner+patterns"
    assert detectors["vote-unsure"].method("es") == "ner+patterns+vote"
    # a detection with the vote is a full one, not an unsupported language
    assert "ner+patterns+vote" in FULL_METHODS
    assert "ner+patterns+corenlp+vote" in FULL_METHODS
    assert "vote" in detectors["vote-unsure"].startup_seconds
