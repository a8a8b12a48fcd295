"""The generated load of ``douane bench planted``: at least the values asked for, in English
and French prompts of 50-300 words, each label pointing at its value, names of every origin."""

from __future__ import annotations

import pytest

from streams.devtools.bench.planted import (
    ORIGINS,
    Planted,
    PlantedPrompt,
    ascii_fold,
    generate,
    leaked_characters,
    ukrainian_latin,
)
from streams.devtools.bench.planted_prose import REGISTERS

REGIONS = ("FR", "ES", "UA", "IS", "UY", "GB", "US")


@pytest.fixture(scope="module")
def load() -> list[PlantedPrompt]:
    return generate(2000, 1, REGIONS)


def test_at_least_the_values_asked_for_in_50_to_300_words(load: list[PlantedPrompt]) -> None:
    assert sum(len(p.planted) for p in load) >= 2000
    assert all(50 <= p.words <= 300 for p in load)
    assert {p.language for p in load} == {"en", "fr"}
    assert {p.register for p in load} == set(REGISTERS)


def test_every_type_origin_and_region(load: list[PlantedPrompt]) -> None:
    values = [v for p in load for v in p.planted]
    assert {v.entity for v in values} == {"PERSON", "EMAIL_ADDRESS", "IBAN_CODE",
                                          "PHONE_NUMBER"}
    assert {v.group for v in values if v.entity == "PERSON"} == set(ORIGINS)
    assert {v.group for v in values if v.entity == "PHONE_NUMBER"} == set(REGIONS)
    assert len({v.group for v in values if v.entity == "IBAN_CODE"}) >= 10


def test_labels_point_at_the_values(load: list[PlantedPrompt]) -> None:
    for prompt in load:
        for value in prompt.planted:
            written = prompt.text[value.start:value.end]
            assert written and written == written.strip()
            if value.entity == "EMAIL_ADDRESS":
                assert "@" in written and not written.startswith("mailto:")
            if value.entity == "PERSON" and value.form.startswith("title"):
                assert not written.startswith(("Mr", "Mrs", "Dr", "Mme", "M."))


def test_the_same_seed_gives_the_same_load() -> None:
    assert [p.text for p in generate(50, 3, REGIONS)] == [p.text for p in generate(50, 3, REGIONS)]
    assert [p.text for p in generate(50, 3, REGIONS)] != [p.text for p in generate(50, 4, REGIONS)]


def test_romanised_names() -> None:
    assert ukrainian_latin("Олексій Згурський") == "Oleksii Zghurskyi"
    assert ukrainian_latin("Юлія Яковенко") == "Yuliia Yakovenko"
    assert ascii_fold("Nguyễn Đức Łukasz") == "Nguyen Duc Lukasz"


def test_a_value_leaks_when_any_letter_of_it_is_left() -> None:
    text = "Valentina <PERSON_1> wrote"
    value = Planted("PERSON", "spanish", "full", 0, 20)
    assert leaked_characters(text, value, covered=set(range(10, 20)))
    assert not leaked_characters(text, value, covered=set(range(0, 20)))
    # spaces and punctuation between the words are not the value
    assert not leaked_characters("Ana  Costa", Planted("PERSON", "x", "full", 0, 10),
                                 covered={0, 1, 2, 5, 6, 7, 8, 9})


@pytest.fixture(scope="module")
def french_load() -> list[PlantedPrompt]:
    return generate(2000, 1, REGIONS, "fr")


def test_the_french_load_is_french_prose_of_its_own(french_load: list[PlantedPrompt]) -> None:
    from streams.devtools.bench.planted_prose_fr import REGISTERS_FR

    assert sum(len(p.planted) for p in french_load) >= 2000
    assert all(50 <= p.words <= 300 for p in french_load)
    assert {p.language for p in french_load} == {"fr"}
    assert {p.register for p in french_load} == set(REGISTERS_FR)
    values = [v for p in french_load for v in p.planted]
    assert {v.group for v in values if v.entity == "PERSON"} == set(ORIGINS)
    # the mixed load (the default) is the one every earlier figure was measured on
    assert [p.text for p in generate(50, 3, REGIONS, "mixed")] == [
        p.text for p in generate(50, 3, REGIONS)]
    assert {p.language for p in generate(300, 3, REGIONS, "en")} == {"en"}


def test_french_phone_numbers_in_every_common_writing(
        french_load: list[PlantedPrompt]) -> None:
    import phonenumbers
    import regex

    phones = [(v.form, p.text[v.start:v.end]) for p in french_load for v in p.planted
              if v.entity == "PHONE_NUMBER" and v.group == "FR" and v.form.startswith("fr-")]
    shapes = {form: written for form, written in phones}
    assert set(shapes) == {"fr-spaced", "fr-dotted", "fr-dashed", "fr-plain",
                           "fr-international-spaced", "fr-international-plain",
                           "fr-international-trunk", "fr-00", "fr-international-dotted"}
    assert regex.fullmatch(r"0[1-79]( \d\d){4}", shapes["fr-spaced"])  # 06 12 34 56 78
    assert regex.fullmatch(r"0[1-79](\.\d\d){4}", shapes["fr-dotted"])  # 06.12.34.56.78
    assert regex.fullmatch(r"0[1-79]\d{8}", shapes["fr-plain"])  # 0612345678
    assert regex.fullmatch(r"\+33 [1-79]( \d\d){4}", shapes["fr-international-spaced"])
    # numbers the plan allocates, as people write them
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(written, "FR"))
               for _, written in phones)


def test_min_score_redacts_from_the_score_a_policy_may_choose() -> None:
    """``--min-score``: the rules' types redacted from that score instead of their own."""
    from types import SimpleNamespace

    from streams.core.model import ChatMessage, Finding
    from streams.core.policy import EntityRule
    from streams.devtools.bench.planted import _plan_at

    text = "i told Qafurbeyli and Jeanne Martin"
    request = SimpleNamespace(messages=(ChatMessage("user", text),), tenant="t")
    pending = SimpleNamespace(verdict=SimpleNamespace(resolution=SimpleNamespace(
        entities={"PERSON": EntityRule(min_score=0.5)})))
    findings = [Finding(0, "PERSON", 7, 17, 0.38), Finding(0, "PERSON", 22, 35, 0.85)]
    assert [text[f.start:f.end] for f in _plan_at(0.35, request, findings, pending).findings] \
        == ["Qafurbeyli", "Jeanne Martin"]
    assert [text[f.start:f.end] for f in _plan_at(0.5, request, findings, pending).findings] \
        == ["Jeanne Martin"]
