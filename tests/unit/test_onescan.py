"""Branch ``onescan``: the given-name pass's scans that open at a capital (``NAME_RUN``,
``LONE_WORD``, ``VIETNAMESE_RUN``, ``CAPITALISED_WORD``) read from one scan of the text's
capitalised words (``CapitalisedWords``) give what each scan gave: the same matches on a table
of edge cases and on random texts made of the pieces the patterns read, the premise of the
proof checked on every code point, and the recognizer's findings the same with the scans."""

from __future__ import annotations

import random
import sys

import pytest
import regex

from streams.adapters.recognizers import given_names as gn
from streams.adapters.recognizers.batch_memos import forget

EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)

PIECES = ("Anna", "Nguyen", "Van", "Thi", "Mai", "Le", "Tran", "DUPONT", "NI", "O'Brien",
          "O’Neil", "Jean-Pierre", "McDonald", "DiCaprio", "E’zoza", "Ja’far", "L’école",
          "Qu’elle", "de", "la", "van", "der", "y", "della", "del", "bin", "Al", "De", "The",
          "Paris", "Rashid", "Valentina", "COSTA", "A", "I", "Ab", "x", "é", "É", "A\u0301",
          "e\u0301", "\u0301", "ǅ", "Ⅻ", "ß", "İ", "1", "_", "@", "/", ".", ",", ":", "-",
          "'", "’", "(", "iPhone", "x-Men", "2Pac", "Mr", "Ho", "Do", "Vu", "Monday",
          " ", " ", " ", " ", "\u00a0", "  ", "\n", ".a", "Élodie", "Đặng", "NGUYỄN")
TABLE = [
    "", "Anna", "Anna Costa", "Anna  Costa", "Anna\u00a0Costa", "Jean de la Fontaine",
    "Jean de la de Fontaine", "Jean de Paris", "Jean de la", "A B C D E F G H I J",
    "Anna Bea Cleo Dora Ella Fay Gia", "x-Anna Costa", "iPhone Anna", "2Pac Anna said",
    "Nguyen Van Thi Mai Le", "NGUYEN Van Thi", "Le Monde Diplomatique", "Do Not Enter",
    "said Anna.", "said Anna. Then", "cc Anna, Bea and Cleo", "Anna’s file", "O'Brien Smith",
    "E’zoza Karimova", "McDonald Jean-Pierre", "Anna@example", "Anna/Bea", "Anna.b",
    "A\u0301na Costa", "ǅemal Bea", "İlker Ay", "Anna_Bea", "Anna1 Bea", "Anna Bea1",
    "Rio de Janeiro", "van der Berg", "Vu Hoang a rappelé", "Mr Smith and Mrs Jones",
    "Fatima bin Rashid Al Mansouri", "Jean y Maria", "COSTA Valentina", "Valentina COSTA",
]


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 24)))
            for _ in range(count)]


def texts() -> list[str]:
    return TABLE + random_texts(6000, 14)


def test_word_characters_hold_every_letter_and_mark() -> None:
    """The premise of the proof: ``[\\w'’-]`` holds every character ``NAME_WORD`` and
    ``CAPS_WORD`` read (``\\p{L}``, ``\\p{M}``), so a word of either is inside one run."""
    letters = set(regex.findall(r"[\p{L}\p{M}]", EVERY_CHARACTER))
    words = set(regex.findall(r"[\w'’-]", EVERY_CHARACTER))
    assert letters <= words


def test_every_capital_after_a_separator_opens_a_word() -> None:
    for capital in regex.findall(r"\p{Lu}", EVERY_CHARACTER):
        words = gn.CapitalisedWords(f"a {capital}", None)
        assert words.starts == [2], repr(capital)


@pytest.mark.parametrize("text", TABLE)
def test_table(text: str) -> None:
    check(text)


def test_random_texts() -> None:
    for text in random_texts(6000, 14):
        check(text)


def check(text: str) -> None:
    words = gn.CapitalisedWords(text, None)
    assert words.name_runs() == [m.span() for m in gn.NAME_RUN.finditer(text)], text
    assert words.vietnamese_runs() == [m.span() for m in gn.VIETNAMESE_RUN.finditer(text)], text
    lone = {m.span() for m in gn.LONE_WORD.finditer(text)}
    assert lone <= set(words.lone_word_candidates()), text
    capitalised = {m.span() for m in gn.CAPITALISED_WORD.finditer(text)}
    assert capitalised <= set(words.name_words()), text


def scans(self: gn.GivenNameRecognizer, pattern: regex.Pattern[str], words: gn.CapitalisedWords,
          ) -> list[regex.Match[str]]:
    return list(pattern.finditer(words.text))


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_findings_the_same_with_the_scans(language: str, monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    recognizer = gn.GivenNameRecognizer(language)
    corpus = [*texts()[:3000], *(f"{t} said {u}. Then {v} wrote." for t, u, v in zip(
        TABLE, reversed(TABLE), TABLE[3:], strict=False))]
    now = [[(r.start, r.end) for r in recognizer.analyze(t, None)] for t in corpus]
    forget()
    monkeypatch.setattr(gn.GivenNameRecognizer, "_name_runs",
                        lambda self, words: scans(self, gn.NAME_RUN, words))
    monkeypatch.setattr(gn.GivenNameRecognizer, "_lone_words",
                        lambda self, words: scans(self, gn.LONE_WORD, words))
    monkeypatch.setattr(gn.GivenNameRecognizer, "_vietnamese_runs", lambda self, words: [
        run for run in scans(self, gn.VIETNAMESE_RUN, words)
        if gn.fold(run.group().partition(" ")[0]).casefold() in gn.VIETNAMESE_SURNAMES])
    monkeypatch.setattr(gn.GivenNameRecognizer, "_unknown_capitalised", lambda self, words: [
        word for word in scans(self, gn.CAPITALISED_WORD, words)
        if gn.unknown_word(word.group()) and word.group().casefold() not in gn.NOT_A_SURNAME])
    before = [[(r.start, r.end) for r in recognizer.analyze(t, None)] for t in corpus]
    forget()
    assert now == before
    assert sum(map(len, now)) > 100  # names were found: the comparison says something
