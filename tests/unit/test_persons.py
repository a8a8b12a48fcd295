"""The linking rule (which identifiers are one person's) and the normal form that lets
"Madame Jeanne Martin" find "Jeanne Martin": pure, tables of cases."""

from __future__ import annotations

import pytest

from streams.core.fingerprint import legacy_normal_form, normal_form, subject_fingerprints
from streams.core.persons import (
    ASKED,
    CONFIRMED,
    SUGGESTED,
    LinkDecision,
    Sighting,
    person_of,
)


@pytest.mark.parametrize(("typed", "normal"), [
    # honorifics, one language per line
    ("Madame Jeanne Martin", "jeanne martin"),
    ("Mme. Jeanne Martin", "jeanne martin"),
    ("Mme Jeanne Martin", "jeanne martin"),
    ("M. Jean Dupont", "jean dupont"),
    ("Mademoiselle Lucie Fontaine", "lucie fontaine"),
    ("Maître Anne Roy", "anne roy"),
    ("Madame la Docteure Jeanne Martin", "jeanne martin"),
    ("Mrs Jane Smith", "jane smith"),
    ("Dr. Jane Smith", "jane smith"),
    ("Prof Jane Smith", "jane smith"),
    ("Señora María Núñez", "maria nunez"),
    ("Sra. María Núñez", "maria nunez"),
    ("Doña María Núñez", "maria nunez"),
    ("пані Олена Коваленко", "олена коваленко"),
    ("пан Тарас Шевченко", "тарас шевченко"),
    ("Frú Guðrún Jónsdóttir", "guðrun jonsdottir"),
    ("Herra Jón Sigurðsson", "jon sigurðsson"),
    # case, accents, white space
    ("  JEANNE\u00a0\tMARTIN ", "jeanne martin"),
    ("Jeanne Mártin", "jeanne martin"),
    ("Alice Martin-Lefèvre", "alice martin-lefevre"),
    ("ﬁona Smith", "fiona smith"),  # a ligature (NFKC)
    # what must stay
    ("Madame", "madame"),  # only an honorific: kept
    ("M. Le Pen", "le pen"),  # "le" is a particle of the name here
    ("Madame La Fontaine", "la fontaine"),
    ("Don Johnson", "don johnson"),  # "Don" is an English first name too
    ("Йосип Їжак", "йосип їжак"),  # й and ї are Ukrainian letters, not accented и and і
    ("dr.smith@example.fr", "dr.smith@example.fr"),  # not followed by a space: no honorific
    ("06 12 34 56 78", "06 12 34 56 78"),
])
def test_the_normal_form(typed: str, normal: str) -> None:
    assert normal_form(typed) == normal


def test_a_value_stored_under_the_older_normal_form_is_found_too() -> None:
    key = b"k" * 32
    both = subject_fingerprints(key, "Madame Jeanne Martin")
    assert both[0] == subject_fingerprints(key, "jeanne martin")[0]
    assert legacy_normal_form("Madame Jeanne Martin") == "madame jeanne martin"
    assert len(both) == 2 and len(subject_fingerprints(key, "jeanne martin")) == 1


JEANNE, PAUL = "name-jeanne", "name-paul"
MAIL, PHONE, SHARED, HER_NIR, OFFICE = "mail-j", "phone-j", "mail-shared", "nir-j", "mail-o"


def seen(request_id: str, *identifiers: tuple[str, str]) -> list[Sighting]:
    return [Sighting(request_id, subject, kind) for subject, kind in identifiers]


ONE_PERSON = seen("r1", (JEANNE, "PERSON"), (MAIL, "EMAIL_ADDRESS"), (PHONE, "PHONE_NUMBER"))
LETTER_A_TO_B = seen("r2", (JEANNE, "PERSON"), (PAUL, "PERSON"), (OFFICE, "EMAIL_ADDRESS"))
SHARED_BY_TWO = (seen("r3", (JEANNE, "PERSON"), (SHARED, "EMAIL_ADDRESS"))
                 + seen("r4", (PAUL, "PERSON"), (SHARED, "EMAIL_ADDRESS")))
NO_NAME = seen("r5", (MAIL, "EMAIL_ADDRESS"), (HER_NIR, "FR_NIR"))


def decided(first: str, second: str, same: bool, at: float = 1.0) -> LinkDecision:
    return LinkDecision(first, second, same, "case 7", at)


@pytest.mark.parametrize(("asked", "sightings", "decisions", "members", "ambiguous",
                          "acted_on"), [
    # one request, one name: the name, the e-mail and the phone are one person's, from any
    (JEANNE, ONE_PERSON, [], {JEANNE, MAIL, PHONE}, False, {JEANNE, MAIL, PHONE}),
    (MAIL, ONE_PERSON, [], {JEANNE, MAIL, PHONE}, False, {JEANNE, MAIL, PHONE}),
    # a letter from A to B links nobody
    (JEANNE, LETTER_A_TO_B, [], {JEANNE}, False, {JEANNE}),
    (OFFICE, LETTER_A_TO_B, [], {OFFICE}, False, {OFFICE}),
    # both: only the one-person request links
    (JEANNE, ONE_PERSON + LETTER_A_TO_B, [], {JEANNE, MAIL, PHONE}, False,
     {JEANNE, MAIL, PHONE}),
    # links carry over: a request without a name links the e-mail to the NIR
    (JEANNE, ONE_PERSON + NO_NAME, [], {JEANNE, MAIL, PHONE, HER_NIR}, False,
     {JEANNE, MAIL, PHONE, HER_NIR}),
    # a shared mailbox joins two names: ambiguous, act on the asked identifier only
    (JEANNE, SHARED_BY_TWO, [], {JEANNE, SHARED, PAUL}, True, {JEANNE}),
    (SHARED, SHARED_BY_TWO, [], {JEANNE, SHARED, PAUL}, True, {SHARED}),
    # the DPO splits the mailbox from Paul: Jeanne's again, unambiguous
    (JEANNE, SHARED_BY_TWO, [decided(PAUL, SHARED, False)], {JEANNE, SHARED}, False,
     {JEANNE, SHARED}),
    (PAUL, SHARED_BY_TWO, [decided(PAUL, SHARED, False)], {PAUL}, False, {PAUL}),
    # ... or confirms Paul and Jeanne are one person (two names of one person)
    (JEANNE, SHARED_BY_TWO, [decided(JEANNE, PAUL, True)], {JEANNE, SHARED, PAUL}, False,
     {JEANNE, SHARED, PAUL}),
    # a confirmation links what no request linked; the latest decision wins
    (JEANNE, LETTER_A_TO_B, [decided(JEANNE, OFFICE, True)], {JEANNE, OFFICE}, False,
     {JEANNE, OFFICE}),
    (JEANNE, ONE_PERSON, [decided(JEANNE, MAIL, False, 1.0), decided(JEANNE, MAIL, True, 2.0)],
     {JEANNE, MAIL, PHONE}, False, {JEANNE, MAIL, PHONE}),
    (JEANNE, ONE_PERSON, [decided(JEANNE, MAIL, True, 1.0), decided(MAIL, JEANNE, False, 2.0)],
     {JEANNE, MAIL, PHONE}, False, {JEANNE, MAIL, PHONE}),  # still linked through the phone
    # nothing kept: the person is the identifier alone
    (JEANNE, [], [], {JEANNE}, False, {JEANNE}),
])
def test_who_is_one_person(asked: str, sightings: list[Sighting],
                           decisions: list[LinkDecision], members: set[str], ambiguous: bool,
                           acted_on: set[str]) -> None:
    person = person_of([asked], sightings, decisions)
    assert set(person.subjects) == members
    assert person.ambiguous is ambiguous
    assert set(person.acted_on) == acted_on
    assert person.subjects[0] == asked


def test_how_each_identifier_was_reached_is_reported() -> None:
    person = person_of([JEANNE], ONE_PERSON + LETTER_A_TO_B, [decided(JEANNE, PHONE, True)])
    how = {m.subject: (m.how, m.via, m.requests, m.case) for m in person.members}
    assert how == {JEANNE: (ASKED, None, (), None),
                   MAIL: (SUGGESTED, JEANNE, ("r1",), None),
                   PHONE: (CONFIRMED, JEANNE, ("r1",), "case 7")}
    # named beside her in the letter to Paul: reported, not linked
    assert {m.subject for m in person.seen_with} == {PAUL, OFFICE}


def test_an_ambiguous_person_names_the_links_to_decide() -> None:
    person = person_of([JEANNE], SHARED_BY_TWO)
    assert {(frozenset((link.first, link.second)), link.requests)
            for link in person.unresolved_links} == {
        (frozenset((JEANNE, SHARED)), ("r3",)), (frozenset((PAUL, SHARED)), ("r4",))}
    assert person_of([JEANNE], ONE_PERSON).unresolved_links == ()


def test_two_fingerprints_of_one_value_are_one_person() -> None:
    legacy = "legacy-jeanne"
    sightings = ONE_PERSON + seen("r0", (legacy, "PERSON"), ("old-mail", "EMAIL_ADDRESS"))
    person = person_of([JEANNE, legacy], sightings)
    assert set(person.acted_on) == {JEANNE, legacy, MAIL, PHONE, "old-mail"}
    assert not person.ambiguous
