"""French persons that spaCy's French model reads as places (issue 14, branch ``frpersons``).

``fr_core_news_md`` finds a full name in ordinary French prose ("Le maire de Lyon Gérard
Collomb", "a déclaré Mbaye Ndiaye"), but reads a surname alone as a place wherever the words
around it do not look like a person's to it: "Kowalczyk a déclaré", "« C'est un échec », a
estimé Kowalczyk", "Kowalczyk, né en 1950", "le frère de Ndiaye", and finds nothing at all in
"le cardinal Tauran", "le capitaine Dreyfus". And where a text puts names next to other names
without punctuation (lists, tables, titles pasted one after the other), it reads the person
and the place before it as one place ("Canal du Midi Anthony Yeboah"). Four cues of a person,
each a fact of French, not of a corpus:

- **who a verb of saying quotes** (``SAYING_VERBS``): the subject before it ("Kowalczyk a
  déclaré", "Kowalczyk souligne", "Kowalczyk a aussi estimé"), or after it where French puts
  it after a quotation or a clause (", a estimé Kowalczyk,", "», déclare Kowalczyk.");
- **a life fact in apposition** (``LIFE_FACT``): "Kowalczyk, né en 1950", "Kowalczyk (née à
  Cracovie)", "Kowalczyk, mort en 2001", "Kowalczyk, âgé de 45 ans";
- **a role or a family tie before it** (``ROLES``, ``RELATIONS``): "le cardinal Tauran", "le
  capitaine Dreyfus", "le frère de Ndiaye", "l'épouse de Kowalczyk";

each a person at ``ABOVE_NER`` when the run may be a person's name: another pass reported a
person on exactly those words, or each word is a given name or surname of the lexicon no more
common as a French word than ``MAX_WORD_FREQUENCY`` or a word no dictionary holds ("la
Commission a déclaré", "le ministre Finances", "la mère de Dieu" stay what they were);

- **a person at the edge of a longer place** (``persons_in_places``): a name the given-name
  pass found (a known given name and one to three name words) inside a longer place or
  organisation NER reported, where the word before it in that span is neither a word that
  names a place after a person ("lycée Victor Hugo", "rue Jean Jaurès", "Université Pierre et
  Marie Curie"), nor a title, a particle or a word in lower case: the person is reported at
  ``ABOVE_NER`` and the place keeps the rest of its words.

French text only: the words are French (``LANGUAGES``). Measured on the French dev corpus and
on made-up sentences (docs/benchmarks.md, "French persons on WikiANN").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache

import regex

from streams.adapters.person_filters import TITLES as PERSON_TITLES
from streams.adapters.recognizers.base import checkpoint, fold
from streams.adapters.recognizers.given_names import (
    NOT_A_SURNAME,
    PARTICLES,
    TITLES,
    function_words,
    lexicon_in,
    unknown_word,
)
from streams.adapters.recognizers.speakers import _trie
from streams.core.model import Finding

LANGUAGES = frozenset({"fr"})
ABOVE_NER = 0.86  # above spaCy's 0.85: the person wins over NER's place on the same words
CUED = "FrenchPersonCue"
IN_PLACE = "PersonInPlace"
# a given name or surname no more common than this as a French word is a name after these
# cues ("Kowalczyk" unknown, "Ndiaye", "Tauran"; not "Finances", "Dieu", "France": words)
MAX_WORD_FREQUENCY = 4.0
MAX_WORDS = 4
# the words after the given name of a person at the edge of a place: names no more common as
# French words than this ("Yeboah", "Snipes", "Reeve"; not "Liste", "Route", "Ligne")
SURNAME_MAX_WORD_FREQUENCY = 4.5
# Verbs that say someone spoke or judged, third person singular: present, and past participle
# after "a"/"avait" (the passé composé and plus-que-parfait of the press). Not "annonce",
# "informe", "publie", "confirme": ministries and firms do those as often as persons.
SAYING_VERBS = frozenset("""déclare déclaré affirme affirmé explique expliqué souligne souligné
    estime estimé ajoute ajouté précise précisé indique indiqué assure assuré rappelle rappelé
    insiste insisté raconte raconté confie confié reconnaît reconnu admet admis regrette regretté
    dénonce dénoncé martèle martelé observe observé juge jugé considère considéré répond répondu
    réplique répliqué poursuit poursuivi conclut conclu lance lancé tranche tranché
    commente commenté témoigne témoigné dit""".split())  # noqa: SIM905
AUXILIARIES = frozenset(("a", "avait", "aurait"))
ADVERBS = frozenset("""aussi encore également ensuite alors déjà hier aujourd'hui notamment
    enfin toutefois cependant""".split())  # noqa: SIM905
# an article before the run: an institution ("la Commission a déclaré", "le Conseil estime")
ARTICLES = frozenset(("le", "la", "les", "l'", "l’", "du", "des", "au", "aux", "un", "une"))
# roles that name the person after them ("le cardinal Tauran"); a role NER already reads well
# does no harm here (the same words found twice)
ROLES = frozenset("""ministre président présidente maire juge député députée sénateur sénatrice
    cardinal évêque archevêque abbé pape capitaine commandant colonel lieutenant général
    maréchal amiral sergent caporal adjudant roi reine prince princesse duc duchesse comte
    comtesse baron baronne marquis marquise empereur impératrice sultan émir chancelier
    chancelière professeur professeure docteur chanteur chanteuse acteur actrice comédien
    comédienne écrivain écrivaine romancier romancière poète peintre sculpteur architecte
    compositeur compositrice réalisateur réalisatrice cinéaste philosophe journaliste avocat
    avocate procureur procureure commissaire inspecteur inspectrice préfet préfète ambassadeur
    ambassadrice consul entraîneur entraîneuse sélectionneur joueur joueuse footballeur pilote
    navigateur explorateur chef directeur directrice patron patronne pasteur rabbin imam
    militant militante opposant opposante dissident dissidente""".split())  # noqa: SIM905
# family ties: "le frère de Ndiaye", "l'épouse de Kowalczyk"
RELATIONS = frozenset("""fils fille frère sœur soeur père mère épouse époux femme mari veuve
    veuf neveu nièce cousin cousine oncle tante gendre belle-fille beau-père belle-mère
    petit-fils petite-fille grand-père grand-mère demi-frère demi-sœur compagne compagnon
    fiancé fiancée""".split())  # noqa: SIM905
# before a person at the edge of a place: a word that names places after persons
NAMED_AFTER = NOT_A_SURNAME | frozenset("""lycée collège école université faculté institut
    centre hôpital clinique stade gymnase piscine salle musée fondation prix gare station
    aéroport parc jardin théâtre cinéma bibliothèque médiathèque résidence cité quartier campus
    caserne église basilique chapelle abbaye mosquée synagogue temple promenade esplanade
    maison espace complexe trophée coupe challenge tournoi mémorial festival association club
    hôtel tour cabinet éditions entreprise laboratoire square passage cours route place avenue
    rue boulevard quai allée impasse chemin pont rond-point port canal
    saint sainte st ste san santa santo são sankt""".split())  # noqa: SIM905
NAME_WORD = r"\p{Lu}[\p{Ll}\p{M}]+(?:['’-]\p{Lu}?[\p{Ll}\p{M}]+)*"
# a run of capitalised words, not inside a longer run or word
CAPITALISED_RUN = regex.compile(
    rf"(?<![\w'’-])(?<!\p{{Lu}}[\p{{L}}\p{{M}}'’-]*[ \u00a0])(?:{NAME_WORD})"
    rf"(?:[ \u00a0]{NAME_WORD}){{0,{MAX_WORDS - 1}}}(?![\w'’-])(?![ \u00a0]\p{{Lu}})")
LIFE_WORDS = frozenset(f"{stem}{ending}" for stem in ("né", "mort", "décédé", "âgé")
                       for ending in ("", "e", "s", "es"))
# (the cues are found first, with the standard library's engine and an alternation whose common
# prefixes are factored out, and only the runs beside them are judged: the ``regex`` module's
# scan of a plain alternation cost a third of a millisecond per prompt of Wikipedia lists)
CUES = re.compile(r"(?<![\w'’-])(?:[lL]['’])?"
                  rf"{_trie(sorted(SAYING_VERBS | ROLES | RELATIONS | LIFE_WORDS))}(?![\w'’-])")
WORD_AFTER = regex.compile(r"[ \u00a0]+([\p{Ll}'’-]+)")
WORD_BEFORE = regex.compile(r"([\p{L}'’-]+)[ \u00a0]+$")
ARTICLE_BEFORE = regex.compile(
    r"(?:^|[\s(«\"“])(?:(?:le|la|les|du|des|au|aux|un|une)[ \u00a0]+|l['’])$")
OPENS_A_CLAUSE = regex.compile(r"[,\"»”“:;–—-][ \u00a0]*$")
CLOSES = regex.compile(r"[ \u00a0]*(?:[,.;:!?\"»”)]|$)")
# "Kowalczyk, né en 1950", "Kowalczyk (née à Cracovie)", "Kowalczyk, âgé de 45 ans"
LIFE_FACT = regex.compile(
    r"[ \u00a0]*[,(][ \u00a0]*(?:née?s?|morte?s?|décédée?s?)[ \u00a0]+(?:en|le|à|au|dans|vers"
    r"|\d)|[ \u00a0]*[,(][ \u00a0]*âgée?s?[ \u00a0]+de[ \u00a0]+\d")
# characters from a cue that its run may stand at: a run of four names, an auxiliary and an
# adverb ("Kowalczyk-Nowak Mbaye a aussi déclaré")
REACH = 50


def french_persons(texts: Sequence[str], findings: Sequence[Finding],
                   language: str | None) -> list[Finding]:
    """PERSON findings (``ABOVE_NER``) for the runs a French cue marks as persons (see the
    module's docstring); ``findings``: what the other passes found."""
    if language not in LANGUAGES:
        return []
    out: list[Finding] = []
    for index, text in enumerate(texts):
        runs = _runs_near_a_cue(text)
        if not runs:
            continue
        persons = {(f.start, f.end) for f in findings
                   if f.message_index == index and f.entity_type == "PERSON" and f.score >= 0.5}
        for run in runs:
            checkpoint()
            start, end = run.span()
            if not ((start, end) in persons or _may_be_a_name(run.group())):
                continue
            if _speaks(text, start, end) or LIFE_FACT.match(text, end) is not None \
                    or _after_a_role_or_tie(text, start):
                out.append(Finding(index, "PERSON", start, end, ABOVE_NER, CUED))
    return out


def _runs_near_a_cue(text: str) -> list[regex.Match[str]]:
    """The capitalised runs within ``REACH`` characters of a cue, each once."""
    runs: dict[int, regex.Match[str]] = {}
    for cue in CUES.finditer(text):
        for run in CAPITALISED_RUN.finditer(text, max(0, cue.start() - REACH),
                                            min(len(text), cue.end() + REACH),
                                            concurrent=False):
            runs.setdefault(run.start(), run)
    return [runs[start] for start in sorted(runs)]


@lru_cache(maxsize=1)
def _french_words() -> tuple[dict[str, float], dict[str, float], frozenset[str]]:
    """The French lexicons' frequencies and French function words, read once (building the
    function words' set at each run cost most of the rule's CPU)."""
    return (lexicon_in("given_names", "fr"), lexicon_in("surnames", "fr"),
            function_words("fr"))


def _may_be_a_name(run: str) -> bool:
    given, surnames, french = _french_words()
    words = run.split()
    return not any(w.casefold() in french or fold(w) in PERSON_TITLES for w in words) and all(
        min(given.get(w, 99.0), surnames.get(w, 99.0)) <= MAX_WORD_FREQUENCY or unknown_word(w)
        for w in words)


def _speaks(text: str, start: int, end: int) -> bool:
    """The run is the subject of a verb of saying: before it ("X a déclaré", "X souligne"),
    an adverb and an auxiliary allowed between; or after it following a comma or a quotation
    mark, the run then closing the clause (", a estimé X,")."""
    if ARTICLE_BEFORE.search(text, max(0, start - 8), start) is not None:
        return False  # "la Commission a déclaré": an institution
    at, words = end, []
    for _ in range(3):
        after = WORD_AFTER.match(text, at)
        if after is None:
            break
        words.append(after.group(1))
        at = after.end()
    if _saying(words):
        return True
    if CLOSES.match(text, end) is None:
        return False
    at, before_words = start, []
    for _ in range(3):
        before = WORD_BEFORE.search(text, max(0, at - 40), at)
        if before is None:
            break
        before_words.append(before.group(1))
        at = before.start()
        if _saying(list(reversed(before_words))) and OPENS_A_CLAUSE.search(
                text, max(0, at - 5), at) is not None:
            return True
    return False


def _saying(words: list[str]) -> bool:
    """Whether ``words`` open with a verb of saying: "déclare", "a déclaré", "a aussi
    déclaré", "aussi déclaré" is not."""
    rest = [w.casefold() for w in words]
    if rest and rest[0] in ADVERBS:
        rest = rest[1:]
    if rest and rest[0] in AUXILIARIES:
        rest = rest[1:]
        if rest and rest[0] in ADVERBS:
            rest = rest[1:]
        return bool(rest) and rest[0] in SAYING_VERBS
    return bool(rest) and rest[0] in SAYING_VERBS and not rest[0].endswith("é")


def _after_a_role_or_tie(text: str, start: int) -> bool:
    """"le cardinal X", "le frère de X", "l'épouse de X"."""
    before = WORD_BEFORE.search(text, max(0, start - 40), start)
    if before is None:
        return False
    word = before.group(1).casefold()
    if word == "de":
        tie = WORD_BEFORE.search(text, max(0, before.start() - 40), before.start())
        return tie is not None and _elided(tie.group(1).casefold()) in RELATIONS
    return _elided(word) in ROLES


def _elided(word: str) -> str:
    """The word without an elided article before it ("l'épouse" -> "épouse")."""
    return word[2:] if word[:2] in ("l'", "l’") else word


def persons_in_places(texts: Sequence[str], findings: Sequence[Finding],
                      language: str | None) -> list[Finding]:
    """For a person the given-name pass found inside a longer place or organisation of NER
    (see the module's docstring): the person at ``ABOVE_NER``, and the place's words before
    and after it as places, at the place's score."""
    if language not in LANGUAGES:
        return []
    given = lexicon_in("given_names", "fr")
    out: list[Finding] = []
    for index, text in enumerate(texts):
        places = [f for f in findings if f.message_index == index and f.score >= 0.5
                  and f.entity_type in ("LOCATION", "ORGANIZATION")
                  and f.recognizer.startswith("spacy:")]
        if not places:
            continue
        found = sorted((f for f in findings if f.message_index == index
                        and f.entity_type == "PERSON" and 0.5 <= f.score < ABOVE_NER
                        and f.recognizer == "GivenNameRecognizer"), key=lambda f: f.start)
        starts = [f.start for f in found]
        for place in places:
            checkpoint()
            # only the persons that start inside the place (NER's places do not overlap: each
            # person is read for one place, not for every place of a text made of names)
            for person in found[bisect_left(starts, place.start):
                                bisect_left(starts, place.end)]:
                checkpoint()
                if not (place.start <= person.start and person.end <= place.end
                        and person.end - person.start < place.end - place.start):
                    continue
                span = _from_a_given_name(text, place.start, person.start, person.end, given)
                if span is None:
                    continue
                out.append(Finding(index, "PERSON", span[0], span[1], ABOVE_NER, IN_PLACE))
                for left, right in ((place.start, span[0]), (span[1], place.end)):
                    piece = _trimmed(text, left, right)
                    if piece is not None:
                        out.append(Finding(index, place.entity_type, *piece, place.score,
                                           place.recognizer))
    return out


WORD = regex.compile(r"[\p{L}\p{M}][\p{L}\p{M}'’.-]*")


def _from_a_given_name(text: str, place_start: int, start: int, end: int,
                       given: dict[str, float]) -> tuple[int, int] | None:
    """The person's words from a known given name ("di Verona Wesley Snipes" -> "Wesley
    Snipes"): the first such word that stands apart from the place's words before it
    (``_apart_from``) and is followed by one to three names of the lexicon rare as French words
    or words no dictionary holds ("Aston Martin" is; "Angola Route", "Deep Purple Liste" are
    not); None if there is none."""
    words = list(WORD.finditer(text, start, end, concurrent=False))
    surnames = lexicon_in("surnames", "fr")
    for i, word in enumerate(words[:-1]):
        if word.group() not in given or not word.group()[:1].isupper() \
                or not _apart_from(text, place_start, word.start()):
            continue
        if all(min(given.get(w, 99.0), surnames.get(w, 99.0)) <= SURNAME_MAX_WORD_FREQUENCY
               or unknown_word(w) for w in (w.group() for w in words[i + 1:])
               if w.casefold() not in PARTICLES):
            return word.start(), end
        return None
    return None


def _apart_from(text: str, place_start: int, person_start: int) -> bool:
    """Whether the words of a place before a person are another name, not the person's
    ("Canal du Midi | Anthony Yeboah"), i.e. the word just before the person is capitalised
    and names no place after a person, no title, no particle; or is only markup."""
    if person_start <= place_start:
        return True
    before = WORD_BEFORE.search(text, max(place_start, person_start - 40), person_start)
    if before is None:
        # punctuation or markup between ("École ... ' ''- Peter Simon Pallas")
        return bool(text[place_start:person_start].strip())
    word = before.group(1)
    folded = word.casefold()
    return word[:1].isupper() and folded not in NAMED_AFTER and folded not in TITLES \
        and fold(word) not in PERSON_TITLES and folded not in ROLES


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` without spaces and punctuation at its edges; None if no letter."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return (start, end) if any(c.isalpha() for c in text[start:end]) else None
