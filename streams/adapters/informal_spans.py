"""PERSON spans of the NER model in informal writing (web comments, chat): what no name is made of.

spaCy's models were trained on edited text; on comments (WNUT-17 dev, docs/benchmarks.md
"Informal writing") they take for persons, or glue onto a person, words that no name is made
of in any language:

- **a stretched word or a laugh**: a letter three times running or a syllable of one to three
  letters said three times or more ("Loooool", "YASSSSS", "Beyoooond", "hahaha", "LOLOLOL");
  names are not written so (a triple letter in a name is a typo; it costs "Battellle"), except
  a Roman numeral ("Louis XIII", "Richard III").
- **a word in lower case inside the span**, of three letters or more, that the dictionaries
  hold and that is not a particle of names ("de", "van", "bin"), a function word ("Dora the
  Explorer") nor a known name rarer as a word than the given-name pass allows ("Travis
  scott"): in edited text the words of a name are capitalised, and a lower-case word the model
  ran on into is the sentence going on ("James lol Having", "Ishawna dem duty", "vidio Unfunny
  libtard curry eater"). The span is cut before it. One- and two-letter words are left: the
  cricket scores of CoNLL-2003 ("Wasim Akram b Harris") and initials. English only: French
  and Spanish write lower-case words inside names and titles ("saint Nicolas").
- **an edge that holds no letter** (an emoji, a "#"), taken off, and such a lower-case word
  left first once a stretched word before it is ("Loooool you two").

Each span is cut to what remains; nothing left, no person. The names lexicons and the common
words list are the given-name pass's (``recognizers/given_names.py``).
"""

from __future__ import annotations

import regex

from streams.adapters.recognizers.given_names import (
    GIVEN_NAME_MAX_WORD_FREQUENCY,
    PARTICLES,
    common_words,
    function_words,
    lexicon,
)

# a letter three times running, or a syllable of one to three letters three times running
STRETCHED = regex.compile(r"(\p{L})\1\1|(\p{L}{2,3})\2\2", flags=regex.IGNORECASE)
# the ordinal of a monarch or a pope, in capitals ("XIII" has a letter three times running)
ROMAN_NUMERAL = regex.compile(r"[IVXLCDM]+")
TOKEN = regex.compile(r"\S+")
LETTER = regex.compile(r"\p{L}")
WORD = regex.compile(r"\p{L}[\p{L}\p{M}]*")
# a lower-case word inside a span this short or shorter stays: initials, "b", "c", "st"
MIN_INNER_LETTERS = 3
# French and Spanish write lower-case words inside names and titles ("saint Nicolas", "La
# Torche humaine", "Premier ministre de Rhodésie"): on WikiANN (fr, dev) the cut lost 4 persons
# and removed no false one
LOWER_CASE_CUT_LANGUAGES = frozenset(("en",))
# a known name no more common than this as a word stays in the span though written in lower
# case ("Kylie minogue", "Travis scott"): the given-name pass's limit
INNER_NAME_MAX_WORD_FREQUENCY = GIVEN_NAME_MAX_WORD_FREQUENCY


def stretched(word: str) -> bool:
    """A word stretched or laughed ("Loooool", "hahaha"): no name is written so. A Roman
    numeral is part of a name ("Louis XIII", "Richard III")."""
    return STRETCHED.search(word) is not None and ROMAN_NUMERAL.fullmatch(word) is None


def chat_trimmed(text: str, start: int, end: int, language: str = "en",
                 ) -> tuple[int, int] | None:
    """``text[start:end]``, a PERSON span of the NER model, without the words no name is made
    of (see the module's docstring); None when nothing is left. Lower-case words are cut in
    English only (``LOWER_CASE_CUT_LANGUAGES``)."""
    cut = language in LOWER_CASE_CUT_LANGUAGES
    tokens = [(m.start() + start, m.end() + start, m.group())
              for m in TOKEN.finditer(text[start:end])]
    # an edge token without a letter or stretched goes, from either side
    while tokens and (_not_a_name_edge(tokens[0][2]) or (cut and _sentence_word(
            tokens[0][2], opening=True))):
        tokens.pop(0)
    while tokens and _not_a_name_edge(tokens[-1][2]):
        tokens.pop()
    for i, (_, _, token) in enumerate(tokens[1:], start=1):
        if (cut and _sentence_word(token)) or stretched(token):
            tokens = tokens[:i]
            break
    while tokens and _not_a_name_edge(tokens[-1][2]):
        tokens.pop()
    if not tokens:
        return None
    return tokens[0][0], tokens[-1][1]


def _not_a_name_edge(token: str) -> bool:
    return LETTER.search(token) is None or stretched(token)


def _sentence_word(token: str, opening: bool = False) -> bool:
    """A lower-case word the dictionaries hold, that no name is made of (see the module's
    docstring); with ``opening``, a function word too (no name opens with "you")."""
    word = WORD.match(token)
    if word is None or word.end() < len(token.rstrip(".,;:!?")) or not token.islower():
        return False
    found = word.group()
    if found in PARTICLES:
        return False
    if opening and found in function_words():
        return True
    if len(found) < MIN_INNER_LETTERS or found not in common_words() \
            or found in function_words():
        return False  # (a function word may be inside a name: "Dora the Explorer")
    name = found[:1].upper() + found[1:]
    known = min(lexicon("given_names").get(name, 99.0), lexicon("surnames").get(name, 99.0))
    return known > INNER_NAME_MAX_WORD_FREQUENCY
