"""One reading per name in a request: a later mention of a person found is a person even where
NER reads that mention as a place or an organisation (issue 14, branch ``enrecall2``).

``repeated_names.later_mentions`` finds the other mentions of a name found ("Vaclav Havel" ...
"Havel said") at the given-name pass's score (0.84), below NER's (0.85): where spaCy labels
the same mention a place or an organisation ("Havel" -> LOCATION, "Patasse" -> ORGANIZATION),
NER's reading wins the overlap and the mention is scored as no person. Those mentions are
covered (replaced either way), but as the wrong type, and a reader of the redacted text, or a
policy that treats persons apart, sees a place where a person was.

A news text, a case file or a letter uses one name for one referent throughout; NER reads
each mention on its own, with the words around it, and changes its mind ("Havel has been
recovering" against "Havel 's throat"). Where a mention of a found person's name and NER's
place or organisation cover exactly the same characters, the request's own evidence (the
name written whole, read as a person) is stronger than NER's reading of one mention: the
mention is scored just above NER.

Only exact spans: a mention inside a longer NER span ("The John Lewis Partnership", "Costa
Rica") is a part of another name and keeps NER's reading; what a later mention may be at all
(not a word common as a word, not a title or a particle) is decided by ``later_mentions``.
And only where each word of the mention is a name of the lexicon (given names and surnames)
rare as a word (``ONE_WORD_NAME_MAX_WORD_FREQUENCY``, as for a one-word name's later
mentions) or a word no dictionary holds: NER itself sometimes reads a club or a team as a
person ("Ajax Amsterdam", "Austria III" in results tables), and its "Amsterdam", "Austria" or
"Barcelona" elsewhere (names of the lexicon too, but common as words) keeps NER's reading.

**In capitals.** A headline or a subject line in capitals names the person the text names
("RUGBY UNION - RETIRING CAMPESE WEIGHS UP OPTIONS." above "David Campese..."):
``later_mentions`` looks for a name's words in capitals too, but only where no other
capitalised word stands beside them ("Costa Rica" is another name), and in a line of capitals
every word does. ``in_capitals`` finds a word of a person's name found (of two words or more,
the word rare as a word or unknown to the dictionaries, as for the rule above) written in
capitals inside a sentence without any lower-case letter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import regex

from streams.adapters.recognizers.base import checkpoint
from streams.adapters.recognizers.given_names import SCORE, lexicon, unknown_word
from streams.adapters.recognizers.repeated_names import NAME as LATER_MENTION
from streams.adapters.recognizers.repeated_names import (
    NAME_WORD,
    ONE_WORD_NAME_MAX_WORD_FREQUENCY,
    PLACE_TYPES,
    _Within,
)
from streams.core.model import Finding

# above NER's 0.85, so that the mention wins the exact overlap; below the types NER does not
# read (e-mail addresses, identifiers: 0.9 and more), which must still win theirs
ABOVE_NER = 0.86
NER_RECOGNIZER_PREFIX = "spacy:"
INFINITY = float("inf")
IN_CAPITALS = "NameInCapitals"
# shorter words in capitals are too often abbreviations ("LEE", "MAY" aside, "ABC")
MIN_LETTERS_IN_CAPITALS = 4
# a word of four letters or more without an ASCII lower-case letter, of which those in
# capitals are kept (the class leaves out most words at once: a scan of every word cost more)
CAPITALS_WORD = re.compile(
    rf"(?<![\w'’-])[^\W\d_a-z]{{{MIN_LETTERS_IN_CAPITALS},}}(?:-[^\W\d_a-z]+)*(?![\w'’])")
# a sentence or a line: where a headline in capitals starts and ends
SENTENCE_END = regex.compile(r"[.!?\n]")


def over_ner_readings(texts: Sequence[str], findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` (in ``texts``, a request's messages) with each later mention of a found
    person (``later_mentions``'s PERSON findings) scored ``ABOVE_NER`` where spaCy's NER reads
    exactly the same span as a place or an organisation and each of its words is a name of the
    lexicon or a word no dictionary holds; every other finding unchanged, in the same order."""
    read_otherwise = {(f.message_index, f.start, f.end) for f in findings
                      if f.entity_type in PLACE_TYPES
                      and f.recognizer.startswith(NER_RECOGNIZER_PREFIX)}
    if not read_otherwise:
        return list(findings)
    return [Finding(f.message_index, f.entity_type, f.start, f.end, max(f.score, ABOVE_NER),
                    f.recognizer)
            if f.entity_type == "PERSON" and f.recognizer == LATER_MENTION
            and (f.message_index, f.start, f.end) in read_otherwise
            and _name_words(texts[f.message_index][f.start:f.end]) else f
            for f in findings]


def _name_words(mention: str) -> bool:
    """Whether each word of ``mention`` is a given name or surname of the lexicon, or a word no
    dictionary holds ("Havel", "Patasse"; not "Austria", "Barcelona", "AMSTERDAM")."""
    words = NAME_WORD.findall(mention)
    given, surnames = lexicon("given_names"), lexicon("surnames")
    return bool(words) and all(
        min(given.get(w, INFINITY), surnames.get(w, INFINITY)) <= ONE_WORD_NAME_MAX_WORD_FREQUENCY
        or unknown_word(w) for w in words)


def in_capitals(texts: Sequence[str], findings: Sequence[Finding]) -> list[Finding]:
    """PERSON findings for the words of the persons found (names of two words or more, each
    word rare as a word or unknown to the dictionaries) written in capitals in a sentence of
    ``texts`` without a lower-case letter: a headline, a subject line."""
    # the words written in capitals first (one scan of each text): most texts have none, and
    # judging every word of every name found cost more than the rest
    in_caps = {w for text in texts for w in CAPITALS_WORD.findall(text) if w.isupper()}
    if not in_caps:
        return []
    words: set[str] = set()
    for f in findings:
        checkpoint()  # the steps' CPU limit, in a thread (``RegexGuard.bounded``)
        if f.entity_type != "PERSON" or f.score < 0.5:
            continue
        found = NAME_WORD.findall(texts[f.message_index], f.start, f.end)
        if len(found) < 2:
            continue
        words.update(w for w in found if w.upper() in in_caps and w[0].isupper()
                     and not w.isupper() and _name_words(w))
    if not words:
        return []
    out: list[Finding] = []
    for index, text in enumerate(texts):
        # whether a person found holds an occurrence, asked of an index (a pass over the
        # persons for each occurrence was quadratic: "Anna Berg.\nANNA BERG\n" x 80 KB)
        inside = _Within(sorted((f.start, f.end) for f in findings
                                if f.message_index == index and f.entity_type == "PERSON"))
        for word in words:
            capitals = word.upper()
            at = text.find(capitals)
            while at >= 0:
                checkpoint()
                end = at + len(capitals)
                if (at == 0 or not _word_character(text[at - 1])) \
                        and (end == len(text) or not _word_character(text[end])) \
                        and not inside.holds(at, end) \
                        and _headline(text, at, end):
                    out.append(Finding(index, "PERSON", at, end, SCORE, IN_CAPITALS))
                at = text.find(capitals, end)
    return out


def _headline(text: str, start: int, end: int) -> bool:
    """Whether the sentence (or line) around ``text[start:end]`` has no lower-case letter."""
    before = [m.end() for m in SENTENCE_END.finditer(text, max(0, start - 200), start)]
    after = SENTENCE_END.search(text, end, end + 200)
    sentence = text[before[-1] if before else max(0, start - 200):
                    after.start() if after else min(len(text), end + 200)]
    return not any(c.islower() for c in sentence)


def _word_character(character: str) -> bool:
    return character.isalnum() or character in "'’-"
