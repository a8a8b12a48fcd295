"""Who is quoted, and persons written with initials, in Spanish text (issue 14, branch ``esuk``).

**The speaker of a verb of saying.** A news text quotes persons: "Imaz recordó que...",
"Rebollo explicó a los periodistas...", and, with the verb first as Spanish puts it after a
quotation or a clause, "..., indicó Desjeux, ...". A place does not remind, explain or stress;
a surname alone there is a person. spaCy's small Spanish model reads many lone surnames as
places (CoNLL-2002 dev: "Imaz", "Rebollo", "Annan", "Montoro" labelled `LOC` where the
given-name pass said a person at 0.84, below NER's 0.85), and a surname no lexicon holds
("Desjeux", "Ibarrondo") as nothing. So a run of capitalised words is a person, scored
``ABOVE_NER`` (it wins over NER's place or organisation on the same words), when

- it is the subject of a verb of saying (``SAYING_VERBS``: third person, past or present),
  after at most one adverb ("Imaz recordó", "Orban destacó hoy"), or stands after such a verb
  that follows a comma or a quotation mark and before a comma or the end of the sentence
  (", indicó Desjeux,"); the verb says the run speaks, the rest of the sentence is free;
- it is not after an article or a contraction of one ("la Moncloa explicó", "del Gobierno
  dijo": an institution, and a Spanish person's name takes no article);
- and it may be a person's name: another pass already reported a person on exactly these
  words (the given-name pass, a later mention of a found name), or each word is a given name or
  surname of the lexicon no more common as a Spanish word than
  ``SPEAKER_MAX_WORD_FREQUENCY``, or a word no dictionary holds. Institutions speak too
  ("Hacienda explicó", "Iberdrola señaló"): they are words of the dictionaries or common as
  words, and stay NER's.

**Persons written with initials.** Police and court news name a suspect by initials only:
"A. B., de 31 años", "comprobaron que a M. S. S. le constan...". NER finds part of them ("A.
B" without its last period, "S. S" without the first initial); the person is the whole run of
initials, each a capital and a period. A person found that overlaps such a run of two to four
initials is widened to cover it (``initials_widened``). A single initial is left alone: "J.
Smith" is found whole by the other passes.

Spanish only for now: the verbs are Spanish, and the rules were measured on Spanish news
(docs/benchmarks.md, "Spanish and Ukrainian persons"). Neither takes a name from a corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import regex

from streams.adapters.recognizers.given_names import function_words, lexicon_in, unknown_word
from streams.core.model import Finding

LANGUAGES = frozenset({"es"})
ABOVE_NER = 0.86  # above spaCy's 0.85: the speaker wins over NER's place on the same words
SPEAKER = "Speaker"
INITIALS = "Initials"
# Verbs that say someone spoke, third person singular, preterite and present (a press
# agency's "dijo", "señaló", "añadió"...). Not "anunció", "informó", "denunció", "confirmó":
# ministries, firms and parties do those as often as persons.
SAYING_VERBS = frozenset("""dijo dice afirmó afirma aseguró asegura explicó explica declaró declara
    señaló señala indicó indica añadió añade subrayó subraya destacó destaca recordó recuerda
    insistió insiste consideró considera manifestó manifiesta apuntó apunta comentó comenta
    precisó precisa advirtió advierte opinó opina sostuvo sostiene agregó agrega expresó
    reiteró reitera admitió admite reconoció reconoce lamentó lamenta matizó matiza
    puntualizó puntualiza respondió responde replicó replica""".split())  # noqa: SIM905
def _trie(words: list[str]) -> str:
    """An alternation of ``words`` with their common prefixes factored out ("dij(?:o)|..."):
    the standard library's engine tries a plain alternation word by word at every position."""
    if words == [""]:
        return ""
    heads: dict[str, list[str]] = {}
    for word in words:
        heads.setdefault(word[:1], []).append(word[1:])
    branches = [re.escape(head) + _trie(sorted(set(tails))) if head else ""
                for head, tails in sorted(heads.items())]
    optional = "" in branches
    branches = [b for b in branches if b]
    body = branches[0] if len(branches) == 1 and not optional else f"(?:{'|'.join(branches)})"
    return body + ("?" if optional else "")


# (found with the standard library's engine: a scan of the text for the verbs is cheaper than
# judging each capitalised run)
SAYING_VERB = re.compile(rf"(?<!\w){_trie(sorted(SAYING_VERBS))}(?!\w)")
# how far from a verb its speaker's run may stand: the run, an adverb and spaces (a run of
# ``MAX_WORDS`` names and an adverb fit in it; a longer one is cut and no longer closes the
# clause, so it is not taken)
VERB_REACH = 100
# what may stand between the speaker and the verb, or between the verb and the speaker
ADVERBS = frozenset("""hoy ayer también además ya luego después anoche asimismo finalmente
    entonces ahora""".split())  # noqa: SIM905
# an article or a contraction before the run: an institution ("la Moncloa", "del Gobierno")
ARTICLES = frozenset(["el", "la", "los", "las", "lo", "del", "al", "un", "una", "unos", "unas"])
# a given name or surname no more common than this as a Spanish word ("Imaz" 2.4, "Orban" 3.0,
# "Montoro" 3.3; not "Flores" 4.8, "Rato" 4.9: flowers, a while)
SPEAKER_MAX_WORD_FREQUENCY = 4.0
MAX_WORDS = 4
NAME_WORD = r"\p{Lu}[\p{Ll}\p{M}]+(?:['’-]\p{Lu}?[\p{Ll}\p{M}]+)*"
# a run of capitalised words, not inside a longer run or word
CAPITALISED_RUN = regex.compile(
    rf"(?<![\w'’-])(?<!\p{{Lu}}[\p{{L}}\p{{M}}'’-]*[ \u00a0])(?:{NAME_WORD})"
    rf"(?:[ \u00a0]{NAME_WORD}){{0,{MAX_WORDS - 1}}}(?![\w'’-])(?![ \u00a0]\p{{Lu}})")
WORD_AFTER = regex.compile(r"[ \u00a0]+(\p{Ll}+)")
WORD_BEFORE = regex.compile(r"(\p{Ll}+)[ \u00a0]+$")
# before a verb put first: a comma, a quotation mark, a colon or a dash, then spaces
OPENS_A_CLAUSE = regex.compile(r"[,\"»”“:;–—-][ \u00a0]*$")
CLOSES = regex.compile(r"[ \u00a0]*(?:[,.;:\"»”)]|$)")
# two to four initials ("A. B.", "M. S. S."), each a capital and a period
INITIALS_RUN = regex.compile(r"(?<![\w.'’-])\p{Lu}\.(?:[ \u00a0]?\p{Lu}\.){1,3}(?![\w'’-])")


def speakers(texts: Sequence[str], findings: Sequence[Finding],
             language: str | None) -> list[Finding]:
    """PERSON findings (``ABOVE_NER``) for the speakers of a verb of saying in ``texts`` (a
    request's messages) that may be persons' names; see the module's docstring. ``findings``:
    what the other passes found (their persons on exactly a run's words count as a name)."""
    if language not in LANGUAGES:
        return []
    given, surnames = lexicon_in("given_names", "es"), lexicon_in("surnames", "es")
    spanish = function_words("es")
    out: list[Finding] = []
    for index, text in enumerate(texts):
        persons = {(f.start, f.end) for f in findings
                   if f.message_index == index and f.entity_type == "PERSON" and f.score >= 0.5}
        for run in _runs_near_a_verb(text):
            start, end = run.span()
            if not _speaks(text, start, end) or any(
                    w.casefold() in spanish for w in run.group().split()):
                continue  # "Según dijo": a function word opens the clause
            if (start, end) in persons or all(
                    min(given.get(w, 99.0), surnames.get(w, 99.0)) <= SPEAKER_MAX_WORD_FREQUENCY
                    or unknown_word(w) for w in run.group().split()):
                out.append(Finding(index, "PERSON", start, end, ABOVE_NER, SPEAKER))
    return out


def _runs_near_a_verb(text: str) -> list[regex.Match[str]]:
    """The capitalised runs of ``text`` within ``VERB_REACH`` characters of a verb of saying,
    each once: only those can be its speaker. (Every run of every text judged cost about
    0.12 ms per Spanish news prompt; most runs are nowhere near such a verb.)"""
    runs: dict[int, regex.Match[str]] = {}
    for verb in SAYING_VERB.finditer(text):
        for run in CAPITALISED_RUN.finditer(text, max(0, verb.start() - VERB_REACH),
                                            min(len(text), verb.end() + VERB_REACH)):
            runs.setdefault(run.start(), run)
    return [runs[start] for start in sorted(runs)]


def _speaks(text: str, start: int, end: int) -> bool:
    """Whether the run ``text[start:end]`` is the subject of a verb of saying: after it (one
    adverb may stand between), or before it after a comma or a quotation mark, the run then
    closing the clause."""
    before = WORD_BEFORE.search(text, max(0, start - 40), start)
    if before is not None and before.group(1) in ARTICLES:
        return False
    after = WORD_AFTER.match(text, end)
    if after is not None:
        verb = after.group(1)
        if verb in ADVERBS:
            following = WORD_AFTER.match(text, after.end())
            verb = following.group(1) if following is not None else ""
        if verb in SAYING_VERBS:
            return True
    if before is None or CLOSES.match(text, end) is None:
        return False
    verb_start = before.start()
    if before.group(1) in ADVERBS:
        previous = WORD_BEFORE.search(text, max(0, verb_start - 40), verb_start)
        if previous is None:
            return False
        verb, verb_start = previous.group(1), previous.start()
    else:
        verb = before.group(1)
    return verb in SAYING_VERBS and OPENS_A_CLAUSE.search(
        text, max(0, verb_start - 5), verb_start) is not None


def initials_widened(texts: Sequence[str], findings: Sequence[Finding],
                     language: str | None) -> list[Finding]:
    """A PERSON finding for each run of two to four initials ("M. S. S.") that a person found
    (score 0.5 or more) overlaps without covering it whole: the run and the person together,
    at the person's score."""
    if language not in LANGUAGES:
        return []
    out: list[Finding] = []
    for index, text in enumerate(texts):
        if ". " not in text and not text.endswith("."):
            continue
        persons = [f for f in findings if f.message_index == index
                   and f.entity_type == "PERSON" and f.score >= 0.5]
        if not persons:
            continue
        for run in INITIALS_RUN.finditer(text):
            start, end = run.span()
            for person in persons:
                if person.start < end and start < person.end \
                        and not (person.start <= start and end <= person.end):
                    out.append(Finding(index, "PERSON", min(start, person.start),
                                       max(end, person.end), person.score, INITIALS))
    return out

