"""A person named once is named everywhere in the request: a found name's neighbours and its
later mentions.

**Neighbours.** NER or the lexicon often finds the surname of a name it does not know whole
("Ekaja Choudhry" -> "Choudhry", "NASCIMENTO Luísa" -> "Luísa"): the given name beside it then
reached the model. A PERSON finding takes in the capitalised (or all-capital) words right
next to it, up to a name of four words, unless such a word cannot be part of a name (a
function word, a title, a word that opens an instruction or a letter, an institution word, a
day or a month, a name common as a word); and a one-word finding takes in one name word
across a comma when the two stand alone between delimiters, as in lists and forms written
surname first ("Abramchuk, Arkadii <...>", "Present: Baron, Margaud.").

**Later mentions.**

A letter says "Valentina Costa" once, then "Costa" or "Valentina" alone; a surname alone, or a
given name rare in the model's training text, is what NER and the name lexicons miss most (the
generated load of ``douane bench planted``: a third of the surnames alone reached the model).
Once a name is found, each of its words is looked for again in every message of the request,
as written, in capitals ("COSTA") and, for words the lexicon does not know as common words, in
lower case ("costa"). Words that cannot stand for a person alone are not: titles, initials,
particles and function words ("de", "van"), institution words, and names common as words
("Will", "Rose", "Jordan": more often the word than the person when alone).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate

import regex

from streams.adapters.informal_spans import stretched
from streams.adapters.person_filters import OPENERS, SENTENCE_START
from streams.adapters.recognizers.base import checkpoint, fold
from streams.adapters.recognizers.batch_memos import per_batch
from streams.adapters.recognizers.given_names import (
    CALENDAR,
    GIVEN_NAME_MAX_WORD_FREQUENCY,
    LANGUAGES,
    LONE_GIVEN_NAME_MAX_WORD_FREQUENCY,
    NOT_A_SURNAME,
    PARTICLES,
    PERSON_CUES,
    PERSON_VERBS,
    SCORE,
    TITLES,
    VIETNAMESE_SURNAMES,
    VIETNAMESE_SYLLABLE,
    common_word,
    function_words,
    lexicon,
    lexicon_in,
    uncapitalised,
    unknown_word,
)
from streams.core.model import Finding

NAME = "RepeatedName"
# A word of a name: letters, inner hyphens and apostrophes ("Jean-Pierre", "O'Connor")
NAME_WORD = regex.compile(r"\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*")
# the types NER reads as well as PERSON: where it reads a name as a place, the name's other
# findings still take the words ("the words are replaced either way")
NER_TYPES = frozenset(("PERSON", "LOCATION", "ORGANIZATION"))
# the types NER reads besides PERSON
PLACE_TYPES = frozenset(("LOCATION", "ORGANIZATION"))
# A name found as one word is looked for again when the lexicon knows it as a name rarer as a
# word than this ("Hernando": 3.6); more common ("Bot": 4.0, "Díaz": 4.5), one word is too
# often a word NER took for a name.
ONE_WORD_NAME_MAX_WORD_FREQUENCY = 3.9
# Shorter words are initials or particles; two-letter surnames ("Li", "Wu", "Ng") are kept
# when written capitalised, as found
MIN_LETTERS = 2
MIN_LETTERS_ANY_CASE = 4
MAX_NAME_WORDS = 4
# (two spaces between the words of a name happen in pasted text: "Alta  Gracia")
WORD_BEFORE = regex.compile(r"(\p{Lu}[\p{L}\p{M}'’-]*)[ \u00a0]{1,2}$")
WORD_AFTER = regex.compile(r"[ \u00a0]{1,2}(\p{Lu}[\p{L}\p{M}'’-]*)(?![\w'’-])")
NAME_WORD_ALONE = regex.compile(
    r"(?<![\w'’@./-])\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*(?![\w'’@/-]|\.\w)")
# The words of e-mail addresses that name a mailbox, not a person
MAILBOX_WORDS = frozenset("""info contact contacts support admin administration service services
    accueil mairie office sales hello bonjour noreply reply team help aide secretariat secretary
    direction rh hr jobs job news newsletter billing compta comptabilite invoice invoices factures
    facturation mail email courriel webmaster postmaster press presse communication marketing
    recrutement recruitment booking reservation reservations enquiries inquiries question
    questions dpo privacy legal juridique housing logement citizen citoyens
    """.split())  # noqa: SIM905 - a word list reads better as text
TITLE_BEFORE = regex.compile(r"(?<![\w.])(\p{L}+)\.?[ \u00a0]+$")
TITLE_WORDS = frozenset(fold(t) for t in (*TITLES, "docteur", "maître", "me", "professor",
                                          "madame", "monsieur"))
PARTICLE_BEFORE = regex.compile(r"(?<![\w'’-])(\p{L}{1,4})[ \u00a0]$")
COMMA_BEFORE = regex.compile(r"(\p{Lu}[\p{L}\p{M}'’-]*),[ \u00a0]$")
# articles that are also given names ("Les", short for Leslie), followed by a plural
PLURAL_ARTICLES = frozenset(("les", "los", "las"))
WORD_AFTER_VERB = regex.compile(r"[ \u00a0]+([\p{L}'’]+)")
# the capitalised first part of a hyphenated name, right before a name found ("I-", "Tsung-")
HYPHENATED_BEFORE = regex.compile(r"(?<![\w'’.-])\p{Lu}[\p{Ll}\p{M}]*-$")
COMMA_AFTER = regex.compile(r",[ \u00a0](\p{Lu}[\p{L}\p{M}'’-]*)(?![\w'’-])")


def widened(texts: Sequence[str], findings: Sequence[Finding],
            min_score: float = 0.5, language: str | None = None) -> list[Finding]:
    """``findings`` with each PERSON finding scored ``min_score`` or more taking in the name
    words next to it (see the module's docstring); a word beside it is judged in the texts'
    ``language`` when given (en, fr, es)."""
    # a name does not run across lines, and is cut into its lines before it is merged with
    # the other findings: NER's "Morton\n\nPartner: Đặng", merged with the lexicon's "Đặng"
    # and then cut, lost "Đặng" with the line it dropped
    findings = [piece for f in findings for piece in (
        _lines(texts[f.message_index], f) if f.entity_type == "PERSON" and f.score >= min_score
        else (f,))]
    # a PERSON finding that loses to a stronger finding of a type NER does not read (NER's
    # "María Rivera <m.rivera@..." against the e-mail address) is left as it is: merged with
    # the other findings of the name, it would take them down with it
    stronger = _Stronger(_rivals(findings))
    beaten = [f.entity_type == "PERSON" and stronger.beats(f) for f in findings]
    is_person = [f.entity_type == "PERSON" and f.score >= min_score and not lost
                 for f, lost in zip(findings, beaten, strict=True)]
    groups = _merged([f for f, person in zip(findings, is_person, strict=True) if person])
    persons = [merged for merged, _ in groups]
    others = [f for f, person, lost in zip(findings, is_person, beaten, strict=True)
              if not person and not lost]
    first_of = {id(members[0]): merged for merged, members in groups}
    # the spans each person's neighbours are tested against, gathered once per message (was
    # once per person: quadratic on text dense with names); each person leaves out its own
    taken_in: dict[int, list[tuple[int, int, int]]] = {}
    held_in: dict[int, list[tuple[int, int, int]]] = {}
    for f in (*others, *persons):
        if f.score >= min_score:
            taken_in.setdefault(f.message_index, []).append((f.start, f.end, id(f)))
            if f.entity_type not in PLACE_TYPES:
                held_in.setdefault(f.message_index, []).append((f.start, f.end, id(f)))
    coverage = {index: _shared(spans) for index, spans in taken_in.items()}
    held_coverage = {index: _shared(spans) for index, spans in held_in.items()}
    out: list[Finding] = []
    for finding, person, lost in zip(findings, is_person, beaten, strict=True):
        checkpoint()  # the steps' CPU limit, in a thread (``RegexGuard.bounded``)
        if lost:
            # what it holds outside the stronger finding ("L. Coppens" after an IBAN ending
            # in "L") is still the name
            out.append(_outside(texts[finding.message_index], finding, stronger) or finding)
            continue
        if not person:
            out.append(finding)
            continue
        merged = first_of.get(id(finding))
        if merged is None:
            continue  # merged into an earlier finding of the same name
        text = texts[merged.message_index]
        # a neighbour another finding holds is not taken ("Jean Dupont" beside "Paris")
        taken = _Taken(taken_in.get(merged.message_index, []), id(merged),
                       coverage.get(merged.message_index))
        # in an item written surname first, NER's place or organisation reading of the other
        # word does not keep it from the name (see ``_surname_first_item``)
        held = _Taken(held_in.get(merged.message_index, []), id(merged),
                      held_coverage.get(merged.message_index))
        out.extend(_vietnamese_family_name_before(text, _particles_then_name(
            text, _surname_first_item(text, _widened(text, line, taken, language), held,
                                      language), taken, language), taken, language)
            for line in _lines(text, merged))
    return out


def merged(findings: Sequence[Finding], min_score: float = 0.5) -> list[Finding]:
    """``findings`` with overlapping PERSON findings scored ``min_score`` or more as one (see
    ``_merged``): a later mention that runs past a name found ("Díaz, Hernando" beside NER's
    "Díaz") would otherwise lose to it, and the words it adds reach the model."""
    stronger = _Stronger(_rivals(findings))
    persons = [f for f in findings if f.entity_type == "PERSON" and f.score >= min_score
               and not stronger.beats(f)]
    members = {id(f) for f in persons}
    first_of = {id(group[0]): name for name, group in _merged(persons)}
    # in the findings' order, each name where its first finding was
    return [first_of.get(id(f), f) for f in findings
            if id(f) not in members or id(f) in first_of]


def _rivals(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that can beat a PERSON finding in ``_beaten`` (of a type NER does not
    read), picked once: asking every PERSON finding against all findings was quadratic."""
    return [o for o in findings if o.entity_type not in NER_TYPES]


def _beaten(finding: Finding, findings: Sequence[Finding]) -> bool:
    """Whether a finding of a type NER does not read overlaps ``finding`` with a higher score
    (NER's "María Rivera <m.rivera@..." against the e-mail address)."""
    checkpoint()
    return any(o.entity_type not in NER_TYPES and o.score > finding.score
               and o.message_index == finding.message_index and o.start < finding.end
               and finding.start < o.end for o in findings)


class _Stronger:
    """The findings that can beat a PERSON finding (``_rivals``), per message in the order of
    their starts, with the furthest end reached so far: which of them overlap a span is asked
    of the few that start before its end and reach past its start, not of every one (a pass
    over all of them for each person was quadratic: 80 KB of "Anna Berg anna.berg@..."). The
    same answers as ``_beaten`` and the pass in ``_outside``."""

    def __init__(self, rivals: Sequence[Finding]) -> None:
        by_message: dict[int, list[Finding]] = {}
        for rival in rivals:
            by_message.setdefault(rival.message_index, []).append(rival)
        self.sorted: dict[int, tuple[list[int], list[int], list[Finding]]] = {}
        for index, found in by_message.items():
            found.sort(key=lambda f: f.start)
            self.sorted[index] = ([f.start for f in found], list(accumulate(
                (f.end for f in found), max)), found)

    def overlapping(self, finding: Finding) -> list[Finding]:
        """The rivals of a higher score than ``finding`` that overlap it, in the order of their
        starts."""
        checkpoint()  # the steps' CPU limit, in a thread (``RegexGuard.bounded``)
        held = self.sorted.get(finding.message_index)
        if held is None:
            return []
        starts, reach, found = held
        out = []
        # those starting before its end, back while one of them still reaches past its start
        at = bisect_left(starts, finding.end) - 1
        while at >= 0 and reach[at] > finding.start:
            rival = found[at]
            if rival.score > finding.score and rival.start < finding.end \
                    and finding.start < rival.end:
                out.append(rival)
            at -= 1
        return out[::-1]

    def beats(self, finding: Finding) -> bool:
        return bool(self.overlapping(finding))


def _outside(text: str, finding: Finding, stronger: _Stronger) -> Finding | None:
    """The longest part of a PERSON ``finding`` that no stronger finding of another type
    overlaps, from its first letter to its last, when it holds a word that can be a name."""
    overlaps = sorted((o.start, o.end) for o in stronger.overlapping(finding))
    pieces, at = [], finding.start
    for start, end in overlaps:
        pieces.append((at, start))
        at = max(at, end)
    pieces.append((at, finding.end))
    best = None
    for start, end in pieces:
        letters = regex.search(r"\p{L}(?:.*\p{L})?", text[start:end] if end > start else "",
                               flags=regex.DOTALL)
        if letters is None:
            continue
        piece = (start + letters.start(), start + letters.end())
        if any(_stands_alone(w) or unknown_word(w)
               for w in NAME_WORD.findall(text, *piece)) and (
                best is None or piece[1] - piece[0] > best[1] - best[0]):
            best = piece
    return None if best is None else Finding(finding.message_index, "PERSON", *best,
                                             finding.score, finding.recognizer)


class _Taken:
    """The characters other findings hold (``in`` tests a position): ``spans`` are (start,
    end, id of the finding), the finding whose id is ``mine`` left out (the message's spans
    are gathered once and shared by its persons, with their ``_Coverage`` when there are many:
    see ``_shared``)."""

    def __init__(self, spans: list[tuple[int, int, int]], mine: int | None = None,
                 coverage: _Coverage | None = None) -> None:
        self.spans = spans
        self.mine = mine
        self.coverage = coverage

    def __contains__(self, position: object) -> bool:
        if not isinstance(position, int):
            return False
        if self.coverage is not None:
            return self.coverage.held_by_another(position, self.mine)
        return any(start <= position < end and owner != self.mine
                   for start, end, owner in self.spans)


# A message with more spans than this gets a ``_Coverage``: a pass over every span for every
# position asked is quadratic in the findings, and a prompt made of names ("Anna, Anna, ...",
# 80 KB: 13,000 persons) kept a detection process busy for minutes with no guard to stop it
# (widened runs after the recognizers' passes). Below it, the pass (ordinary prompts).
COVERAGE_MIN_SPANS = 64


class _Coverage:
    """How many of a message's spans hold each position (a running count), and each owner's
    own spans: a position is held by another finding than ``mine`` when more spans hold it
    than ``mine``'s own do. The same answer as the pass over the spans, in time independent
    of how many there are (each owner has one span or a few)."""

    def __init__(self, spans: list[tuple[int, int, int]]) -> None:
        size = max((end for _, end, _ in spans), default=0) + 1
        steps = [0] * (size + 1)
        self.owned: dict[int, list[tuple[int, int]]] = {}
        for start, end, owner in spans:
            if start < end:
                steps[max(start, 0)] += 1
                steps[end] -= 1
            self.owned.setdefault(owner, []).append((start, end))
        self.holding = list(accumulate(steps))

    def held_by_another(self, position: int, mine: int | None) -> bool:
        if not 0 <= position < len(self.holding):
            return False
        own = sum(start <= position < end for start, end in self.owned.get(mine, ())) \
            if mine is not None else 0
        return self.holding[position] > own


def _shared(spans: list[tuple[int, int, int]]) -> _Coverage | None:
    """The coverage of a message's spans, when it has enough of them to need one."""
    return _Coverage(spans) if len(spans) > COVERAGE_MIN_SPANS else None


def _merged(persons: list[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """Overlapping PERSON findings as one, with the best score, and the findings merged (in
    their order): NER's "Veronika" (0.85) inside the lexicon's "BOŽIČ Veronika" (0.84) would
    otherwise win alone."""
    groups: list[tuple[Finding, list[Finding]]] = []
    for finding in sorted(persons, key=lambda f: (f.message_index, f.start)):
        checkpoint()
        if groups and groups[-1][0].message_index == finding.message_index \
                and finding.start < groups[-1][0].end:
            last, members = groups[-1]
            # the members' list grows in place: copied at each finding, it was quadratic in
            # the findings one long span holds (NER's 80,000 characters of "Ab A. ": 0.8 s)
            members.append(finding)
            groups[-1] = (Finding(last.message_index, "PERSON", last.start,
                                  max(last.end, finding.end), max(last.score, finding.score),
                                  last.recognizer if last.score >= finding.score
                                  else finding.recognizer), members)
        else:
            groups.append((finding, [finding]))
    order = {id(f): i for i, f in enumerate(persons)}
    return [(merged, sorted(members, key=lambda f: order[id(f)])) for merged, members in groups]


def _lines(text: str, finding: Finding) -> list[Finding]:
    """A name does not run across lines: "Jeffrey\n\n- Form" is "Jeffrey"; a later line stays
    a person only when it opens with a known name ("Hanna\n\nSafiya Shukronova"), not with
    the label, company or word NER ran on into ("Anna Josefsen\nAddress")."""
    if "\n" not in text[finding.start:finding.end]:
        return [finding]
    pieces = [Finding(finding.message_index, "PERSON", finding.start + m.start(),
                      finding.start + m.end(), finding.score, finding.recognizer)
              for m in regex.finditer(r"[\p{L}\p{M}](?:[^\n]*[\p{L}\p{M}])?",
                                      text[finding.start:finding.end])]
    return pieces[:1] + [piece for piece in pieces[1:]
                         if (first := NAME_WORD.match(text, piece.start)) is not None
                         and _known_name(first.group())]


def _known_name(word: str) -> bool:
    """A given name or surname of the lexicon that is not a common word ("Phone" is both)."""
    return (word in lexicon("given_names") or word in lexicon("surnames")) \
        and _rare(word, GIVEN_NAME_MAX_WORD_FREQUENCY)


def _widened(text: str, finding: Finding, taken: _Taken,
             language: str | None = None) -> Finding:
    start, end = finding.start, finding.end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] in "'’") \
            and not text[start].isspace():
        start -= 1  # "Asma’u Abubakar" found as "u Abubakar"
    if text[start:start + 1].isupper() and (
            part := HYPHENATED_BEFORE.search(text, max(0, start - 20), start)):
        # a hyphenated given name whose first part no lexicon reads as a word: "I-Chen Wang"
        # found as "Chen Wang", "Tsung-Han Lin" as "Han Lin"
        start = part.start()
    words = len(NAME_WORD.findall(text, start, end))
    # a name has one word in capitals at most, its surname ("NASCIMENTO Luísa"); more is a
    # heading or a table ("CATTLE CALVES HOGS")
    capitals = any(w.isupper() and len(w) > 1 for w in NAME_WORD.findall(text, start, end))
    while words < MAX_NAME_WORDS and (before := WORD_BEFORE.search(
            text, max(0, start - 40), start)) and (
                _part_of_name(before.group(1), language) or (
                    _given_name_as_word(before.group(1)) and (not _opens_sentence(
                        text, before.start(1)) or (
                        before.group(1).casefold() in PLURAL_ARTICLES
                        and _verb_of_a_person_after(text, end))))) \
            and before.start(1) not in taken and not (capitals and before.group(1).isupper()):
        start, words = before.start(1), words + 1
        capitals = capitals or before.group(1).isupper()
    while words < MAX_NAME_WORDS and (after := WORD_AFTER.match(text, end)) \
            and _part_of_name(after.group(1), language) and after.start(1) not in taken \
            and not (capitals and after.group(1).isupper()):
        end, words = after.end(1), words + 1
        capitals = capitals or after.group(1).isupper()
    if words == 1:  # "Abramchuk, Arkadii" alone between delimiters
        found = text[start:end]
        if (after := COMMA_AFTER.match(text, end)) and _part_of_name(after.group(1)) \
                and after.start(1) not in taken and _ends_item(text, after.end(1)) and (
                _starts_item(text, start) or _known_given_name(after.group(1)) or (
                    unknown_word(after.group(1)) and (unknown_word(found)
                                                      or _rare_surname(found)))):
            # in running text only a known given name after the comma ("a request from
            # Rastija, Mato (...)"), or a word no dictionary holds after a surname ("Called
            # Sabil, Qasid (social worker)")
            end = after.end(1)
        elif (before := COMMA_BEFORE.search(text, max(0, start - 40), start)) \
                and (_part_of_name(before.group(1)) or before.group(1) in lexicon("surnames")) \
                and before.start(1) not in taken and _ends_item(text, end) and (
                _starts_item(text, before.start(1)) or (
                    (unknown_word(before.group(1)) or _rare_surname(before.group(1)))
                    and _known_given_name(text[start:end])
                    and not WORD_BEFORE.search(text, max(0, before.start(1) - 40),
                                               before.start(1)))):
            # between delimiters a known surname even when it is a word ("Partner: Sur,
            # Aradhana"); in running text a word no dictionary holds before a known given name,
            # not the end of another name ("I made with Chumachenko, Iryna."; not "Mohinur
            # Aminova, Baron")
            start = before.start(1)
    elif words <= MAX_NAME_WORDS - 1 and (
            before := COMMA_BEFORE.search(text, max(0, start - 40), start)) \
            and before.group(1) in lexicon("surnames") and before.start(1) not in taken \
            and _starts_item(text, before.start(1)) \
            and before.group(1).casefold() not in function_words("en") \
            and fold(before.group(1)) not in TITLES and fold(before.group(1)) not in OPENERS \
            and fold(before.group(1)) not in CALENDAR \
            and (first := NAME_WORD.match(text, start)) is not None \
            and first.group() in lexicon("given_names"):
        # a one-word surname written first, before given names of two words or more, at the
        # start of an item: "; Le, Bao Yen was present" (a word in French, a name here)
        start = before.start(1)
    # the particles of a name before it: "da Cunha", "van der Smeede", "VAN HENEGOUWEN"
    while (particle := PARTICLE_BEFORE.search(text, max(0, start - 8), start)) \
            and particle.group(1).casefold() in PARTICLES:
        start = particle.start(1)
    if (start, end) == (finding.start, finding.end):
        return finding
    return Finding(finding.message_index, "PERSON", start, end, finding.score,
                   finding.recognizer)


# a list item's marker at the start of a line ("- ", "• ", "* ")
LIST_MARKER_BEFORE = regex.compile(r"(?:^|\n)[ \t]*[-•*–][ \t]+$")
# one or two capitalised name words after a comma ("Le, Khoa", "Vũ, Văn Tú")
GIVEN_AFTER_COMMA = regex.compile(
    r",[ \u00a0](\p{Lu}[\p{Ll}\p{M}'’-]+)(?:[ \u00a0](\p{Lu}[\p{Ll}\p{M}'’-]+))?(?![\w'’-])")


def _surname_first_item(text: str, finding: Finding, held: _Taken,
                         language: str | None = None) -> Finding:
    """A one-word name found in an item of a form or a list written surname first takes the
    other side of the comma, where ``_widened`` did not: "Referred by: Zakusylo, Klavdiia"
    (NER read "Klavdiia" as a place: in an item that holds nothing else, the place reading of
    one word does not outweigh the name beside it), "Partner: Tran, Van" (a given name that is
    a particle elsewhere), "Partner: Vũ, Văn Tú" (two given names), "- Ionescu, Jasmina will
    bring" (a list item, and a verb of a person or an auxiliary after the name rather than the
    item's end). The item must open right before the name (a line, a label's colon, a list
    marker) and end after it or go on with such a verb; its words must be able to stand for a
    person."""
    start, end = finding.start, finding.end
    if finding.entity_type != "PERSON" or len(NAME_WORD.findall(text, start, end)) != 1:
        return finding
    if (after := GIVEN_AFTER_COMMA.match(text, end)) is not None \
            and _item_opens(text, start) and after.start(1) not in held:
        given = [after.group(1), *([after.group(2)] if after.group(2) else [])]
        if all(_item_name_word(w, language) for w in given) and (
                _item_closes(text, after.end())):
            end = after.end()
        elif after.group(2) and _item_name_word(after.group(1), language) \
                and _item_closes(text, after.end(1)):
            end = after.end(1)
    elif (before := COMMA_BEFORE.search(text, max(0, start - 40), start)) is not None \
            and before.start(1) not in held and _item_opens(text, before.start(1)) \
            and _item_name_word(before.group(1), language) and _item_closes(text, end):
        start = before.start(1)
    if (start, end) == (finding.start, finding.end):
        return finding
    return Finding(finding.message_index, "PERSON", start, end, finding.score,
                   finding.recognizer)


# the particles of a name, then a capitalised word, after a name found ("Ecrin van der
# Laarse" found as "Ecrin")
PARTICLES_THEN_WORD = regex.compile(
    rf"[ \u00a0](?:(?:{'|'.join(PARTICLES)})[ \u00a0]){{1,2}}(\p{{Lu}}[\p{{Ll}}\p{{M}}'’-]+)"
    r"(?![\w'’-])")


def _particles_then_name(text: str, finding: Finding, taken: _Taken,
                         language: str | None = None) -> Finding:
    """A PERSON finding followed by the particles of a name and a word that can be part of
    one takes them in: "Bonjour Ecrin van der Laarse," found as "Ecrin" (``_widened`` takes
    particles before a name only); not "Marie de Paris" (a common word after them)."""
    if finding.entity_type != "PERSON":
        return finding
    after = PARTICLES_THEN_WORD.match(text, finding.end)
    if after is None or after.start(1) in taken or not (
            _part_of_name(after.group(1), language) or unknown_word(after.group(1))):
        return finding
    return Finding(finding.message_index, "PERSON", finding.start, after.end(1),
                   finding.score, finding.recognizer)


# the word right before a finding, in either case
ANY_WORD_BEFORE = regex.compile(r"(?<![\w'’-])(\p{L}[\p{Ll}\p{M}]*)[ \u00a0]$")


def _vietnamese_family_name_before(text: str, finding: Finding, taken: _Taken,
                                   language: str | None = None) -> Finding:
    """A name of two or three Vietnamese syllables found without the family name before it
    takes it in: "Vu Mai Bao Quang" found as "Mai Bao Quang", "mai hoàng ngọc" in chat as
    "hoàng ngọc" (the family name a word of the text's language, which no pattern read as a
    name). The family name is written as the name is (capitalised before a capitalised name);
    in lower case not a function word of the text's language ("le hoàng ngọc")."""
    if finding.entity_type != "PERSON":
        return finding
    words = NAME_WORD.findall(text, finding.start, finding.end)
    if not 2 <= len(words) < MAX_NAME_WORDS or not all(
            VIETNAMESE_SYLLABLE.fullmatch(fold(w).casefold()) for w in words):
        return finding
    start, count = finding.start, len(words)
    # (two family names, as a mother's is kept: "Vu Mai Bao Quang" found as "Bao Quang")
    while count < MAX_NAME_WORDS and (before := ANY_WORD_BEFORE.search(
            text, max(0, start - 12), start)) is not None and before.start(1) not in taken:
        family = before.group(1)
        if fold(family).casefold() not in VIETNAMESE_SURNAMES or (
                family[0].isupper() != words[0][0].isupper()) or (
                family.islower() and family in _function_words(language)):
            break
        start, count = before.start(1), count + 1
    if start == finding.start:
        return finding
    return Finding(finding.message_index, "PERSON", start, finding.end,
                   finding.score, finding.recognizer)


def _item_opens(text: str, start: int) -> bool:
    return _starts_item(text, start) or LIST_MARKER_BEFORE.search(
        text, max(0, start - 20), start) is not None


def _item_closes(text: str, end: int) -> bool:
    return _ends_item(text, end) or _verb_after(text, end, plural_article=False)


def _item_name_word(word: str, language: str | None = None) -> bool:
    """A word that can be part of a name written surname first, or a given name of the
    lexicon written capitalised even when it is a particle elsewhere ("Van", "Le")."""
    folded = fold(word)
    return _part_of_name(word, language) or (
        word in lexicon("given_names") and not word.isupper() and folded not in TITLES
        and folded not in OPENERS and folded not in CALENDAR
        and word.casefold() not in NOT_A_SURNAME)


def _rare_surname(word: str) -> bool:
    """A surname of the lexicon rare as a word ("Sidhu": 2.4)."""
    return word in lexicon("surnames") and _rare(word, LONE_GIVEN_NAME_MAX_WORD_FREQUENCY)


# the finite verbs an article, an adjective or a preposition is never followed by: after a word
# of a name found, opening a sentence, they make it the name ("Le a déjà eu votre collègue")
AUXILIARIES = frozenset("""a avait aura est était sera va has had is was will would ha había
    habrá es era está estaba será va""".split())  # noqa: SIM905


def _verb_after(text: str, end: int, plural_article: bool) -> bool:
    """A verb of a person right after ``end`` (see ``_verb_of_a_person_after``), or, after a
    word that is not a plural article, an auxiliary: "Long apportera le bail", "Río thanked
    Santino", "Le a déjà eu" when "Long Chao", "Fabián Río", "Le The Vu" were found."""
    if _verb_of_a_person_after(text, end):
        return True
    after = WORD_AFTER_VERB.match(text, end)
    if after is not None and not plural_article and (
            pronoun := _object_pronoun(after.group(1))) is not None:
        # a French object pronoun between the subject and its verb: "Vu nous a transmis les
        # pièces", "Vu m'a dit" (a participle or a noun opening a sentence takes none)
        if pronoun:
            return pronoun in AUXILIARIES or pronoun.casefold() in PERSON_VERBS
        after = WORD_AFTER_VERB.match(text, after.end())
        return after is not None and (after.group(1) in AUXILIARIES
                                      or after.group(1).casefold() in PERSON_VERBS)
    return not plural_article and after is not None and after.group(1) in AUXILIARIES


# French object pronouns that stand between a subject and its verb ("nous a", "lui dit");
# elided, the verb is in the same word ("m'a", "l'a")
OBJECT_PRONOUNS = frozenset(("nous", "vous", "lui", "leur", "me", "te", "se"))
ELIDED_PRONOUNS = frozenset(("m", "t", "l", "s"))


def _object_pronoun(word: str) -> str | None:
    """``""`` when ``word`` is a French object pronoun alone, the verb after it when it is an
    elided one ("m'a": "a"), else None."""
    if word in OBJECT_PRONOUNS:
        return ""
    head, _, verb = word.replace("’", "'").partition("'")
    return verb if head in ELIDED_PRONOUNS and verb else None


def _surname_as_place_word(word: str) -> bool:
    """A word of places or institutions, capitalised, in a name found of two words or more:
    a surname there ("Río" of "Fabián Río", "Hall", "Pont")."""
    return len(word) >= MIN_LETTERS and word[0].isupper() and not word.isupper() \
        and word.casefold() in NOT_A_SURNAME


def _verb_of_a_person_after(text: str, end: int) -> bool:
    """A verb only a person does right after ``end``: after "Les" or "Los" opening a
    sentence, a singular one says a name ("Les Zharko affirme", "Les demande"; the article
    would take a plural verb or noun)."""
    after = WORD_AFTER_VERB.match(text, end)
    return after is not None and after.group(1).casefold() in PERSON_VERBS


def _known_given_name(word: str, language: str | None = None) -> bool:
    return word in lexicon("given_names") and _rare(word, GIVEN_NAME_MAX_WORD_FREQUENCY,
                                                     language)


def _opens_sentence(text: str, start: int) -> bool:
    return SENTENCE_START.search(text, max(0, start - 10), start) is not None


def _given_name_as_word(word: str) -> bool:
    """A known given name that is also a function word ("Les", short for Leslie): part of a
    name found right after it, where a capital inside a sentence says a name ("Selon Les
    Zharko"); at the start of a sentence it is the word ("Les Zharko" stays "Les <name>",
    "Then Zharko called" stays "Then <name>", the lexicon holding "Then" and "The" too)."""
    return len(word) >= MIN_LETTERS and word[0].isupper() and not word.isupper() \
        and (word in lexicon("given_names") or word in lexicon("surnames")) \
        and word.casefold() in function_words()


def _name_common_as_word(word: str) -> bool:
    """A known name, capitalised, more common as a word than a name standing alone may be
    ("Seven", "Mai", "Day"), and not a word that cannot be part of a name."""
    folded = fold(word)
    return len(word) >= MIN_LETTERS and word[0].isupper() and not word.isupper() \
        and (word in lexicon("given_names") or word in lexicon("surnames")) \
        and not _rare(word, GIVEN_NAME_MAX_WORD_FREQUENCY) and folded not in TITLES \
        and folded not in OPENERS and folded not in CALENDAR and folded not in PARTICLES \
        and word.casefold() not in NOT_A_SURNAME and word.casefold() not in function_words() \
        and folded not in function_words() and word.casefold() not in PERSON_CUES \
        and word.casefold() not in PERSON_VERBS


def _starts_item(text: str, start: int) -> bool:
    """At the start of a text, a line or an item of a list or a form."""
    before = text[max(0, start - 20):start].rstrip(" \u00a0\t")
    return before == "" or before[-1] in "\n:;(,<"


def _ends_item(text: str, end: int) -> bool:
    rest = text[end:end + 20].lstrip(" \u00a0\t")
    return rest == "" or rest[0] in "\n,;:()<" or (rest[0] == "." and rest[1:2] in ("", " ", "\n"))


def _part_of_name(word: str, language: str | None = None) -> bool:
    """Whether ``word`` beside a name found can be part of it; in the text's ``language``
    when given, a word of another language is not a word there ("Nguyễn Thị Tú would": "tú"
    is Spanish; "Văn" is not "van")."""
    folded = fold(word)
    if not _stands_alone(word, language) and not word.isupper():
        return False  # "What's", "I'm", a title, a function word
    words = _function_words(language)
    return len(word) >= MIN_LETTERS and folded not in TITLES and folded not in OPENERS \
        and folded not in CALENDAR and word.casefold() not in NOT_A_SURNAME \
        and word.casefold() not in words and (folded not in words or (
            language is not None and folded != word.casefold())) \
        and word.casefold() not in PARTICLES \
        and _rare(word, GIVEN_NAME_MAX_WORD_FREQUENCY, language) \
        and word.casefold() not in PERSON_CUES and word.casefold() not in PERSON_VERBS \
        and not stretched(word)  # "Hahahaha Marcus": a laugh is no part of a name


def _function_words(language: str | None) -> frozenset[str]:
    return function_words(language) if language in LANGUAGES else function_words()


def later_mentions(texts: Sequence[str], findings: Sequence[Finding],
                   min_score: float = 0.5, language: str | None = None) -> list[Finding]:
    """PERSON findings for the other mentions, in ``texts`` (a request's messages), of the
    words of the PERSON ``findings`` scored ``min_score`` or more; mentions already inside such
    a finding are not reported again. A word of a name is judged in the texts' ``language``
    when given ("Na" of "Na Long" is a French function word, not an English one)."""
    persons = [f for f in findings if f.entity_type == "PERSON" and f.score >= min_score]
    mailed = _mailed_names(texts, findings)
    if not persons and not mailed:
        return []
    lower_case = [uncapitalised(text) for text in texts]
    words: set[str] = set()
    mid_sentence: set[str] = set()
    phrases: set[str] = set()
    for finding in persons:
        checkpoint()
        found = NAME_WORD.findall(texts[finding.message_index], finding.start, finding.end)
        # only from what is written like a name: "Liste des communes du Lot", taken for a
        # person somewhere, must not make every "Liste" a person
        # and from a name of two words or more, one after a civility title ("Mrs Okonkwo") or
        # one no dictionary holds ("Zharko affirme"): one word alone ("Bot:", "Apt") is too
        # often a word NER took for a name
        text = texts[finding.message_index]
        titled = TITLE_BEFORE.search(text, max(0, finding.start - 14), finding.start)
        if (len(found) < 2 and not (titled and fold(titled.group(1)) in TITLE_WORDS)
                and not (found and (unknown_word(found[0]) or _one_word_name(found[0])))) \
                or len(found) > MAX_NAME_WORDS + 2 or not all(
                word[0].isupper() or word.casefold() in PARTICLES
                or lower_case[finding.message_index]
                # a word no dictionary holds after a title ("Mr. ribič")
                or (titled and fold(titled.group(1)) in TITLE_WORDS and unknown_word(word))
                for word in found):
            continue
        words.update(word for word in found if _stands_alone(word, language))
        if 2 <= len(found) <= MAX_NAME_WORDS and not all(_stands_alone(w, language) for w in found):
            # two words or more of the name as written ("Dang The Chi" ... "The Chi wants"):
            # the whole shows it is the name, whatever each word is alone; all capitalised
            # (not "de la", "el Real Madrid", a table's "W L T") and one of them a name
            parts = [found[i:j] for i in range(len(found)) for j in range(i + 2, len(found) + 1)]
            phrases.update(" ".join(part) for part in parts
                           if all(_capitalised(w) for w in part)
                           and any(_stands_alone(w, language) for w in part))
        # "Les" of "Les Zharko" is a name again only where a word is not capitalised, and so
        # is "Seven" of "Permun Seven" ("Visit to Seven on Tuesday")
        # (and "Río" of "Fabián Río", a surname that is also an institution word)
        mid_sentence.update(word for word in found if _given_name_as_word(word) or (
            len(found) >= 2 and (_name_common_as_word(word) or _surname_as_place_word(word))
            and any(_stands_alone(other, language) for other in found if other != word)))
    if not words and not mailed and not mid_sentence and not phrases:
        return []
    forms = set(words) | {w.upper() for w in words} | mid_sentence
    lower = {w.casefold() for w in words if len(w) >= MIN_LETTERS_ANY_CASE
             and _rare(w, LONE_GIVEN_NAME_MAX_WORD_FREQUENCY)}
    out: list[Finding] = []
    for index, text in enumerate(texts):
        # in lower case only where the text is written without capitals ("so karina called")
        names = forms | lower if lower_case[index] else forms

        def is_name(word: str, names: set[str] = names, index: int = index) -> bool:
            # a word of a found name, or a capitalised part of an e-mail address's name
            return word in names or (bool(mailed) and (word[:1].isupper() or lower_case[
                index]) and fold(word) in mailed)

        inside = sorted((f.start, f.end) for f in persons if f.message_index == index)
        within = _Within(inside)
        spans: list[tuple[int, int]] = []
        for match in _occurrences(text, names,
                                  scan=bool(mailed) or len(names) > SCAN_MIN_NAMES):
            checkpoint()
            if not is_name(match.group()):
                continue
            if within.holds(match.start(), match.end()):
                continue
            if match.group() in mid_sentence and match.group() not in words and \
                    _opens_sentence(text, match.start()) and not _verb_after(
                        text, match.end(), match.group().casefold() in PLURAL_ARTICLES):
                continue  # "Les demandes...": the article as often as the name
            if not _alone(text, match, is_name):
                continue  # "Costa Rica", "Louis Vuitton": another name holds the word
            if spans and text[spans[-1][1]:match.start()] in (" ", "\u00a0"):
                spans[-1] = (spans[-1][0], match.end())  # "Valentina Costa": one finding
            else:
                spans.append(match.span())
        # a phrase written where no span (a person found, a mention, a phrase kept) holds it,
        # asked of the furthest end reached from a start at or before it (a pass over every
        # span for each phrase was quadratic: 80 KB of "Dang The Chi, ", 3 s of CPU)
        written = _phrases(text, phrases)
        if written:
            reach = _Reach(len(text))
            for start, end in (*inside, *spans):
                reach.add(start, end)
            for start, end in written:
                checkpoint()
                if reach.furthest(start) < end:
                    spans.append((start, end))
                    reach.add(start, end)
        out.extend(Finding(index, "PERSON", start, end, SCORE, NAME) for start, end in spans)
    return out


class _Within:
    """Whether one of ``spans`` (sorted) holds a stretch, in a bisection instead of a pass over
    every span (each occurrence of a name asked it against every name found: quadratic on text
    dense with names). A span starting at or before the stretch holds it when it ends at or
    after the stretch's end, so the furthest end among the spans starting at or before it
    decides. Kept although it saves nothing measurable on ordinary prompts (nonner, e719437):
    it bounds a prompt made of names, which ``later_mentions`` reads after every recognizer's
    guard (80 KB of "Anna Berg ": 7 s of CPU here with the pass)."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.starts = [start for start, _ in spans]
        self.reach = list(accumulate((end for _, end in spans), max))

    def holds(self, start: int, end: int) -> bool:
        before = bisect_right(self.starts, start)
        return before > 0 and self.reach[before - 1] >= end


class _Reach:
    """The furthest end of the spans added that start at or before a position, spans added as
    they come (a Fenwick tree of maxima over the positions of a text): whether one of them
    holds a stretch is ``furthest(start) >= end``, in time logarithmic in the text."""

    def __init__(self, size: int) -> None:
        self.tree = [-1] * (size + 2)

    def add(self, start: int, end: int) -> None:
        at = max(start, 0) + 1
        while at < len(self.tree):
            if self.tree[at] < end:
                self.tree[at] = end
            at += at & -at

    def furthest(self, position: int) -> int:
        at, best = min(max(position, -1) + 1, len(self.tree) - 1), -1
        while at > 0:
            if self.tree[at] > best:
                best = self.tree[at]
            at -= at & -at
        return best


def _phrases(text: str, phrases: set[str]) -> list[tuple[int, int]]:
    """Where ``text`` writes one of ``phrases``, as whole words."""
    found = []
    for phrase in phrases:
        at = text.find(phrase)
        while at >= 0:
            checkpoint()
            end = at + len(phrase)
            if (at == 0 or not _word_character(text[at - 1])) and (
                    end == len(text) or not _word_character(text[end])):
                found.append((at, end))
            at = text.find(phrase, at + 1)
    return found


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper() and word.casefold() not in NOT_A_SURNAME


def _word_character(character: str) -> bool:
    return character.isalnum() or character in "'’-"


def _one_word_name(word: str) -> bool:
    """A given name or surname of the lexicon, capitalised, rare as a word (see
    ``ONE_WORD_NAME_MAX_WORD_FREQUENCY``), that can stand alone."""
    return word[:1].isupper() and not word.isupper() and (
        word in lexicon("given_names") or word in lexicon("surnames")) \
        and _rare(word, ONE_WORD_NAME_MAX_WORD_FREQUENCY) and _stands_alone(word)


COORDINATED_BEFORE = regex.compile(
    r"(?<![\w'’-])(\p{Lu}[\p{Ll}\p{M}]+(?:-\p{Lu}[\p{Ll}\p{M}]+)?)[ \u00a0]+(?:and|et|y|e|&)"
    r"[ \u00a0]+$")
COORDINATED_AFTER = regex.compile(
    r"[ \u00a0]+(?:and|et|y|e|&)[ \u00a0]+(\p{Lu}[\p{Ll}\p{M}]+(?:-\p{Lu}[\p{Ll}\p{M}]+)?)"
    r"(?![\w'’-])")


class _Held:
    """The spans ``coordinated`` keeps from being taken twice, (message, start, end): whether
    one overlaps a stretch is asked of the positions they hold, not of a pass over every span
    (quadratic in the findings, outside every guard: 80 KB of "Berg and Anna " spent 6 s of
    CPU there). An empty span holds no position; it overlaps a stretch it falls strictly
    inside, as in the pass: those few are passed over, as every span is for an empty stretch
    (the names joined are words: never, kept exact all the same)."""

    def __init__(self, spans: Iterable[tuple[int, int, int]] = ()) -> None:
        self.positions: set[tuple[int, int]] = set()
        self.empty: list[tuple[int, int]] = []
        self.spans: list[tuple[int, int, int]] = []
        for span in spans:
            self.add(span)

    def add(self, span: tuple[int, int, int]) -> None:
        self.spans.append(span)
        index, start, end = span
        if start < end:
            self.positions.update((index, at) for at in range(start, end))
        else:
            self.empty.append((index, start))

    def overlaps(self, index: int, start: int, end: int) -> bool:
        """Whether a span held in message ``index`` overlaps [start, end)."""
        if start >= end:
            return any(held == index and at < end and start < until
                       for held, at, until in self.spans)
        return any((index, at) in self.positions for at in range(start, end)) or any(
            held == index and start < at < end for held, at in self.empty)


def coordinated(texts: Sequence[str], findings: Sequence[Finding],
                min_score: float = 0.5, language: str | None = None) -> list[Finding]:
    """PERSON findings for a known given name joined by "and" ("et", "y") to a person found:
    "Sierra et Nicole Leite", "Mr Brown and Amanda" - however common the name is as a word
    (in the texts' ``language`` when given: "Juan" in French text, "et Juan").

    Also, since a coordinator joins like with like: a capitalised word no dictionary holds
    joined so to a person ("Pannawich et Maître Chen"), even where NER took it alone for a
    place or an organisation ("Monsieur Aebi et Nimrat": NER's place, not redacted, had kept
    it from being taken). A word a dictionary holds keeps NER's place reading ("Mali and
    Chad": places and names are both words there), and a place or organisation finding that
    covers more than the word still holds it ("Bappa et Saint-Denis")."""
    held = _Held((f.message_index, f.start, f.end) for f in findings if f.score >= min_score
                 and f.entity_type not in PLACE_TYPES)
    places = {(f.message_index, f.start, f.end) for f in findings
              if f.score >= min_score and f.entity_type in PLACE_TYPES}
    place_held = _Held(places)  # positions, not a pass over every place (see ``_Held``)
    # the words of the names of two words or more found in the request: joined to a person,
    # such a word is that name again, however common as a word ("Daghfal Man" ... "Man and
    # Bilge disagreed", "Mai Anh" ... "Mai et Dian Rahayu souhaitent")
    named: set[str] = set()
    for f in findings:
        checkpoint()
        if f.entity_type == "PERSON" and f.score >= min_score:
            found = NAME_WORD.findall(texts[f.message_index], f.start, f.end)
            if 2 <= len(found) <= MAX_NAME_WORDS:
                named.update(w for w in found if _capitalised(w))
    out: list[Finding] = []
    for finding in findings:
        checkpoint()
        if finding.entity_type != "PERSON" or finding.score < min_score:
            continue
        text = texts[finding.message_index]
        for match in (COORDINATED_BEFORE.search(text, max(0, finding.start - 40),
                                                finding.start),
                      COORDINATED_AFTER.match(text, finding.end)):
            if match is None or not (_known_given_name(match.group(1), language)
                                     or match.group(1) in named
                                     or unknown_word(match.group(1))) \
                    or match.group(1).casefold() in _function_words(language) \
                    or fold(match.group(1)) in TITLE_WORDS \
                    or held.overlaps(finding.message_index, match.start(1), match.end(1)) \
                    or (place_held.overlaps(*(span := (finding.message_index, match.start(1),
                                                       match.end(1))))
                        and (span not in places or not unknown_word(match.group(1)))):
                continue
            out.append(Finding(finding.message_index, "PERSON", match.start(1), match.end(1),
                               SCORE, NAME))
            held.add((finding.message_index, match.start(1), match.end(1)))
    return out


# More words of names than this are looked for in one scan of the text's words: a ``str.find``
# through the text for each is cheaper for a few, but grows with their number times the
# text's length (a prompt of names all different: 13,000 words)
SCAN_MIN_NAMES = 64


def _occurrences(text: str, names: set[str], scan: bool) -> list[regex.Match[str]]:
    """The words of ``text`` that may be ``names``: every word when ``scan`` (e-mail parts are
    compared accents folded; many names), else only where a name is written (``str.find`` is
    far cheaper than a pattern compiled for each request or a scan of every word). The same
    words either way: a match of ``NAME_WORD_ALONE`` is a whole word (nothing it may hold
    stands before it, and it does not end inside one), so a name found at a position is the
    word the scan finds there."""
    if scan:
        return list(NAME_WORD_ALONE.finditer(text))
    found = []
    for name in names:
        at = text.find(name)
        while at >= 0:
            checkpoint()
            match = NAME_WORD_ALONE.match(text, at)
            if match is not None and match.end() == at + len(name):
                found.append(match)
            at = text.find(name, at + 1)
    return sorted(found, key=lambda m: m.start())


def _mailed_names(texts: Sequence[str], findings: Sequence[Finding]) -> frozenset[str]:
    """The words of the e-mail addresses found ("farhod.muhammadsolihov@...": "farhod",
    "muhammadsolihov"), accents folded, other than what names a mailbox ("info", "contact")."""
    parts: set[str] = set()
    for finding in findings:
        if finding.entity_type != "EMAIL_ADDRESS":
            continue
        # what follows a "+" is a tag the owner chose, not a name ("v.costa+benefits@...")
        local = texts[finding.message_index][finding.start:finding.end].partition(
            "@")[0].partition("+")[0]
        parts.update(fold(part) for part in regex.split(r"[^\p{L}]+", local)
                     if len(part) >= MIN_LETTERS_ANY_CASE - 1)
    return frozenset(p for p in parts if p not in MAILBOX_WORDS and p not in function_words()
                     and _rare(p.capitalize(), GIVEN_NAME_MAX_WORD_FREQUENCY))


def _alone(text: str, match: regex.Match[str], is_name: Callable[[str], bool]) -> bool:
    """No capitalised word next to ``match`` other than words of the same name."""
    before = WORD_BEFORE.search(text, max(0, match.start() - 40), match.start())
    if before is not None and SENTENCE_START.search(text, max(0, before.start(1) - 10),
                                                    before.start(1)):
        before = None  # capitalised because it opens a sentence: "Later Yusuf called"
    if before is not None and fold(before.group(1)) in CALENDAR:
        before = None  # "On Monday Belmar will be away"
    for neighbour in (before, WORD_AFTER.match(text, match.end())):
        if neighbour is not None and not is_name(neighbour.group(1)) \
                and fold(neighbour.group(1)) not in function_words() \
                and fold(neighbour.group(1)) not in TITLES \
                and fold(neighbour.group(1)) not in OPENERS:
            return False
    return True


# asked again for each word of each name found, for every pair of its words: most of
# later_mentions' CPU on text dense with names (a word and a language decide the answer).
# Its keys are the words of names found: forgotten when the batch ends (``batch_memos``),
# but for the words of the dictionaries douane ships, asked again in every batch
@per_batch(maxsize=16384, lasting=common_word)
def _stands_alone(word: str, language: str | None = None) -> bool:
    folded = word.casefold()
    words = _function_words(language)
    apostrophe = regex.search(r"['’]", word)
    if apostrophe is not None and not (word[apostrophe.end():][:1].isupper()
                                       and len(word) - apostrophe.end() >= MIN_LETTERS) \
            and not _inner_apostrophe(word, apostrophe.start()):
        return False  # "I'm", "What's", "L'équipe"; "O'Connor", "E’zozova" stand alone
    return ((len(word) >= MIN_LETTERS and word[0].isupper() and not word.isupper()) or len(
                word) >= MIN_LETTERS_ANY_CASE) \
        and folded not in TITLES and folded not in PARTICLES and folded not in NOT_A_SURNAME \
        and folded not in words and (fold(word) not in words or (
            language is not None and fold(word) != folded)) \
        and _rare(word, GIVEN_NAME_MAX_WORD_FREQUENCY, language)


# what an elided French word leaves before its apostrophe ("l'équipe", "jusqu'à")
ELISIONS = frozenset(("l", "d", "j", "n", "s", "m", "t", "c", "qu", "jusqu", "lorsqu", "puisqu",
                      "quoiqu", "quelqu", "presqu", "aujourd"))


def _inner_apostrophe(word: str, at: int) -> bool:
    """An apostrophe inside a name, as Uzbek and Arabic names are romanised ("E’zozova",
    "Ma’ruf"): three letters or more after it, in lower case, and no English contraction or
    French elision before it."""
    return len(word) - at - 1 >= 3 and word[at + 1:].isalpha() and word[at + 1:].islower() \
        and word[:at].casefold() not in ELISIONS and word[:at].isalpha()


def _rare(word: str, limit: float, language: str | None = None) -> bool:
    """Not a common word, as far as the name lexicons know (a word they do not hold is rare);
    in ``language`` when given ("Tú" is a word in Spanish, not in English)."""
    name = word[:1].upper() + word[1:].lower() if word.isupper() else word
    if language in LANGUAGES:
        frequency = max(lexicon_in("given_names", language).get(name, 0.0),
                        lexicon_in("surnames", language).get(name, 0.0))
    else:
        frequency = max(lexicon("given_names").get(name, 0.0),
                        lexicon("surnames").get(name, 0.0))
    return frequency <= limit
