"""The recognizers douane adds to Presidio: one identifier per module, validated by checksum
where the identifier has one (python-stdnum where it covers it), with context words in the
languages douane speaks.

``build_recognizers`` makes the set a policy asks for: only the entity types it names, and
phone numbers only for the deployment's regions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from presidio_analyzer import EntityRecognizer

from streams.adapters.recognizers.credit_card import DouaneCreditCardRecognizer
from streams.adapters.recognizers.date_of_birth import DateOfBirthRecognizer
from streams.adapters.recognizers.email import DouaneEmailRecognizer
from streams.adapters.recognizers.fr_nir import FrNirRecognizer
from streams.adapters.recognizers.fr_siren import FrSirenRecognizer
from streams.adapters.recognizers.fr_siret import FrSiretRecognizer
from streams.adapters.recognizers.iban import DouaneIbanRecognizer
from streams.adapters.recognizers.ip import DouaneIpRecognizer
from streams.adapters.recognizers.is_kennitala import IsKennitalaRecognizer
from streams.adapters.recognizers.phone import DEFAULT_REGIONS, DouanePhoneRecognizer
from streams.adapters.recognizers.street_address import StreetAddressRecognizer
from streams.adapters.recognizers.ua_passport import UaPassportRecognizer
from streams.adapters.recognizers.ua_rntrc import UaRntrcRecognizer
from streams.adapters.recognizers.ua_unzr import UaUnzrRecognizer
from streams.adapters.recognizers.url import DouaneUrlRecognizer
from streams.adapters.recognizers.uy_cedula import UyCedulaRecognizer

PatternFactory = Callable[[str, Sequence[str]], EntityRecognizer]

PATTERN_RECOGNIZERS: dict[str, PatternFactory] = {
    "EMAIL_ADDRESS": lambda lang, _: DouaneEmailRecognizer(lang),
    "PHONE_NUMBER": lambda lang, regions: DouanePhoneRecognizer(lang, regions),
    "IBAN_CODE": lambda lang, _: DouaneIbanRecognizer(lang),
    "CREDIT_CARD": lambda lang, _: DouaneCreditCardRecognizer(lang),
    "IP_ADDRESS": lambda lang, _: DouaneIpRecognizer(lang),
    "URL": lambda lang, _: DouaneUrlRecognizer(lang),
    "FR_NIR": lambda lang, _: FrNirRecognizer(lang),
    "FR_SIREN": lambda lang, _: FrSirenRecognizer(lang),
    "FR_SIRET": lambda lang, _: FrSiretRecognizer(lang),
    "IS_KENNITALA": lambda lang, _: IsKennitalaRecognizer(lang),
    "UY_CI": lambda lang, _: UyCedulaRecognizer(lang),
    "UA_RNOKPP": lambda lang, _: UaRntrcRecognizer(lang),
    "UA_UNZR": lambda lang, _: UaUnzrRecognizer(lang),
    "UA_PASSPORT": lambda lang, _: UaPassportRecognizer(lang),
    "DATE_OF_BIRTH": lambda lang, _: DateOfBirthRecognizer(lang),
    "STREET_ADDRESS": lambda lang, _: StreetAddressRecognizer(lang),
}
# Found by a spaCy NER model or, for Ukrainian and Icelandic, a name lexicon.
MODEL_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
KNOWN_ENTITIES = tuple(PATTERN_RECOGNIZERS) + MODEL_ENTITIES
GIVEN_NAME_LANGUAGES = ("en", "fr", "es")


def build_recognizers(
    language: str, entities: Iterable[str] | None = None,
    phone_regions: Sequence[str] = DEFAULT_REGIONS, possible_names: bool = False,
) -> list[EntityRecognizer]:
    """The pattern recognizers for one language, limited to ``entities`` when given; the
    possible names only when ``possible_names`` (a policy redacts a PERSON below 0.5)."""
    wanted = set(PATTERN_RECOGNIZERS) if entities is None else set(entities)
    recognizers = [factory(language, phone_regions)
                   for entity, factory in PATTERN_RECOGNIZERS.items() if entity in wanted]
    if "PERSON" in wanted and language in GIVEN_NAME_LANGUAGES:
        # next to spaCy's NER: names of every origin it misses (see given_names.py)
        from streams.adapters.recognizers.given_names import GivenNameRecognizer

        recognizers.append(GivenNameRecognizer(language))
        # a middle initial, a name asked or told, a lower-case list of given names
        # (see name_shapes.py)
        from streams.adapters.recognizers.name_shapes import NameShapeRecognizer

        recognizers.append(NameShapeRecognizer(language))
    if "PERSON" in wanted and language == "en":
        # a name opening a line of comments or chat, by the words after it (English cue
        # words; see line_openers.py)
        from streams.adapters.recognizers.line_openers import LineOpenerRecognizer

        recognizers.append(LineOpenerRecognizer(language))
    if "PERSON" in wanted and language in GIVEN_NAME_LANGUAGES and possible_names:
        # words that may be names, below the default min_score: a policy's choice (see
        # possible_names.py); not built for a policy that would never select them
        from streams.adapters.recognizers.possible_names import PossibleNameRecognizer

        recognizers.append(PossibleNameRecognizer(language))
    return recognizers


def name_recognizer(language: str) -> EntityRecognizer | None:
    """A name-lexicon recognizer for a language without a spaCy NER model, if douane has one."""
    if language == "uk":
        from streams.adapters.recognizers.uk_names import UkNameRecognizer

        return UkNameRecognizer()
    if language == "is":
        from streams.adapters.recognizers.is_names import IsNameRecognizer

        return IsNameRecognizer()
    return None
