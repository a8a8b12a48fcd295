"""PERSON: a name opening a line of comments, chat or a list, by what follows it (issue 14).

A prompt made of comments or chat puts each on a line of its own, and many lines open with
the name of whom they speak of or to: "Pyrion continues his streak", "Skhumba my brother",
"Jaiden, you are so beautiful". The first word of a line is judged as a sentence's first
word, so its capital says nothing, and spaCy's NER reads it as nothing, an organisation or a
place ("Amanda is in love", "Mauro started commentating": ORG). On WNUT-17 dev (web comments,
one per line) a quarter of the missed persons opened a line (docs/benchmarks.md, "Names that
open a line").

A capitalised word opening a line (after blanks, a dash or a bullet) is a person here when

- it **may be a name**: a word no dictionary of English, French or Spanish holds
  (``given_names.unknown_word``: "Skhumba", "Pyrion"; not a stretched word or a laugh,
  "Loooool"), or a known given name no more common as a word than a capitalised given name
  may be (``CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY``: "Amanda", "Katy"; not "Will", "Hope");
  a second such word, or a known surname, after it belongs to the name ("Priyanka Oduya
  loves"; not "Okonquo Street");
- and **the words after it say a person**, one of:

  - ``addressed``: spoken to, a second- or first-person word or "please", "why", "thanks"
    next, after a comma or not ("Jaiden, you are", "Lily I love your videos", "Skhumba my
    brother", "Tanner why do you") - a place or a firm is seldom spoken to;
  - ``acting``: a verb only a person does, thinks or looks like ("Scotty looks so sad",
    "Tebogo sounds like");
  - ``described``: a copula, "has"/"had", a possessive, or a verb a firm, a club or a place
    may also be the subject of ("Themba is obsessed", "Katy had to", "Murphy's law",
    "Pyrion continues", "Mauro started", "Niskanen should"; but "Jamaica is", "Norilsk
    said", "Ace had no chance").

The first two score above NER (0.86 > 0.85), as ``name_shapes``' signs do: NER's ORG or
GPE reading ("Jaiden, you are so beautiful": GPE) would otherwise win the overlap and the
person be counted missed; so does a known given name before "is" or "was" ("Amanda is in
love", "Macy was so mean": ORG), a person far more often than not (WNUT-17 dev, CoNLL-2003
and presidio-research sentences read as lines: 39 persons, 3 not). The rest of
``described`` scores as the given-name pass (0.84, below NER): where NER read a place or a
firm ("Norilsk said", "Telenav is a design agency"), its reading stays; where it read
nothing, the word is still replaced.

Only English: the cue words are English (``supported_language`` "en"); a line opening in a
French or Spanish prompt is left to the other passes.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.informal_spans import stretched
from streams.adapters.recognizers.base import REGEX_TIMEOUT_S, PersonRecognizer, fold
from streams.adapters.recognizers.given_names import (
    CALENDAR,
    CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY,
    GIVEN_NAME_MAX_WORD_FREQUENCY,
    NAME_WORD,
    NOT_A_SURNAME,
    PERSON_VERBS,
    TITLES,
    _pronounceable,
    function_words,
    lexicon_in,
    unknown_word,
)

# above NER (0.85): the words after the name say a person, NER's ORG/GPE reading loses
ADDRESSED_SCORE = 0.86
# as the given-name pass, below NER: a place or a club is described the same way
DESCRIBED_SCORE = 0.84
# The start of a line (or of the text), blanks, a dash or a bullet, then one or two
# capitalised words; the second is judged apart (``_may_be_a_name``)
LINE_OPENER = regex.compile(
    rf"(?:^|(?<=\n))[ \t]*(?:[-–•*>][ \t]*)?(?P<first>{NAME_WORD})"
    rf"(?:[ \u00a0](?P<second>{NAME_WORD}))?(?:(?=['’]s(?![\w'’]))|(?![\w'’@/-]))")
# what follows the name: an optional comma, then a word (or a possessive)
AFTER_NAME = regex.compile(r"(?P<possessive>['’]s(?![\w'’]))?(?:[ \t]*,)?"
                           r"[ \t]+(?P<word>[\p{L}'’]+)")
# Words that speak to a person (or speak as one, to them) right after a name opening a line
ADDRESS_WORDS = frozenset("""you your you're youre you've youve yours u ur ya y'all yall
    i i'm im i've ive i'd i'll my please pls plz thank thanks thx why when what how
    """.split())  # noqa: SIM905 - a word list reads better as text
# chat's "you", "your": also a preposition or an article in other languages, before a place
# ("Velká Bukovina u Děčína"); a second person only before a word in lower case
CHAT_SHORT_FORMS = frozenset(("u", "ur", "ya"))
NEXT_CAPITALISED = regex.compile(r"[ \t]+\p{Lu}")
# Verbs only a person does, thinks or looks like (a firm or a club "said", "won", "will")
PERSON_ONLY_VERBS = frozenset("""looks looked sounds sounded feels felt loves loved hates
    hated likes liked thinks thought knew knows sings sang cries cried laughs laughed
    smiles smiled married""".split())  # noqa: SIM905
# Verbs of a person that a firm, a club or a place may also be the subject of: besides
# ``PERSON_VERBS`` ("said", "will", "should", "wants"...), what comments say people do
SHARED_VERBS = PERSON_VERBS | frozenset("""continues continued started starts stopped stops
    plays played makes made gets got gave gives tried tries keeps kept became becomes went
    goes came comes left leaves lost wins won killed kills must might may shall never
    always still just really literally did does doesnt didnt cant wont isnt wasnt
    """.split())  # noqa: SIM905
# a copula, or what a person has: the subject is described, as a place or a club may be
COPULAS = frozenset(("is", "was"))
DESCRIBING_WORDS = SHARED_VERBS | COPULAS | frozenset(("isn't", "wasn't", "has", "had"))


class LineOpenerRecognizer(PersonRecognizer):
    """PERSON: a name opening a line, by the words after it (see the module's docstring)."""

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.given_here = lexicon_in("given_names", supported_language)
        self.surnames_here = lexicon_in("surnames", supported_language)
        self.functions = function_words(supported_language)
        super().__init__(supported_language, timeout_s)

    def find_persons(self, text: str) -> list[RecognizerResult]:
        return [RecognizerResult("PERSON", start, end, score)
                for start, end, score in self.line_openers(text)]

    def line_openers(self, text: str) -> list[tuple[int, int, float]]:
        """Each name opening a line that the words after it say is a person, with its score."""
        found = []
        for opener in LINE_OPENER.finditer(text, **self.searching):
            if not self._may_be_a_name(opener.group("first")):
                continue
            start, end = opener.span("first")
            second = opener.group("second")
            if second is not None:
                if not self._may_be_a_name(second) and not self._surname_like(second):
                    continue  # "Poor Carson", "Paw Patrol": not a name then a cue
                end = opener.end("second")
            score = self._cue_score(text, end, opener.group("first") in self.given_here)
            if score is not None:
                found.append((start, end, score))
        return found

    def _may_be_a_name(self, word: str) -> bool:
        """A word no dictionary holds, or a given name rare as a word; never a function word,
        a title, a day, an institution word, a stretched word. (An opening verb or greeting,
        "Draft", "Hello", is a dictionary word.)"""
        folded = word.casefold()
        if folded in self.functions or folded in TITLES or fold(word) in CALENDAR \
                or folded in NOT_A_SURNAME or stretched(word) \
                or not _pronounceable(word):
            return False
        return unknown_word(word) or \
            self.given_here.get(word, 99.0) <= CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY

    def _surname_like(self, word: str) -> bool:
        # a second capitalised word the given-name lexicon calls a surname or a given name
        # ("Pj Tucker"): known names only, common words are not ("Lil Yachty" is left)
        known = min(self.given_here.get(word, 99.0), self.surnames_here.get(word, 99.0))
        return known <= GIVEN_NAME_MAX_WORD_FREQUENCY and word.casefold() not in self.functions

    def _cue_score(self, text: str, end: int, given_name: bool) -> float | None:
        after = AFTER_NAME.match(text, end, **self.searching)
        if after is None:
            return None
        word = after.group("word").casefold().replace("’", "'")
        if after.group("possessive"):
            return DESCRIBED_SCORE  # "Murphy's law", "Themba's mum"
        if word in ADDRESS_WORDS and not (word in CHAT_SHORT_FORMS and NEXT_CAPITALISED.match(
                text, after.end(), **self.searching)):
            return ADDRESSED_SCORE
        if word in PERSON_ONLY_VERBS:
            return ADDRESSED_SCORE
        if given_name and word in COPULAS:
            # a known given name described ("Amanda is in love", "Macy was so mean"): a
            # person more often than not, though NER reads many as firms; a word no
            # dictionary holds is as often a firm ("Telenav is a design agency")
            return ADDRESSED_SCORE
        if word in DESCRIBING_WORDS:
            return DESCRIBED_SCORE
        return None
