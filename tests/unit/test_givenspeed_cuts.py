"""Branch ``givenspeed``: the given-name pass's surname-last scan tried only where a match can
start, the street-address recognizer's street-type words found from the
runs of word characters that can open one instead of the long alternation tried at every
word, and the one-word street's scan skipped where a text holds none of its suffixes. Each
gives what the scan gave (tables of edge cases, every code point read as a type's letter,
random texts made of the pieces the patterns read)."""

from __future__ import annotations

import random
import sys

import pytest
import regex

from streams.adapters.recognizers import given_names as gn
from streams.adapters.recognizers import street_address as sa
from streams.adapters.recognizers.base import holds_any

EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)


def scanned(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    return [m.span() for m in sa.STREET_TYPE_WORD.finditer(text, start, end)]


def found(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    end = len(text) if end is None else end
    return [m.span() for m in sa.StreetAddressRecognizer("fr")._type_words(text, start, end)]


def random_texts(pieces: tuple[str, ...], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
            for _ in range(count)]


@pytest.mark.parametrize(("alternative", "run"), [
    ("lieu\\-dit", "lieu"), ("Avda\\.?", "Avda"), ("C/", "C"), ("Eje vial", "Eje"),
    ("P\\.º", "P"), ("Pº", "Pº"), ("rue", "rue"),
])
def test_first_run(alternative: str, run: str) -> None:
    assert sa._first_run(alternative) == run


TYPE_EDGES = (
    "12 rue de la Paix", "3 bis avenue Victor Hugo", "Calle Mayor 5", "C/ de Alcalá 42",
    "C/Alcalá 42", "Avda. de la Constitución 12", "Avda de Mayo 3", "P.º del Prado 8",
    "Pº del Prado 8", "Eje vial Norte 5", "Eje Vial 5", "lieu-dit Les Granges 4",
    "rond-point de l'Europe 2", "RUE DE LA PAIX 12", "Rue de la Paix", "ruelle des Chats 3",
    "rue5", "xrue 5", "calle5", "CALLE Mayor 5", "Résidence Les Pins 4", "RÉSIDENCE Les Pins",
    "Ⅰrue 5", "ﬁrue", "ß rue", "\u0130rue 5 and rue 6", "Plaza Mayor 1, Madrid", "",
)


@pytest.mark.parametrize("text", TYPE_EDGES)
def test_type_words_are_what_the_scan_finds(text: str) -> None:
    assert found(text) == scanned(text)
    for start in range(len(text) + 1):  # every window, as ``_type_windows`` cuts them
        for end in (start, (start + len(text)) // 2 + 1, len(text)):
            if end >= start:
                assert found(text, start, end) == scanned(text, start, end), (start, end)


def test_a_type_word_cut_by_the_window_end_is_found() -> None:
    # the scan's look-ahead reads the window's end as the end of the text: "rue" of "rue5"
    assert found("rue5", 0, 3) == scanned("rue5", 0, 3) == [(0, 3)]


def test_every_character_regex_reads_as_a_french_type_letter_is_seen() -> None:
    """Each letter of each French type, replaced by every code point ``regex`` matches to it
    case-insensitively: the type word is still found where the scan finds it."""
    for letter in sorted(set("".join(sa.FR_TYPES))):
        twins = [m.group() for m in regex.finditer(f"(?i:{regex.escape(letter)})",
                                                   EVERY_CHARACTER)]
        assert letter in twins
        for word in sa.FR_TYPES:
            for at in [i for i, c in enumerate(word) if c == letter]:
                for twin in twins:
                    text = f"12 {word[:at]}{twin}{word[at + 1:]} Longue 5"
                    assert found(text) == scanned(text), (word, hex(ord(twin)))


TYPE_PIECES = ("rue", "Rue", "RUE", "ruelle", "calle", "Calle", "C", "/", ".", "º", "Pº", "P",
               "Avda", "Eje", "vial", "Vial", "lieu", "-", "dit", "rond", "point", "plaza",
               "Plaza", "av", "Av", "5", "12", " ", " ", " ", ",", "x", "é", "É", "ß", "\n",
               "\u00a0", "Résidence", "résidence", "'")


def test_type_words_random() -> None:
    for text in random_texts(TYPE_PIECES, 4000, 1):
        assert found(text) == scanned(text), text
        middle = len(text) // 2
        assert found(text, 1, middle) == scanned(text, 1, middle), text


def test_the_place_tried_is_read_with_what_is_before_it() -> None:
    # ``match`` at a place reads the character before it for the look-behind, as the scan
    assert sa.STREET_TYPE_WORD.match("xrue 5", 1) is None
    assert scanned("xrue 5") == found("xrue 5") == []


@pytest.mark.parametrize(("text", "runs"), [
    ("Hafnarstræti 5, 101 Reykjavík", True),
    ("Laugavegur 12", True),
    ("Hauptstraße 3", True),
    ("a weg 3", True),  # a word holding a suffix: the scan decides
    ("12 rue de la Paix, 75002 Paris", False),
    ("HAUPTSTRASSE 3", False),  # the pattern reads its suffixes in lower case only
    ("", False),
])
def test_one_word_street_gate(text: str, runs: bool) -> None:
    assert holds_any(text, sa.COMPOUND_SUFFIXES) is runs
    if sa.COMPOUND_STREET_ADDRESS.regex.search(text):
        assert runs


def test_one_word_street_gate_random() -> None:
    pieces = ("Hafnar", "stræti", "Laug", "avegur", "Haupt", "straße", "STRASSE", "weg", "Weg",
              " ", "5", "12", ",", "101", "Reykjavík", "x", "Gata", "gata", "Torg", "torg")
    matched = 0
    for text in random_texts(pieces, 3000, 3):
        if sa.COMPOUND_STREET_ADDRESS.regex.search(text):
            matched += 1
            assert holds_any(text, sa.COMPOUND_SUFFIXES), text
    assert matched


def test_the_suffixes_are_plain_lower_case_words() -> None:
    # what ``holds_any``'s proof needs: each literal is written as is in its pattern
    for suffix in sa.COMPOUND_SUFFIXES:
        assert regex.fullmatch(r"\p{Ll}+", suffix), suffix


def test_same_street_findings_with_every_scan_run(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = (*TYPE_EDGES, "Hafnarstræti 5, 101 Reykjavík", "Calle Mayor 5, 28013 Madrid",
             "lives at 221B Baker Street, London NW1 6XE", "Scores: 3 1 12 45 2-1",
             "habite rue de la Paix", "dirección: Calle Mayor", "C/Alcalá 42, 28014 Madrid")
    recognizers = [sa.StreetAddressRecognizer(language) for language in ("en", "fr", "es")]
    before = [[(r.start, r.end, r.score) for r in s.analyze(t, None)]
              for s in recognizers for t in texts]
    monkeypatch.setattr(sa, "holds_any", lambda text, literals: True)
    monkeypatch.setattr(sa.StreetAddressRecognizer, "_type_words",
                        lambda self, text, start, end: list(
                            sa.STREET_TYPE_WORD.finditer(text, start, end)))
    assert [[(r.start, r.end, r.score) for r in s.analyze(t, None)]
            for s in recognizers for t in texts] == before
    assert sum(map(bool, before)) > len(texts)


# The given-name pass: ``SURNAME_LAST_RUN`` tried only where it can start
SURNAME_LAST_EDGES = (
    "Valentina COSTA", "Valentina Maria COSTA", "Ana Maria Lucia COSTA", "x Valentina COSTA",
    "(Valentina COSTA)", "l'Ana COSTA", "Valentina\u00a0COSTA", "Valentina \u00a0COSTA",
    "Ana\u00a0Maria COSTA", "José O'BRIEN", "José O’BRIEN-SMITH", "E’zoza NI", "Ana COSTAs",
    "Ana COSTA-", "the NATO", "Contact VALENTINA COSTA", "SOCCER - JAPAN GET LUCKY WIN",
    "Jean-Pierre DUPONT", "McDonald DUPONT", "Ana B COSTA", "Ana  COSTA", "Ana\tCOSTA",
    "Nguyễn Thị MAI", "Ana COSTA Maria COSTA Lucia DIAS", "", "A", "Ab CD", "Ab C",
)
SURNAME_PIECES = ("Valentina", "Ana", "Maria", "COSTA", "NI", "O'BRIEN", "O’B", "BB", "B", "the",
                  "x", "Jean-Pierre", "McDonald", "Nguyễn", "Thị", "e\u0301", " ", " ", " ",
                  "\u00a0", "-", "'", "’", "(", ".", "\n", "3")


def test_surname_last_tried_where_it_can_start() -> None:
    for text in (*SURNAME_LAST_EDGES, *random_texts(SURNAME_PIECES, 5000, 4)):
        expected = [m.span() for m in gn.SURNAME_LAST_RUN.finditer(text)]
        starts = gn.surname_last_starts(text, None)
        assert [m.span() for m in gn.matches_from(gn.SURNAME_LAST_RUN, text, starts, None)] \
            == expected, text


@pytest.mark.parametrize(("text", "starts"), [
    ("Valentina COSTA", [0]),
    ("Ana Maria COSTA", [0, 4]),
    ("Ana Maria Lucia COSTA", [4, 10]),  # two words back at most
    ("the NATO", []),  # no capital before it
    ("SOCCER - JAPAN GET LUCKY", []),  # capitals after capitals
    ("Ana\u00a0Maria\u00a0COSTA", [0, 4]),
    # after a mark: every capital of the two words back ("COSTA e\u0301") is tried
    ("Ana COSTA e\u0301 NI", [0, 4, 5, 6, 7, 8]),
])
def test_surname_last_starts(text: str, starts: list[int]) -> None:
    assert gn.surname_last_starts(text, None) == starts


def test_same_names_with_the_surname_last_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = (*SURNAME_LAST_EDGES, "Le dossier de Valentina COSTA est complet.",
             "Contact: Yusuf KAYA, then Maria Lucia FERNANDES.")
    recognizers = [gn.GivenNameRecognizer(language) for language in ("en", "fr", "es")]
    before = [[(r.start, r.end) for r in g.analyze(t, None)] for g in recognizers for t in texts]
    monkeypatch.setattr(gn, "matches_from", lambda pattern, text, starts, timeout: list(
        pattern.finditer(text)))
    assert [[(r.start, r.end) for r in g.analyze(t, None)]
            for g in recognizers for t in texts] == before
    assert sum(map(bool, before)) > len(texts)


@pytest.mark.parametrize("text", [
    "lives at 221B Baker Street", "12 Elm Parks Road", "3 Greens", "Flat 5, 12 Elm Grove",
    "The Street", "Streets and Roads", "12 Elm Avenues", "no type here", "Ss s", "",
    "12 Downing St\nLondon",
])
def test_english_starts_when_no_type_is_written(text: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    recognizer = sa.StreetAddressRecognizer("en")
    starts = recognizer._english_starts(text)
    # without the sets: every capitalised word tested one by one
    monkeypatch.setattr(sa, "EN_TYPE_SET", type("Meets", (), {
        "isdisjoint": staticmethod(lambda other: False)})())
    assert recognizer._english_starts(text) == starts
