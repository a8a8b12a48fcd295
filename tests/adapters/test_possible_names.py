"""Possible names (recognizers/possible_names.py): PERSON below the default min_score, one table
of cases per rule, and the default threshold left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from streams.adapters.recognizers.possible_names import (
    SCORE_LIKELY,
    SCORE_POSSIBLE,
    PossibleNameRecognizer,
    possible_names,
)
from streams.core.entities import wants_possible_names
from streams.core.model import ChatMessage
from streams.core.policy import DEFAULT_MIN_SCORE, EntityRule
from streams.core.redaction import select_findings

ROOT = Path(__file__).resolve().parents[2]


def found(text: str, language: str = "en") -> list[tuple[str, float, str]]:
    return [(text[start:end], score, rule)
            for start, end, score, rule in possible_names(text, language)]


def by_rule(text: str, rule: str, language: str = "en") -> list[str]:
    return [value for value, _, name in found(text, language) if name == rule]


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("i told Qafurbəyli we would sort it out", "en", ["Qafurbəyli"]),
    ("Varvara et Zenzile ne sont pas d'accord.", "fr", ["Zenzile"]),
    ("The file was sent to Bunlerngsri yesterday.", "en", ["Bunlerngsri"]),
])
def test_mid_sentence_unknown(text: str, language: str, expected: list[str]) -> None:
    assert by_rule(text, "mid_sentence_unknown", language) == expected


@pytest.mark.parametrize("text", [
    "Bunlerngsri opened the meeting.",  # opening a sentence: another rule, a lower tier
    "We met at the Zenica University campus.",  # beside an institution word
    "The office in Zenica is closed.",  # after a place preposition
    "The file is on the USB drive.",  # capitals: an acronym, not a capitalised word
    "My e-mail is UtaKortig@jourrapide.com, see https://ClickPhobia.com.br/ too.",  # attached
    "He won the Bunlerngsri Award on Thursday.",  # beside a capitalised common word: a title
])
def test_mid_sentence_unknown_not(text: str) -> None:
    assert by_rule(text, "mid_sentence_unknown") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("- Appel à NKUNDLANDE Zenzile (assistante sociale) au 06", ["NKUNDLANDE Zenzile"]),
    ("- Nouveau numéro de ISWAHYUDI Cagak : 04 21 02", ["ISWAHYUDI Cagak"]),
    ("Visite de Zenzile NKUNDLANDE lundi.", ["Zenzile NKUNDLANDE"]),
])
def test_capitals_beside_name(text: str, expected: list[str]) -> None:
    assert by_rule(text, "capitals_beside_name", "fr") == expected


@pytest.mark.parametrize("text", [
    "CATTLE CALVES HOGS Prices rose.",  # a run of capitals
    "Resignation Letter CAN I SPEAK TO A REAL PERSON?",  # a run of capitals, a common word
    "The NATO Summit opened.",  # an acronym the dictionaries hold
    "Send the PDF Monday.",
])
def test_capitals_beside_name_not(text: str) -> None:
    assert by_rule(text, "capitals_beside_name") == []


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("You can reach our adviser, X. Le, at the office.", "en", ["X. Le"]),
    ("- Đ. Mai a perdu son emploi en septembre.", "fr", ["Đ. Mai"]),
    ("Visit to Dr Jaggi on Tuesday; B. Le was present.", "en", ["B. Le"]),
])
def test_initial_then_name(text: str, language: str, expected: list[str]) -> None:
    assert by_rule(text, "initial_then_name", language) == expected


@pytest.mark.parametrize("text", [
    "See Appendix B. The table lists them.",  # a label, not an initial
    "It came from the U.S. Army base.",
    "Plan B. We will see.",
])
def test_initial_then_name_not(text: str) -> None:
    assert by_rule(text, "initial_then_name") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Tomorrow Rose will bring the forms.", ["Rose"]),
    ("The letter says that Vyas has moved.", ["Vyas"]),
])
def test_mid_sentence_known_name(text: str, expected: list[str]) -> None:
    assert by_rule(text, "mid_sentence_known_name") == expected


@pytest.mark.parametrize("text", [
    "We will meet on Monday and May is busy.",  # a day; a name common as a word (6.0)
    "She lives in Paris now.",  # a place preposition
    "Annual Report Of The Grace Foundation Board",  # a heading line
    "We read it in the Rose report.",  # after an article
    "He was the first winner of the Lombardi Award on Thursday.",  # beside a title word
    'An earlier song, "Carry Me Back To Canada," was played.',
])
def test_mid_sentence_known_name_not(text: str) -> None:
    assert by_rule(text, "mid_sentence_known_name") == []


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("- Vyas (mission locale) à recontacter.", "fr", ["Vyas"]),
    ("Le budget est voté. Aurélie ouvre la séance.", "fr", ["Aurélie"]),
    ("Notes:\nBunlerngsri called twice.", "en", ["Bunlerngsri"]),
])
def test_opening_name(text: str, language: str, expected: list[str]) -> None:
    assert by_rule(text, "opening_name", language) == expected


@pytest.mark.parametrize("text", [
    "The meeting opened at ten.",
    "Grace periods apply to late payments.",  # a name common as a word (4.6)
    "Aurélie Dupont called.",  # a full name: NER's and the sure rules'
])
def test_opening_name_not(text: str) -> None:
    assert by_rule(text, "opening_name") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("hi\ni told popescu we'd sort it\nno rush, end of day is fine\nok thanks",
     ["popescu"]),
    ("hey\nqafurbəyli is upset tbh\nsorry it's messy\nlater", ["qafurbəyli"]),
])
def test_lower_case_name(text: str, expected: list[str]) -> None:
    assert by_rule(text, "lower_case_name") == expected


@pytest.mark.parametrize("text", [
    # capitalised text: the rule is for texts written without capitals
    "Hi. I told popescu we would sort it. No rush. Ok thanks.",
    "hi\nsee popescu@example.org\nok",  # part of an address
    "hey\nwill you bring grace the forms\nthanks",  # names common as words
])
def test_lower_case_name_not(text: str) -> None:
    assert by_rule(text, "lower_case_name") == []


def test_a_word_found_once_is_a_possible_name_wherever_the_text_writes_it() -> None:
    text = "Zenzile opened. We then told Zenzile."
    spans = found(text)
    assert [(value, score) for value, score, _ in spans] == [
        ("Zenzile", SCORE_LIKELY), ("Zenzile", SCORE_LIKELY)]


def test_scores_stay_below_every_shipped_person_threshold() -> None:
    """No shipped policy redacts a possible name: each opts in by naming the score."""
    thresholds = [DEFAULT_MIN_SCORE]
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in (document or {}).get("rules", []) or []:
            person = ((rule or {}).get("redaction") or {}).get("PERSON")
            if isinstance(person, dict) and "min_score" in person:
                thresholds.append(float(person["min_score"]))
    assert len(thresholds) > 1  # the shipped rules were read
    assert max(SCORE_LIKELY, SCORE_POSSIBLE) < min(thresholds)


TEXTS = [
    ("en", "i told Qafurbəyli we would sort it. Tomorrow Rose will bring the forms to "
           "Mr Okafor. You can reach our adviser, X. Le, at the office."),
    ("fr", "- Appel à NKUNDLANDE Zenzile (assistante sociale).\n- Vyas (mission locale) à "
           "recontacter. Jeanne Martin habite à Lyon."),
]


@pytest.mark.parametrize(("language", "text"), TEXTS)
def test_the_default_threshold_redacts_as_before(language: str, text: str) -> None:
    """At the default min_score the findings selected are those of the detector without
    possible names, and at their score more is selected."""
    from streams.adapters.presidio_detector import PresidioDetector

    detector = PresidioDetector((language,), possible_names=True)
    messages = (ChatMessage("user", text),)
    with_possible = detector.detect(messages, language).findings
    detector._patterns[language] = [r for r in detector._recognizers(language)
                                    if not isinstance(r, PossibleNameRecognizer)]
    without = detector.detect(messages, language).findings
    default = {"PERSON": EntityRule(), "LOCATION": EntityRule()}
    assert select_findings(with_possible, default) == select_findings(without, default)
    assert [f for f in with_possible if f.score >= DEFAULT_MIN_SCORE] == \
        [f for f in without if f.score >= DEFAULT_MIN_SCORE]
    lowered = {kind: EntityRule(min_score=SCORE_POSSIBLE) for kind in default}
    assert len(select_findings(with_possible, lowered)) > len(select_findings(without, lowered))


@pytest.mark.parametrize(("lowest_person_min_score", "wanted"), [
    (None, False), (0.5, False), (0.4, False), (0.381, False), (0.38, True), (0.35, True),
    (0.0, True)])
def test_possible_names_are_looked_for_only_when_a_rule_would_select_them(
        lowest_person_min_score: float | None, wanted: bool) -> None:
    assert wants_possible_names(lowest_person_min_score) is wanted


def test_the_shipped_policy_does_not_build_them_and_a_lowered_person_rule_does() -> None:
    from streams.adapters.policy_files import load_policy_set
    from streams.adapters.presidio_detector import policy_wants_possible_names

    shipped = load_policy_set(ROOT / "policies").policy
    assert shipped.lowest_min_score("PERSON") == 0.4  # health and education
    assert not policy_wants_possible_names(shipped)
    first, *rest = shipped.rules
    lowered = first.model_copy(update={"redaction": {
        **first.redaction, "PERSON": EntityRule(min_score=SCORE_LIKELY)}})
    assert policy_wants_possible_names(shipped.model_copy(update={"rules": (lowered, *rest)}))


@pytest.mark.parametrize("possible_names", [False, True])
def test_the_detector_builds_the_recognizer_only_when_asked(possible_names: bool) -> None:
    from streams.adapters.recognizers import build_recognizers

    built = build_recognizers("en", {"PERSON"}, possible_names=possible_names)
    assert any(isinstance(r, PossibleNameRecognizer) for r in built) is possible_names
