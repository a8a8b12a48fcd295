"""Names by their shape or the question they answer (recognizers/name_shapes.py): a middle
initial, a name asked or told, a full name in lower case, a lower-case list of given names."""

from __future__ import annotations

import pytest

from streams.adapters.presidio_detector import NER_SCORE
from streams.adapters.recognizers import build_recognizers
from streams.adapters.recognizers.name_shapes import (
    LIST_SCORE,
    SHAPE_SCORE,
    NameShapeRecognizer,
)


def names(text: str, language: str = "en") -> list[str]:
    return [text[r.start : r.end] for r in NameShapeRecognizer(language).analyze(text, None)]


@pytest.mark.parametrize(("text", "expected"), [
    # Hungarian, Polish, Spanish, Japanese, Danish: given name, initial, surname
    ("ZIP: 7412 Csanád P Gere lives at 3178 Damvergi St.", ["Csanád P Gere"]),
    ("Please write to Juliusz A Kwiatkowski about it.", ["Juliusz A Kwiatkowski"]),
    ("Laboratory animal technician Landerico B Hidalgo called.", ["Landerico B Hidalgo"]),
    ("name:   hyuuma t. maida address: unit 4526", ["hyuuma t. maida"]),
    ("Please follow up with benjamin a seiler in a couple of months.", ["benjamin a seiler"]),
    ("The verses from Eric G. Samoylova were sung.", ["Eric G. Samoylova"]),
])
def test_a_middle_initial(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "Please take Vitamin C Tablets twice a day.",
    "We need a Plan B Options paper.",
    "See Annex A Table 3 and Appendix C Sanchez report.",
    "Just give anna a call tomorrow about it.",  # "a" then a common word
    "I told brian i think so.",
    "Mixed Anna b Smith is not written alike.",
])
def test_an_initial_between_words_that_are_not_a_name(text: str) -> None:
    assert names(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    # (and "Siiri", a name the writer gives: see below)
    ("What's your last name? Magnusson My name is Siiri.", ["Magnusson", "Siiri"]),
    ("Her maiden name is Sandgreen What are my options?", ["Sandgreen"]),
    ("Family name: Okonkwo Adeyemi", ["Okonkwo Adeyemi"]),
    ("His name was Zhang Wei and he lived here.", ["Zhang Wei"]),
])
def test_a_name_asked_or_told(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "What's your last name? The form asks for it.",
    "Her name is not on the list.",
    "The surname field is empty. Monday it was filled.",
])
def test_a_name_asked_without_a_name_after_it(text: str) -> None:
    assert names(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Please follow up with patricia desrosiers in a couple of months.",
     ["patricia desrosiers"]),
    ("Call olga krylova now. It is urgent.", ["olga krylova"]),
    ("Please block my credit card. My name is lena andersson.", ["lena andersson"]),
])
def test_a_full_name_in_lower_case_in_a_capitalised_text(text: str,
                                                         expected: list[str]) -> None:
    assert names(text) == expected


def test_lower_case_phrases_that_open_with_a_given_name_are_not_names() -> None:
    assert names("We need the amber alert now. Go to the rose garden. The grace period "
                 "ends. See the will smith film. A jade plant. The mark down.") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("They had 6: leonti, terrence, pamela, donna, andrea and brian. At noon.",
     ["leonti", "terrence", "pamela", "donna", "andrea", "brian"]),
    ("Invite silvana, adam, christopher, kristina, chad and caleb.",
     ["silvana", "adam", "christopher", "kristina", "chad", "caleb"]),
])
def test_a_lower_case_list_of_given_names(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "Buy rice, beans, corn and wheat.",
    "We meet in may, june and july.",
    "Bring pens, paper, leonti and glue.",  # one unknown word among common words
])
def test_lower_case_lists_that_are_not_given_names(text: str) -> None:
    assert names(text) == []


def test_the_shapes_win_over_ner_a_list_does_not() -> None:
    # NER calls "Landerico" an organisation: the whole name must win the overlap
    assert SHAPE_SCORE > NER_SCORE > LIST_SCORE


def test_in_english_french_and_spanish_when_persons_are_asked() -> None:
    for language in ("en", "fr", "es"):
        assert any(isinstance(r, NameShapeRecognizer)
                   for r in build_recognizers(language, ["PERSON"]))
    assert not any(isinstance(r, NameShapeRecognizer)
                   for r in build_recognizers("en", ["EMAIL_ADDRESS"]))
    assert not any(isinstance(r, NameShapeRecognizer)
                   for r in build_recognizers("uk", ["PERSON"]))


def test_a_function_word_of_another_language_opens_no_lower_case_name() -> None:
    # "des" is a given name somewhere and French for "some": not a name in English text,
    # even before a misspelt word no dictionary holds (as presidio-research writes it)
    assert names(">770 26 rue des lieutemants Thomazo. See you.") == []


@pytest.mark.parametrize(("text", "expected"), [
    # the writer's own name, capitalised or in lower case (a word no dictionary holds)
    ("Friends at work call me Dragomira and I answer to it.", ["Dragomira"]),
    ("hi, people call me zdravkolav here", ["zdravkolav"]),
    ("Good morning, my name's Teodora Vasilescu.", ["Teodora Vasilescu"]),
    ("Good morning. my name is ingeborg, from the third floor.", ["ingeborg"]),
    # a relative's or a close person's, after a possessive
    ("I want to add my daughter Oluwaseun to the claim.", ["Oluwaseun"]),
    ("Please update our son's file: our son Radek Hrubý moved.", ["Radek Hrubý"]),
    ("My wife, Ingrid Havelka, will sign.", ["Ingrid Havelka"]),
    ("She lives with her husband tadeusz in town.", ["tadeusz"]),
    ("I asked my colleague Wiremu about the form.", ["Wiremu"]),
    # a name asked or told, in lower case, on the same terms
    ("Her maiden name is kowalczyk and she was born here.", ["kowalczyk"]),
])
def test_a_name_the_writer_gives(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "Call me tomorrow please, or call me back after lunch.",
    "Call me Monday, or call me ASAP.",
    "Please call me. The office is open.",
    "My name is not on the list, my name is spelled wrong.",
    "My daughter may come, and my friend will help.",  # given names common as words
    "Our partner Microsoft and my Ministry said so.",  # not a relative
    "My son The Doctor said it.",  # a function word
    "my wife Street Parking permit",  # an institution word
    "Your first name is required.",
])
def test_what_a_writer_gives_that_is_not_a_name(text: str) -> None:
    assert names(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    # a group holds a name of the lexicon or a word no dictionary holds ("Tervainen"); its
    # other names may be common words ("Pilkington")
    ("Ashford 3 (Pilkington 12, Tervainen 55 71) Millbrook 1 (Kowalczyk 88).",
     ["Pilkington", "Tervainen", "Kowalczyk"]),
    ("Karlsdorf 2 (Wendrich 30th pen, Zobel 89th) Lindau 2 (Van der Stoep 45, Mertz 77).",
     ["Wendrich", "Zobel", "Van der Stoep", "Mertz"]),
    ("Eastfield 2 (Brannagh 43, 46 penalty). Halftime 1-0.", ["Brannagh"]),
    ("Norby 2 (Kjeldsen 2nd and 27th) Vale 0.", ["Kjeldsen"]),
])
def test_the_scorers_of_a_match_result(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", [
    "They won 2-1 (halftime 0-1) at home.",
    "See chapter 3 (Room 4, Table 5) of the report.",
    "Ashford 3 (Pilkington 12, Okonjo 55) and no name the lexicon knows.",
    "Section 3 (Page 4) has the form.",
    "Apply by 1 (Monday 5) or later.",  # a day
    "In 2024 (Council 12, Committee 3) voted.",  # institution words
    "Turnover rose 4 (Ashford 12, see annex) percent.",  # an item that is not a scorer
    "Score 3 (34, 71) without names.",
    "Score 3 (34, Kowalczyk 71): a number first.",
    "Ranked 2 (Kowalczyk 12, Council 3, Monday 4) in the survey.",
])
def test_numbers_in_parentheses_that_are_not_scorers(text: str) -> None:
    assert names(text) == []
