"""Ukrainian person names with pymorphy3 and its Ukrainian dictionaries (offline): the
dictionary tags first names (Name), surnames (Surn) and patronymics (Patr).

Beyond the lexicon pass every language shares (``names.LexiconNameRecognizer``), two rules
read Ukrainian morphology (issue 14: on BRUK, the dev corpus, a lone first name opening a
sentence - "Вероніка прийшла", "Максим засміявся" - was the commonest kind of name missed that
the dictionary knows):

- **a name as the subject of a verb that agrees with it**: a single capitalised word opening a
  sentence that the dictionary knows as a first name or surname in the nominative (and also as
  an ordinary word: "Марина" is a seascape too), followed - after at most one adverb - by a
  finite verb that agrees with that reading: a past tense of the name's gender ("Марина
  відчула", "Бойко обережно прочинив") or a present or future in the third person singular.
  The verbs of being and becoming are left out: "Роман був цікавий" is about a novel as often
  as about Roman.
- **the same name in another case**: once a name is found (at the reporting threshold), each
  of its words' name readings (lemma and kind: "Мариною" -> first name "марина") marks every
  other capitalised word of the text with a name reading of the same lemma and kind as a
  person: "з Мариною ... Марина купує", "Шевченко ... Шевченкові".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymorphy3
import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.recognizers.base import (
    IS_SCORE_ENHANCED_BY_CONTEXT_KEY,
    RECOGNIZER_IDENTIFIER_KEY,
    RECOGNIZER_NAME_KEY,
    checkpoint,
)
from streams.adapters.recognizers.batch_memos import BatchMemo
from streams.adapters.recognizers.names import (
    WORD,
    Kind,
    LexiconNameRecognizer,
    _opens_sentence,
)
from streams.adapters.recognizers.repeated_names import _Within

NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
# the readings a lone word may be a person by: a first name or a surname (a patronymic alone
# is an address - "Петрівно" - rather than a mention)
PERSON_TAGS = ("Name", "Surn")
# verbs that say nothing of who their subject is: being, becoming, seeming
NOT_A_PERSON_VERB = frozenset({"бути", "стати", "ставати", "здаватися", "виявитися",
                               "виявлятися", "лишитися", "залишитися", "залишатися",
                               "лишатися", "бувати"})
# the word after a sentence-opening name: a lower-case word, then maybe another (the verb
# after an adverb: "Калязін обережно прочинив")
NEXT_WORDS = regex.compile(r"[ \u00a0]+(\p{Ll}[\p{Ll}'’-]*)(?:[ \u00a0]+(\p{Ll}[\p{Ll}'’-]*))?")
# the parts of speech of words that are never a name as written (pymorphy3's tags)
FUNCTION_POS = frozenset({"NPRO", "VERB", "INFN", "ADVB", "CONJ", "PREP", "PRCL", "PRED",
                          "INTJ", "NUMR", "GRND", "PRTF", "PRTS", "COMP"})
# a possessive adjective's dictionary form: "лесин", "іванчин", "шекспірів" (not "-ський":
# places and institutions, "Шевченківський район")
POSSESSIVE_LEMMA_ENDINGS = ("ин", "їн", "ів", "їв")
_ANALYZER: pymorphy3.MorphAnalyzer | None = None


def analyzer() -> pymorphy3.MorphAnalyzer:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = pymorphy3.MorphAnalyzer(lang="uk")
    return _ANALYZER


class UkNameRecognizer(LexiconNameRecognizer):
    LANGUAGE = "uk"
    TITLES = frozenset({"пан", "пані", "панові", "пана", "громадянин", "громадянка",
                        "громадянина", "громадянки", "гр.", "добродій", "добродійка"})
    THRESHOLD = 0.5  # the policy's usual minimum score: what counts as "found" for later forms

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # keyed by the words read: forgotten when the batch ends (``batch_memos``)
        self._parses: BatchMemo[str, list[Any]] = BatchMemo()

    def classify(self, word: str) -> Kind:
        parses = self._dictionary_parses(word)
        if not parses:
            return Kind.UNKNOWN
        names = [bool(NAME_TAGS & p.tag.grammemes) for p in parses]
        if all(names):
            return Kind.NAME_ONLY
        return Kind.NAME_OR_WORD if any(names) else Kind.WORD

    def find_persons(self, text: str) -> list[RecognizerResult]:
        results = super().find_persons(text)
        sure = [(r.start, r.end) for r in results if r.score >= self.THRESHOLD]
        lemmas = {lemma for start, end in sure for w in WORD.finditer(text, start, end)
                  for lemma in self._name_lemmas(w.group())}
        for word in WORD.finditer(text, **self.searching):
            start, end = word.span()
            if any(s <= start and end <= e for s, e in sure):
                continue
            if self.common_word(word.group()):
                continue
            if (lemmas and lemmas & self._name_lemmas(word.group())) or \
                    self._subject_of_agreeing_verb(text, word) or \
                    self._possessive_of_a_name(text, word):
                results.append(self._result(start, end))
        return results

    def common_word(self, word: str) -> bool:
        """A pronoun, verb, adverb or other closed-class word in one of its readings ("Вона"
        is also a surname's genitive, "Далі" a surname, "Жила" a past tense): opening a
        sentence, it is that word."""
        return any(p.tag.POS in FUNCTION_POS for p in self._dictionary_parses(word))

    def _subject_of_agreeing_verb(self, text: str, word: regex.Match[str]) -> bool:
        """A lone capitalised word opening a sentence, a first name or surname in the
        nominative, then (after at most one adverb) a verb that agrees with it."""
        start, end = word.span()
        if not _opens_sentence(text, start) or (
                start > 0 and text[start - 1] in "-'’") or regex.match(
                r"[ \u00a0]*\p{Lu}|[-'’]\w", text[end : end + 3]):
            return False  # not alone: the run of capitalised words is judged as a whole
        names = [p for p in self._dictionary_parses(word.group())
                 if any(t in p.tag for t in PERSON_TAGS) and p.tag.case == "nomn"]
        if not names:
            return False
        following = NEXT_WORDS.match(text, end)
        if following is None:
            return False
        candidates = [following.group(1)]
        if following.group(2) and any(p.tag.POS == "ADVB" for p in
                                      self._dictionary_parses(following.group(1))):
            candidates.append(following.group(2))
        for candidate in candidates:
            for verb in self._dictionary_parses(candidate):
                if verb.tag.POS != "VERB" or verb.normal_form in NOT_A_PERSON_VERB:
                    continue
                if any(_agrees(verb.tag, name.tag) for name in names):
                    return True
        return False

    def _possessive_of_a_name(self, text: str, word: regex.Match[str]) -> bool:
        """A possessive adjective made from a name, capitalised inside a sentence: "Лесиного"
        (Lesya's), "Іванчиній", "Шекспірових" - it names the person as the name does."""
        if _opens_sentence(text, word.start()):
            return False
        parses = self._dictionary_parses(word.group())
        return bool(parses) and all(p.tag.POS == "ADJF" for p in parses) and any(
            p.normal_form.endswith(POSSESSIVE_LEMMA_ENDINGS) for p in parses)

    def _name_lemmas(self, word: str) -> set[tuple[str, str]]:
        return {(p.normal_form, tag) for p in self._dictionary_parses(word)
                for tag in PERSON_TAGS if tag in p.tag}

    def _dictionary_parses(self, word: str) -> list[Any]:
        parses = self._parses.get(word)
        if parses is None:
            parses = [p for p in analyzer().parse(word) if _from_dictionary(p)]
            if len(self._parses) < 65536:  # bounded: one recognizer per process
                self._parses[word] = parses
        return parses

    def _result(self, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(
            "PERSON", start, end, self.SCORE_SINGLE,
            recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                  RECOGNIZER_IDENTIFIER_KEY: self.id,
                                  IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True})


# Case endings of Ukrainian nouns and of surnames declined as adjectives, longest first: what
# is cut off a word to compare it with another form of the same name ("Корган", "Корганам",
# "Коргановій"; "Шкуряк", "Шкуряка")
CASE_ENDINGS = tuple(sorted("""а я у ю о е є і ї и ь ом ем єм ою ею єю ові еві єві ам ям ами ями
    ах ях ів їв ей ій ий ої ого ому им их ими""".split(), key=len, reverse=True))  # noqa: SIM905
# the suffixes of possessive surnames between the stem and the ending ("Корган-ов-ій")
POSSESSIVE_SUFFIXES = ("ов", "ев", "єв", "ин", "ін", "їн")
# below the model's places (0.84): a word it reads as a place in its own right stays one
SCORE_INFLECTED = 0.6
MIN_STEM = 4  # "Лев", "Іва": shorter stems meet too many other words


def name_stems(word: str) -> set[str]:
    """The stems a form of a name may share with its other forms, lower-cased: the word less
    a case ending, and less a possessive suffix too."""
    folded = word.casefold()
    stems = {folded}
    for ending in CASE_ENDINGS:
        if folded.endswith(ending) and len(folded) - len(ending) >= MIN_STEM:
            stems.add(folded[: -len(ending)])
            break
    for stem in list(stems):
        for suffix in POSSESSIVE_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= MIN_STEM:
                stems.add(stem[: -len(suffix)])
    return {stem for stem in stems if len(stem) >= MIN_STEM}


def inflected_mentions(text: str, persons: Sequence[tuple[int, int]],
                       recognizer: UkNameRecognizer | None = None) -> list[tuple[int, int]]:
    """The capitalised words of ``text`` that are another case form of a word of a person
    found (``persons``: the lexicon's and the second tier's findings): a surname the
    dictionary does not hold, found once by the model ("Шкуряк"), written later in the
    genitive ("Шкуряка"). A word opening a sentence that the dictionary knows only as an
    ordinary word is left alone ("Горем" after "Горе" is grief)."""
    if not persons:
        return []
    stems = {stem for start, end in persons for w in WORD.finditer(text, start, end)
             for stem in name_stems(w.group())}
    # whether a person found holds a word, asked of an index (a pass over the persons for
    # each word was quadratic in a text made of names)
    inside = _Within(sorted(persons))
    out = []
    for word in WORD.finditer(text):
        checkpoint()  # the steps' CPU limit, in a thread (``RegexGuard.bounded``)
        start, end = word.span()
        if inside.holds(start, end):
            continue
        if not stems & name_stems(word.group()):
            continue
        if recognizer is not None and (recognizer.common_word(word.group()) or (
                _opens_sentence(text, start)
                and recognizer.classify(word.group()) is Kind.WORD)):
            continue
        out.append((start, end))
    return out


def _agrees(verb: Any, name: Any) -> bool:
    """A finite verb whose subject the name (in the nominative) can be: past tense of its
    gender (singular), or present or future in the third person singular."""
    if "sing" in verb and "3per" in verb:
        return True
    return "past" in verb and verb.gender is not None and verb.gender == name.gender


def _from_dictionary(parse: pymorphy3.analyzer.Parse) -> bool:
    return type(parse.methods_stack[0][0]).__name__ == "DictionaryAnalyzer"
