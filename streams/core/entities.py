"""The personal-data entity types douane can detect: the vocabulary policies redact by.

A policy naming a type outside this catalogue is refused ("unknown entity type"), because no
detector would ever report it and the rule would silently never apply. The detector adapters
(``streams.adapters.recognizers``) implement exactly these types; a unit test keeps the two in
step, so a new recognizer is added here too.
"""

from __future__ import annotations

ENTITY_TYPES: dict[str, str] = {
    # found by a NER model (or a name lexicon for languages without one)
    "PERSON": "a person's name",
    "LOCATION": "a place: address, city, country",
    "ORGANIZATION": "an organisation's name",
    # pattern recognizers, validated by checksum where the identifier has one
    "EMAIL_ADDRESS": "an e-mail address",
    "PHONE_NUMBER": "a telephone number",
    "IBAN_CODE": "an international bank account number",
    "CREDIT_CARD": "a payment card number (Luhn-checked)",
    "IP_ADDRESS": "an IPv4 or IPv6 address",
    "URL": "a web address",
    "FR_NIR": "French social security number (NIR)",
    "FR_SIREN": "French company number (SIREN)",
    "FR_SIRET": "French establishment number (SIRET)",
    "IS_KENNITALA": "Icelandic national id (kennitala)",
    "UY_CI": "Uruguayan identity card number (cédula de identidad)",
    "UA_RNOKPP": "Ukrainian taxpayer number (RNOKPP)",
    "UA_UNZR": "Ukrainian unique register number (UNZR)",
    "UA_PASSPORT": "Ukrainian passport number",
    # context and shape: a date after a birth context; a house number, street type and name
    "DATE_OF_BIRTH": "a date of birth (a date written after 'born', 'né le', 'DOB'...)",
    "STREET_ADDRESS": "a street address: number, street, flat, postcode and town (en, fr, es)",
}

# "Possible names" (streams/adapters/recognizers/possible_names.py) are PERSON findings at
# these scores, below every shipped min_score: a policy selects them by redacting PERSON from
# one of them, and only then does its detector look for them (they cost about a tenth of
# detection's CPU).
POSSIBLE_NAME_SCORES = (0.35, 0.38)


def known_entity_types() -> frozenset[str]:
    return frozenset(ENTITY_TYPES)


def wants_possible_names(lowest_person_min_score: float | None) -> bool:
    """Whether a policy whose lowest PERSON ``min_score`` is this selects possible names."""
    return lowest_person_min_score is not None and \
        lowest_person_min_score <= max(POSSIBLE_NAME_SCORES)
