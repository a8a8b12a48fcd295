"""The Ukrainian second-tier NER (``DOUANE_UK_NER``), on the real weights from the PyPI wheel
``natasha``: what it adds to the name lexicon, what it is kept from reporting, and that the
unsure mode reads only the sentences the lexicon left open."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers.slovnet_ner import SlovnetNer
from streams.core.model import ChatMessage, Detection

ENTITIES = {"PERSON", "LOCATION", "UA_PASSPORT", "UA_RNOKPP"}


@pytest.fixture(scope="module")
def detectors() -> dict[str, PresidioDetector]:
    return {mode: PresidioDetector(("uk",), ENTITIES, uk_ner=mode)
            for mode in ("off", "slovnet", "slovnet-unsure")}


def found(detection: Detection, text: str, entity: str) -> list[str]:
    return [text[f.start : f.end] for f in detection.findings
            if f.entity_type == entity and f.score >= 0.5]


def run(detector: PresidioDetector, text: str) -> Detection:
    return detector.detect((ChatMessage("user", text),), "uk")


@pytest.mark.parametrize("mode", ["slovnet", "slovnet-unsure"])
def test_a_surname_the_lexicon_does_not_know_is_found_by_the_model(
    detectors: dict[str, PresidioDetector], mode: str,
) -> None:
    text = "Звіт підготував Оконкво, а перевірив Бенслімане."
    assert found(run(detectors["off"], text), text, "PERSON") == []
    assert "Бенслімане" in found(run(detectors[mode], text), text, "PERSON")


@pytest.mark.parametrize("mode", ["slovnet", "slovnet-unsure"])
def test_places_are_reported_when_the_policy_asks_for_them(
    detectors: dict[str, PresidioDetector], mode: str,
) -> None:
    text = "Заяву подав громадянин Ахмед Бенслімане, мешканець Харкова."
    assert found(run(detectors["off"], text), text, "LOCATION") == []
    assert found(run(detectors[mode], text), text, "LOCATION") == ["Харкова"]
    assert found(run(detectors[mode], text), text, "PERSON") == ["Ахмед Бенслімане"]


def test_a_name_span_stops_where_the_name_does(detectors: dict[str, PresidioDetector]) -> None:
    # the model's own span is "Леопольд Охріменко (ID-картка ЕЕ": kept whole, it would
    # overlap the passport number and lose the name to it
    text = "Перепишіть звернення від Леопольд Охріменко (ID-картка ЕЕ123456) простіше."
    for mode in ("slovnet", "slovnet-unsure"):
        people = found(run(detectors[mode], text), text, "PERSON")
        assert people and all(p == "Леопольд Охріменко" for p in people)


def test_words_the_lexicon_knows_as_ordinary_words_are_not_names() -> None:
    ner = SlovnetNer({"PERSON"})
    text = "Або він прийде завтра. Бо Польщі це не потрібно."
    unfiltered = [text[s:e] for _, s, e, _, _ in ner.find([text])[0]]
    assert unfiltered  # the Russian model takes these capitalised Ukrainian words for names
    ordinary = {"Або", "Бо", "Польщі"}
    filtered = SlovnetNer({"PERSON"}, ordinary_word=lambda w: w in ordinary,
                          name_only=lambda w: False)
    assert filtered.find([text]) == [[]]


def test_the_unsure_mode_reads_only_sentences_with_an_uncovered_capitalised_word() -> None:
    ner = SlovnetNer({"PERSON"}, ordinary_word=lambda w: w == "Відповідь")
    texts = ["Лист написала Олена Коваленко. Відповідь дав Бенслімане. Усе гаразд."]
    name = texts[0].index("Олена Коваленко")
    covered = [[(name, name + len("Олена Коваленко"))]]
    assert ner.sentences_read(texts, covered) == (1, 3)
    people = [texts[0][s:e] for _, s, e, _, _ in ner.find_where_unsure(texts, covered)[0]]
    assert people == ["Бенслімане"]


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="DOUANE_UK_NER"):
        PresidioDetector(("uk",), ENTITIES, uk_ner="bert")


def test_on_where_unsure_by_default_and_recorded_as_its_own_method(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOUANE_UK_NER", raising=False)
    detector = PresidioDetector(("uk",), {"PERSON"})
    assert detector.uk_ner == "slovnet-unsure"
    assert detector.method("uk") == "patterns+name-lexicon+ner"  # a full method (decision.py)
    monkeypatch.setenv("DOUANE_UK_NER", "off")
    assert PresidioDetector(("uk",), {"PERSON"}).method("uk") == "patterns+name-lexicon"


# The Russian model reads Ukrainian names in oblique cases as places ("Корнеля", "Дори" on
# BRUK); a span the lexicon knows only as name parts is left to the lexicon's person (issue
# 14). Here the lexicon is a stand-in, the model real: "Польщі" is a place to the model.
PLACE_OR_NAME = [
    # the lexicon's verdict on "Польщі", whether the model's place is kept
    (lambda w: w == "Польщі", []),
    (lambda w: False, ["Польщі", "Польщі"]),
    (None, ["Польщі", "Польщі"]),  # no lexicon: places stay places
]


@pytest.mark.parametrize(("name_only", "places"), PLACE_OR_NAME)
def test_a_span_of_name_parts_only_is_not_reported_as_a_place(
        name_only: Callable[[str], bool] | None, places: list[str]) -> None:
    text = "Мій брат працює в Польщі вже три роки. Я живу в Польщі."
    ner = SlovnetNer({"PERSON", "LOCATION"}, name_only=name_only)
    assert [text[s:e] for entity, s, e, _, _ in ner.find([text])[0]
            if entity == "LOCATION"] == places


def test_a_found_surname_in_another_case_is_a_person_too(
        detectors: dict[str, PresidioDetector]) -> None:
    # "Корган" and "Шкуряк" are in no dictionary: the model finds the first mention only
    for text, later in (("Приходив пан Корган. Ми дали Корганам ключі.", "Корганам"),
                        ("Потім був Шкуряк. Ми бачили Шкуряка вчора.", "Шкуряка")):
        assert later in found(run(detectors["slovnet"], text), text, "PERSON")
