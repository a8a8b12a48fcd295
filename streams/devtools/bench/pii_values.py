"""Random personal values for labelled benchmark prompts: Faker for names, e-mail addresses,
phones, IBANs, cards and IPs; national identifiers built with their own check digits
(python-stdnum where it has the algorithm)."""

from __future__ import annotations

import random
import string
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta

import phonenumbers
from faker import Faker
from stdnum import iban, luhn
from stdnum.fr import nir
from stdnum.is_ import kennitala
from stdnum.ua import rntrc

from streams.adapters.recognizers import ua_unzr, uy_cedula

PHONE_REGION = {"en": "GB", "fr": "FR", "es": "ES", "uk": "UA", "is": "IS"}
IBAN_COUNTRY = {"en": "GB", "fr": "FR", "es": "ES", "uk": "UA", "is": "IS"}
IBAN_BBAN_LENGTH = {"GB": 18, "FR": 23, "ES": 20, "UA": 25, "IS": 22, "BE": 12, "DE": 18}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


def birth_date(rng: random.Random) -> date:
    return date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))


class Values:
    """Values for one language, reproducible from a seed."""

    def __init__(self, language: str, faker_locale: str, seed: int) -> None:
        self.language = language
        self.rng = random.Random(seed)
        self.faker = Faker(faker_locale)
        self.faker.seed_instance(seed)

    def person(self) -> str:
        first, last = self.faker.first_name(), self.faker.last_name()
        return f"{first} {last}"

    def email(self) -> str:
        user = _ascii(self.faker.first_name()) + self.rng.choice([".", "_", ""]) + _ascii(
            self.faker.last_name())
        domain = self.rng.choice(["example.org", "mail.example.com", "example.fr",
                                  "posteo.example.net", "gov.example.is"])
        if len(user) < 4:  # a name in another script: Faker's transliterated user name
            user = _ascii(self.faker.user_name()) or f"contact{_digits(self.rng, 3)}"
        return f"{user}@{domain}"

    def phone(self) -> str:
        region = PHONE_REGION[self.language]
        if self.rng.random() < 0.5:
            return self._phone_like_example(region)
        for _ in range(50):
            candidate = self.faker.phone_number()
            try:
                parsed = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            national = phonenumbers.format_number(parsed,
                                                  phonenumbers.PhoneNumberFormat.NATIONAL)
            written = "".join(c for c in candidate if c.isdigit())
            # valid, and dialable as written (not a US-style number that is only valid in the
            # region without its trunk prefix), without an extension
            if phonenumbers.is_valid_number(parsed) and "x" not in candidate.lower() and (
                    candidate.startswith(("+", "00")) or
                    written == "".join(c for c in national if c.isdigit())):
                return candidate
        example = phonenumbers.example_number_for_type(region,
                                                       phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None, region
        style = self.rng.choice([phonenumbers.PhoneNumberFormat.NATIONAL,
                                 phonenumbers.PhoneNumberFormat.INTERNATIONAL])
        return str(phonenumbers.format_number(example, style))

    def _phone_like_example(self, region: str) -> str:
        kind = self.rng.choice([phonenumbers.PhoneNumberType.MOBILE,
                                phonenumbers.PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        assert example is not None, region
        national = str(example.national_number)
        for _ in range(50):
            candidate = phonenumbers.parse(
                f"+{example.country_code}{national[:-4]}{_digits(self.rng, 4)}", None)
            if phonenumbers.is_valid_number(candidate):
                example = candidate
                break
        style = self.rng.choice([phonenumbers.PhoneNumberFormat.NATIONAL,
                                 phonenumbers.PhoneNumberFormat.INTERNATIONAL])
        return str(phonenumbers.format_number(example, style))

    def iban(self) -> str:
        country = IBAN_COUNTRY[self.language] if self.rng.random() < 0.6 else self.rng.choice(
            ["ES", "BE", "DE", "FR"])
        bban = _digits(self.rng, IBAN_BBAN_LENGTH[country])
        if country == "GB":  # a 4-letter bank code, then sort code and account number
            bban = "".join(self.rng.choice(string.ascii_uppercase) for _ in range(4)) + bban[4:]
        check = iban.calc_check_digits(country + "00" + bban)
        value = country + check + bban
        if self.rng.random() < 0.7:
            value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def card(self) -> str:
        number = str(self.faker.credit_card_number())
        if self.rng.random() < 0.6 and len(number) == 16:
            sep = self.rng.choice([" ", "-"])
            number = sep.join(number[i : i + 4] for i in range(0, 16, 4))
        return number

    def ip(self) -> str:
        return str(self.faker.ipv4() if self.rng.random() < 0.8 else self.faker.ipv6())

    def fr_nir(self) -> str:
        born = birth_date(self.rng)
        department = self.rng.choice(["75", "69", "13", "2A", "2B", "33", "59", "06"])
        body = (self.rng.choice("12") + f"{born.year % 100:02d}{born.month:02d}" + department
                + _digits(self.rng, 3) + f"{self.rng.randrange(1, 999):03d}")
        value = body + nir.calc_check_digits(body)
        if self.rng.random() < 0.6:
            value = " ".join([value[0], value[1:3], value[3:5], value[5:7], value[7:10],
                              value[10:13], value[13:]])
        return value

    def fr_siren(self) -> str:
        body = self.rng.choice("123456789") + _digits(self.rng, 7)
        value = body + luhn.calc_check_digit(body)
        return f"{value[:3]} {value[3:6]} {value[6:]}" if self.rng.random() < 0.6 else value

    def fr_siret(self) -> str:
        siren = self.fr_siren().replace(" ", "")
        body = siren + f"{self.rng.randrange(1, 999):04d}"
        value = body + luhn.calc_check_digit(body)
        if self.rng.random() < 0.6:
            return f"{value[:3]} {value[3:6]} {value[6:9]} {value[9:]}"
        return value

    def is_kennitala(self) -> str:
        while True:  # one serial in eleven has no valid check digit: draw another
            born = birth_date(self.rng)
            body = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}" + _digits(self.rng, 2)
            century = "9" if born.year < 2000 else "0"
            for check in "0123456789":
                value = body + check + century
                if kennitala.is_valid(value):
                    return f"{value[:6]}-{value[6:]}" if self.rng.random() < 0.8 else value

    def uy_ci(self) -> str:
        body = str(self.rng.randrange(1_000_000, 6_999_999))
        check = uy_cedula.check_digit(body)
        style = self.rng.random()
        if style < 0.6:
            return f"{body[0]}.{body[1:4]}.{body[4:]}-{check}"
        if style < 0.8:
            return f"{body}-{check}"
        return body + check

    def ua_rnokpp(self) -> str:
        days = (birth_date(self.rng) - date(1899, 12, 31)).days
        body = f"{days:05d}" + _digits(self.rng, 4)
        return body + rntrc.calc_check_digit(body)

    def ua_unzr(self) -> str:
        born = birth_date(self.rng)
        body = f"{born.year:04d}{born.month:02d}{born.day:02d}" + _digits(self.rng, 4)
        return f"{body[:8]}-{body[8:]}{ua_unzr.check_digit(body)}"

    def ua_passport(self) -> str:
        if self.rng.random() < 0.5:
            series = "".join(self.rng.choice("АВЕКМНОРСТЮ") for _ in range(2))
            return f"{series} {_digits(self.rng, 6)}" if self.rng.random() < 0.6 else \
                f"{series}{_digits(self.rng, 6)}"
        return "00" + _digits(self.rng, 7)


GENERATORS: dict[str, Callable[[Values], str]] = {
    "PERSON": Values.person,
    "EMAIL_ADDRESS": Values.email,
    "PHONE_NUMBER": Values.phone,
    "IBAN_CODE": Values.iban,
    "CREDIT_CARD": Values.card,
    "IP_ADDRESS": Values.ip,
    "FR_NIR": Values.fr_nir,
    "FR_SIREN": Values.fr_siren,
    "FR_SIRET": Values.fr_siret,
    "IS_KENNITALA": Values.is_kennitala,
    "UY_CI": Values.uy_ci,
    "UA_RNOKPP": Values.ua_rnokpp,
    "UA_UNZR": Values.ua_unzr,
    "UA_PASSPORT": Values.ua_passport,
}
