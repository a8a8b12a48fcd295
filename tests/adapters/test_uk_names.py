"""The Ukrainian name lexicon's morphology rules (issue 14, streams/adapters/recognizers/
uk_names.py): a name as the subject of a verb agreeing with it, and a found name's other case
forms. Sentences written for these tests, not taken from any corpus."""

from __future__ import annotations

import pytest

from streams.adapters.recognizers.uk_names import UkNameRecognizer, inflected_mentions, name_stems

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def recognizer() -> UkNameRecognizer:
    return UkNameRecognizer()


def found(recognizer: UkNameRecognizer, text: str) -> list[str]:
    return sorted({text[r.start : r.end] for r in recognizer.analyze(text, None)
                   if r.score >= THRESHOLD})


AGREEING_VERB = [
    # a first name that is also a word, opening a sentence, then a verb of its gender
    ("Вероніка прийшла рано вранці на зупинку.", ["Вероніка"]),
    ("Максим засміявся і вийшов.", ["Максим"]),
    # a surname, an adverb between it and the verb
    ("Бойко обережно прочинив вікно.", ["Бойко"]),
    # present tense, third person singular
    ("Марина купує квитки на потяг.", ["Марина"]),
    # the verb does not agree: a past tense of the other gender
    ("Вероніка прийшов.", []),
    # a verb of being says nothing of a person: the novel, as often as Roman
    ("Роман був цікавий.", []),
    # no verb after it
    ("Марина біля моря.", []),
    # not opening a sentence: the lexicon's own rules judge it (a name inside a sentence)
    ("Вчора Вероніка прийшла.", ["Вероніка"]),
    # an adverb that is also a surname (Dalí) is the adverb: a word of a closed class in
    # one of its readings is never taken for a name by these rules
    ("Далі пішов додому.", []),
    # after an ellipsis a sentence opens too: the pronoun, not a name inside a sentence
    ("Прошу, не помічай… Вона й не помічала.", []),
    # a word the dictionary does not know as a name, even with a verb
    ("Україна вирішила інакше.", []),
]


@pytest.mark.parametrize(("text", "expected"), AGREEING_VERB)
def test_a_name_as_the_subject_of_an_agreeing_verb(recognizer: UkNameRecognizer, text: str,
                                                   expected: list[str]) -> None:
    assert found(recognizer, text) == expected


OTHER_CASES = [
    # found in the instrumental inside a sentence, then in the nominative opening one (no
    # verb after it: only the earlier mention makes it a name)
    ("Він говорив з Мариною про дітей. Марина біля моря.", ["Марина", "Мариною"]),
    # the accusative
    ("Він бачив Вероніку вчора. Вероніка біля моря.", ["Вероніка", "Вероніку"]),
    # another name in the text does not make an unrelated word a name
    ("Він говорив з Мариною про дітей. Роман біля моря.", ["Мариною"]),
    # a surname found with its first name, later in the dative
    ("Заяву подав Андрій Бойко. Надішліть відповідь. Бойкові біля моря.",
     ["Андрій Бойко", "Бойкові"]),
]


@pytest.mark.parametrize(("text", "expected"), OTHER_CASES)
def test_a_found_name_in_another_case(recognizer: UkNameRecognizer, text: str,
                                      expected: list[str]) -> None:
    assert found(recognizer, text) == expected


STEMS = [
    # a word and its forms share a stem; a possessive surname shares its root's
    ("Корган", "Корганам", True),
    ("Корган", "Коргановій", True),
    ("Шкуряк", "Шкуряка", True),
    ("Сальомея", "Сальомеєю", True),
    ("Шевченко", "Шевченкові", True),
    # different names
    ("Корган", "Корнеля", False),
    ("Шевченко", "Шевчук", False),
    # a stem of three letters meets too many words
    ("Лев", "Леви", False),
]


@pytest.mark.parametrize(("name", "other", "same"), STEMS)
def test_name_stems(name: str, other: str, same: bool) -> None:
    assert bool(name_stems(name) & name_stems(other)) is same


MENTIONS = [
    ("Приходив Корган. Ми дали Корганам ключі.", "Корган", ["Корганам"]),
    # opening a sentence, a word the dictionary knows only as an ordinary word stays one
    ("Прийшла Смерть. Смертю це не закінчилося.", "Смерть", []),
    # ...inside a sentence it is a name as found (a personified Grief)
    ("Прийшла Смерть. Ми назвали її Смертю.", "Смерть", ["Смертю"]),
    # the person found itself is not reported twice
    ("Приходив Корган.", "Корган", []),
]


@pytest.mark.parametrize(("text", "person", "expected"), MENTIONS)
def test_inflected_mentions(recognizer: UkNameRecognizer, text: str, person: str,
                            expected: list[str]) -> None:
    start = text.index(person)
    spans = inflected_mentions(text, [(start, start + len(person))], recognizer)
    assert [text[s:e] for s, e in spans] == expected


POSSESSIVES = [
    ("Він читав Лесиного листа.", ["Лесиного"]),
    ("До Іванчиної хати далеко.", ["Іванчиної"]),
    ("Ми бачили Шекспірових героїв.", ["Шекспірових"]),
    # adjectives of places and institutions
    ("Він живе у Шевченківському районі.", []),
    ("Він пішов на Андріївський узвіз.", []),
    ("Він навчався у Львівському університеті й отримав Шевченківську премію.", []),
    # opening a sentence, a capital says nothing
    ("Лесиного листа він не читав.", []),
]


@pytest.mark.parametrize(("text", "expected"), POSSESSIVES)
def test_a_possessive_adjective_of_a_name(recognizer: UkNameRecognizer, text: str,
                                          expected: list[str]) -> None:
    assert found(recognizer, text) == expected
