"""Names of every origin next to spaCy's NER: a given-name lexicon covering 105 countries.

The small spaCy models find "John Smith" but miss or mislabel names their training text rarely
held: "Yusuf Costa" or "Xenia Dubois" inside English text come out as nothing, as a place or
as an organisation. This pass is cheap and context-aware: a run of capitalised words (with the
particles of names, "de la", "van", "bin") is a person when its first word is a known given
name that is not also a common word ("Will", "Paris", "Grace" are left to NER), and the words
after it are surnames or other capitalised words - not a function word, an abbreviation or an
institution word ("Jordan Valley", "Victoria Station", "Sarah Lawrence College"); after a
particle only a known name follows ("Rio de Janeiro" is a place). A name of any origin is also
a person after a civility title ("Dr Yefremova"), after initials ("M. Waugh") or where a name
is asked for or given ("My name is...", "Name:"), and so is a known given name alone when it is
rare as a word ("ask Selma"). Its score sits just below
NER's: it adds the names NER did not see, and leaves NER's reading where NER saw a place or
an organisation (the words are replaced either way).

The lexicon (``data/given_names.tsv.gz``, ``data/surnames.tsv.gz``) holds the names that rank
among the 1,000 most frequent of at least one country in ``names-dataset`` (MIT licence) with
how common each is as a word in English, French and Spanish (``wordfreq``); it is rebuilt by
``python -m streams.devtools.names_lexicon``. It holds names only, linked to no one. Provenance,
for whoever decides whether to keep it: names-dataset says its v3 lists were extracted from
the 2021 dump of 533 million Facebook accounts; the packaged file keeps only the name strings
(no person, no count) that rank high in some country, but a deployment that must not build on
leaked data should rebuild the lexicon from another list of names (same file format).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import regex
from presidio_analyzer import LocalRecognizer, RecognizerResult

from streams.adapters.recognizers.base import (
    IS_SCORE_ENHANCED_BY_CONTEXT_KEY,
    RECOGNIZER_IDENTIFIER_KEY,
    RECOGNIZER_NAME_KEY,
    REGEX_TIMEOUT_S,
)

LANGUAGES = ("en", "fr", "es")
# Just below NER (0.85): where NER reads the same words as a place or an organisation, its
# reading stays (the words are replaced either way). Above it, names NER called places became
# persons again, but real places and clubs ("Aston Villa") became persons too and left more
# values uncovered on the dev corpora (docs/benchmarks.md, "Given names").
SCORE = 0.84
# A name that is this common as a word in English, French or Spanish (Zipf scale: 5 is once
# per 100,000 words) is left to NER: "Will", "Paris", "Marie" are words, places or names NER
# knows. 4.0 and 4.5 found fewer names on the dev corpora for the same precision.
GIVEN_NAME_MAX_WORD_FREQUENCY = 5.0

MAX_NAME_WORDS = 4
VOWELS = frozenset("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿāăąēĕėęěīĭįıōŏőœūŭůűų")
# Yusuf, O'Connor, McDonald, DiCaprio, Jean-Pierre
NAME_WORD = (r"\p{Lu}(?:['’]\p{Lu})?[\p{Ll}\p{M}]+(?:\p{Lu}[\p{Ll}\p{M}]+)?"
             r"(?:-\p{Lu}?[\p{Ll}\p{M}]+)*")
PARTICLES = ("de", "da", "di", "do", "dos", "das", "del", "della", "der", "den", "du", "la",
             "le", "van", "von", "bin", "ibn", "al", "el", "y", "ben", "ter", "zu")
NAME_RUN = regex.compile(
    rf"(?<![\w'’-]){NAME_WORD}(?:[ \u00a0](?:(?:{'|'.join(PARTICLES)})[ \u00a0]){{0,2}}"
    rf"{NAME_WORD}){{1,4}}(?![\w'’-])")
WORD = regex.compile(NAME_WORD)
# Beyond given names, three signs that whatever name follows is a person's, in any origin:
# a civility title ("Mr Okonkwo", "Dr. Yefremova", "Mme Ndiaye"), one or two initials
# ("M. Waugh", "J.R. Tolkien"), and a name asked or given ("My name is Magnusson",
# "Name: Sieda Batukayev", "je m'appelle...", "me llamo..."). The words after the sign must look
# like a name: capitalised, not a function word, abbreviation or institution word.
# the end of a name: not inside a word, or before a possessive ("M. Waugh's file")
NAME_END = r"(?:(?=['’]s\b)|(?![\w'’-]))"
TITLED_RUN = regex.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Professor|Sir|Dame|Madame|Mme|Mademoiselle|Mlle"
    r"|Monsieur|Docteur|Maître|Señor|Señora|Señorita|Sr|Sra|Srta|Doña|Herr|Frau)\.?[ \u00a0]+"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,3}}){NAME_END}")
INITIALS_RUN = regex.compile(
    r"(?<![\w.'’-])(?P<name>(?:\p{Lu}\.[ \u00a0]?){1,2}"
    rf"{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}}){NAME_END}")
NAMED_RUN = regex.compile(
    r"(?i:\bmy name is|\bmy name's|\bname[ \u00a0]*:|\bje m'appelle|\bje m’appelle|"
    r"\bmon nom est|\bnom[ \u00a0]*:|\bme llamo|\bmi nombre es|\bnombre[ \u00a0]*:)[ \u00a0]*"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,3}}){NAME_END}")
SIGNED_RUNS = (TITLED_RUN, INITIALS_RUN, NAMED_RUN)
# A given name alone ("ask Selma", "Jens said") is a person when it is rarer as a word than
# this: "Jordan", "Georgia", "Austin" (4.4-4.5) are places as often as people. 4.0 found a few
# more names on the dev corpora but reported a person in more prompts that hold none.
LONE_GIVEN_NAME_MAX_WORD_FREQUENCY = 3.5
# a capitalised word with no capitalised word next to it (a run is judged whole by ``_person``)
LONE_WORD = regex.compile(rf"(?<![\w'’-])(?<!\p{{Lu}}[\p{{L}}\p{{M}}'’-]*[ \u00a0])"
                          rf"{NAME_WORD}(?![\w'’-])(?![ \u00a0]\p{{Lu}})")
# Initials that abbreviate a country or a city, not a given name ("U.S. Senate", "D.C. Metro")
NOT_INITIALS = frozenset(("U.S.", "U.K.", "U.N.", "E.U.", "D.C.", "N.Y.", "L.A.", "U.S.A."))

# Civility titles that are also given names somewhere ("Mr", "Don", "Lady"): the name follows.
TITLES = frozenset(("mr", "mrs", "ms", "miss", "dr", "sir", "lady", "lord", "don", "doña",
                    "dona", "dom", "madame", "mme", "mademoiselle", "mlle", "monsieur", "señor",
                    "señora", "señorita", "sr", "sra", "srta", "prof", "professor"))
# Words that make a capitalised run an institution, a place or an event, not a person.
NOT_A_SURNAME = frozenset(
    """street st road rd avenue ave boulevard lane drive square place court park gardens bridge
    river lake mountain mount valley island islands beach bay coast hill hills city county state
    province region district airport station port harbour harbor hall house tower building
    centre center church cathedral chapel temple mosque abbey castle palace museum gallery
    library theatre theater stadium arena school college university institute academy hospital
    clinic foundation trust fund association society club company corporation corp inc ltd llc
    group bank holdings records airlines airways motors press times post news journal herald
    party union council committee commission ministry department agency office court cup trophy
    award prize open championship league festival day week year prix grand army navy police
    force government senate congress parliament
    rue boulevard chemin allée impasse quai pont rivière lac mont montagne vallée île plage
    gare aéroport hôpital lycée collège université école institut musée église cathédrale
    château palais stade théâtre bibliothèque mairie préfecture conseil ministère société
    fondation banque compagnie groupe parti
    calle avenida plaza paseo camino puente río lago monte sierra valle isla playa estación
    aeropuerto hospital colegio escuela universidad instituto museo iglesia catedral castillo
    palacio estadio teatro biblioteca ayuntamiento consejo ministerio sociedad fundación banco
    compañía grupo partido
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@lru_cache(maxsize=2)
def lexicon(kind: str) -> dict[str, float]:
    """Name -> how common it is as a word (Zipf), from the packaged lexicon."""
    data = resources.files("streams.adapters.recognizers") / "data" / f"{kind}.tsv.gz"
    names: dict[str, float] = {}
    for line in gzip.decompress(data.read_bytes()).decode("utf-8").splitlines():
        name, _, frequency = line.partition("\t")
        names[name] = float(frequency)
    return names


class GivenNameRecognizer(LocalRecognizer):
    """PERSON: a known given name followed by surnames (see the module's docstring)."""

    ENTITY = "PERSON"

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.given = lexicon("given_names")
        self.surnames = lexicon("surnames")
        function_words()  # loaded now, not during the first request
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=type(self).__name__)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: Sequence[str] | None = None,
                nlp_artifacts: Any = None, regex_flags: Any = None) -> list[RecognizerResult]:
        if entities and "PERSON" not in entities:
            return []
        # the time limit runs from the call: collect the matches before judging them
        runs: list[tuple[regex.Match[str], Callable[[regex.Match[str]], tuple[int, int] | None]]]
        runs = [(run, self._person) for run in NAME_RUN.finditer(text, timeout=self.timeout_s)]
        for pattern in SIGNED_RUNS:
            runs.extend((run, self._signed_person)
                        for run in pattern.finditer(text, timeout=self.timeout_s))
        runs.extend((word, self._lone_given_name)
                    for word in LONE_WORD.finditer(text, timeout=self.timeout_s))
        spans = {span for run, judge in runs if (span := judge(run)) is not None}
        # a name found inside a longer one ("Rashid" alone in "Fatima bin Rashid") is dropped
        kept, reach = [], -1
        for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
            if end > reach:
                kept.append((start, end))
                reach = end
        return [RecognizerResult(
                    "PERSON", start, end, SCORE,
                    recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                          RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True})
                for start, end in kept]

    def _person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        words = [(run.start() + m.start(), run.start() + m.end(), m.group())
                 for m in WORD.finditer(run.group())]
        for first, (start, _, word) in enumerate(words):
            if not self._given_name(word):
                if word in self.given and word.casefold() not in TITLES:
                    return None  # "María García López": a common name first, NER's call
                continue
            end, count, after_particle = None, 1, False
            for word_start, word_end, later in words[first + 1 :]:
                if later.casefold() in NOT_A_SURNAME:
                    return None  # "Yusuf Costa Foundation": an organisation, NER's call
                between = run.string[end or words[first][1] : word_start].split()
                after_particle = after_particle or any(w in PARTICLES for w in between)
                if later.casefold() in PARTICLES:  # "Ahmed Al Mansouri", "Pedro De Souza"
                    after_particle = True
                    continue
                if not self._may_follow(later, after_particle):
                    break
                end, count, after_particle = word_end, count + 1, False
            if count > MAX_NAME_WORDS:
                return None  # a list or a title in capitals ("Oats Rye Flaxseed Canola Corn")
            return (start, end) if end is not None else None
        return None

    def _lone_given_name(self, word: regex.Match[str]) -> tuple[int, int] | None:
        """A known given name standing alone, rare as a word."""
        name = word.group()
        if (self.given.get(name, 99.0) > LONE_GIVEN_NAME_MAX_WORD_FREQUENCY
                or not self._given_name(name)):
            return None
        return word.start(), word.end()

    def _signed_person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        """The name after a title, initials or "my name is": its words up to the first that
        cannot be part of a name ("Dr Smith and", "Mr Brown Street" is a street)."""
        start, end = run.span("name")
        if run.re is INITIALS_RUN and run.group("name").split()[0].startswith(
                tuple(NOT_INITIALS)):
            return None
        last = None
        for word in WORD.finditer(text := run.string, start, end):
            folded = word.group().casefold()
            if folded in NOT_A_SURNAME:
                return None
            if (folded in function_words() or not _pronounceable(word.group())
                    or self.given.get(word.group(), self.surnames.get(word.group(), 0.0))
                    > GIVEN_NAME_MAX_WORD_FREQUENCY):
                break
            last = word.end()
        if last is None:
            return None
        first = start if text[start + 1 : start + 2] == "." else run.start("name")
        return first, last

    def _given_name(self, word: str) -> bool:
        folded = word.casefold()
        return self.given.get(word, 99.0) <= GIVEN_NAME_MAX_WORD_FREQUENCY \
            and _pronounceable(word) and folded not in function_words() and folded not in TITLES

    def _may_follow(self, word: str, after_particle: bool) -> bool:
        """A later word: a known surname or given name, or any capitalised word that is not a
        function word or an abbreviation ("Yusuf And" is not a name, "Jamal O'Connor" is);
        after a particle, only a known name ("Rio de Janeiro" is a place)."""
        if word.casefold() in function_words() or not _pronounceable(word):
            return False
        known = word in self.surnames or word in self.given
        return known or not after_particle


def _pronounceable(word: str) -> bool:
    """Two letters or more with a vowel: "Wk", "Pd", "Lst" are abbreviations in tables."""
    return len(word) >= 2 and any(c in VOWELS for c in word.casefold())


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """spaCy's stop words for English, French and Spanish (word lists, no model)."""
    from streams.adapters.spacy_ops import import_french_quickly

    import_french_quickly()  # spacy.lang.fr would otherwise cost 3 s of start-up
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
    from spacy.lang.es.stop_words import STOP_WORDS as SPANISH
    from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH

    return frozenset(ENGLISH | FRENCH | SPANISH)
