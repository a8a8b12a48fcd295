"""PERSON spans of the NER model in informal writing (web comments, chat): what no name is made of.

spaCy's models were trained on edited text; on comments (WNUT-17 dev, docs/benchmarks.md
"Informal writing, first pass") they take for persons, or glue onto a person, tokens that no
name is made of in any language, and these are taken off the span's edges:

- **a stretched word or a laugh**: a letter three times running or a syllable of one to three
  letters said three times or more ("Loooool", "YASSSSS", "Beyoooond", "hahaha", "LOLOLOL");
  names are not written so (a triple letter in a name is a typo; it costs "Battellle"), except
  a Roman numeral ("Louis XIII", "Richard III").
- **a token without a letter** (an emoji, a "#").

What is left must hold a capital letter, as NER's spans must (``person_filters.clean_person``);
nothing left, no person. A lower-case word inside a span ("James lol Having") was cut too at
first, in English: on WNUT-17 dev that cost one person and removed no false one (a cut span
still counts once), so it was left out.
"""

from __future__ import annotations

import regex

# a letter three times running, or a syllable of one to three letters three times running
STRETCHED = regex.compile(r"(\p{L})\1\1|(\p{L}{2,3})\2\2", flags=regex.IGNORECASE)
# the ordinal of a monarch or a pope, in capitals ("XIII" has a letter three times running)
ROMAN_NUMERAL = regex.compile(r"[IVXLCDM]+")
TOKEN = regex.compile(r"\S+")
LETTER = regex.compile(r"\p{L}")


def stretched(word: str) -> bool:
    """A word stretched or laughed ("Loooool", "hahaha"): no name is written so. A Roman
    numeral is part of a name ("Louis XIII", "Richard III")."""
    return STRETCHED.search(word) is not None and ROMAN_NUMERAL.fullmatch(word) is None


def chat_trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]``, a PERSON span of the NER model, without the stretched words, laughs
    and letterless tokens at its edges (see the module's docstring); None when nothing is
    left, or nothing capitalised ("Loooool you": "you" is no name)."""
    tokens = [(m.start() + start, m.end() + start, m.group())
              for m in TOKEN.finditer(text[start:end])]
    while tokens and _not_a_name_edge(tokens[0][2]):
        tokens.pop(0)
    while tokens and _not_a_name_edge(tokens[-1][2]):
        tokens.pop()
    if not any(c.isupper() for _, _, token in tokens for c in token):
        return None
    return tokens[0][0], tokens[-1][1]


def _not_a_name_edge(token: str) -> bool:
    return LETTER.search(token) is None or stretched(token)
