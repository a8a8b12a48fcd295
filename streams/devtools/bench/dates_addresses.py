"""``douane bench dates-addresses``: dates of birth and street addresses, measured on values
nobody on this project wrote.

The values come from Faker: ``date_of_birth()`` and ``street_address()`` / ``address()`` of
the en_US, en_GB, fr_FR, es_ES and es_MX locales (the prose around them is Faker's
``sentence()`` of the language's locale; Faker's Icelandic sentences are Latin filler). Only
the frame that joins a value to the prose is ours, and it is kept minimal: for a date of
birth, the birth context itself ("born on", "né le", "Fecha de nacimiento:"), since a date
without one is not a date of birth; for an address, either nothing (the address on a line of
its own, as in a letter), a label ("Address:") or a verb ("lives at"). Dates are written as
people write them: day/month/year, day.month.year, ISO, month/day/year (en_US), and with the
month's name (French and Spanish month names from Faker; English, Ukrainian and Icelandic
ones written here).

Scored like ``bench pii`` (a value counts as found when findings of its type cover 80 % of
its characters; ``leaked`` counts values no finding of any type covers), per language and
locale, and the over-redaction: the same kind of prompts holding dates *without* a birth
context (meetings, deadlines, invoices) and address-like text that is none ("Chapter 12
Street Fighter"), where any DATE_OF_BIRTH or STREET_ADDRESS found is a false positive.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from streams.config import Settings

if TYPE_CHECKING:  # Faker and the benchmark's data: imported only when the bench runs
    from faker import Faker

    from streams.devtools.bench.pii_data import LabelledPrompt

ADDRESS_LOCALES = {"en_US": "en", "en_GB": "en", "fr_FR": "fr", "es_ES": "es", "es_MX": "es"}
DATE_LOCALES = {"en": "en_US", "fr": "fr_FR", "es": "es_ES", "uk": "uk_UA", "is": "is_IS"}
TYPES = ("DATE_OF_BIRTH", "STREET_ADDRESS")

# Our frames, kept minimal (see the module's docstring).
ADDRESS_FRAMES = {
    "en": ("\n{}\n", "Address: {}.", "She lives at {}."),
    "fr": ("\n{}\n", "Adresse : {}.", "Il habite {}."),
    "es": ("\n{}\n", "Dirección: {}.", "Vive en {}."),
}
BIRTH_FRAMES = {
    "en": ("Born on {}.", "Date of birth: {}.", "DOB {}."),
    "fr": ("Né le {}.", "Née le {}.", "Date de naissance : {}."),
    "es": ("Nacido el {}.", "Nacida el {}.", "Fecha de nacimiento: {}."),
    "uk": ("Народився {}.", "Народилася {}.", "Дата народження: {}."),
    "is": ("Fæddur {}.", "Fædd {}.", "Fæðingardagur: {}."),
}
OTHER_DATE_FRAMES = {
    "en": ("The committee met on {}.", "Deadline: {}.", "Invoice dated {}.", "Signed on {}."),
    "fr": ("Le comité s'est réuni le {}.", "Date limite : {}.", "Facture du {}."),
    "es": ("El comité se reunió el {}.", "Plazo: {}.", "Factura del {}."),
    "uk": ("Засідання відбулося {}.", "Термін: {}.", "Рахунок від {}."),
    "is": ("Fundurinn var haldinn {}.", "Frestur: {}.", "Reikningur dags. {}."),
}
# Address-like text that is no address (our own, as in the brief's examples)
NOT_ADDRESSES = {
    "en": ("Read Chapter 12 Street Fighter tactics.", "On 12 March the committee met.",
           "We sold 40 Union Jack flags.", "Page 3 Main Points of the report."),
    "fr": ("Le 12 mars la commission s'est réunie.", "Les 3 rues du centre sont fermées.",
           "Voir la page 4 Place des femmes dans la recherche."),
    "es": ("El 12 de marzo se reunió el comité.", "La Calle Mayor tiene 3 tiendas.",
           "En 2023 la Plaza Mayor fue renovada."),
}
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
UKRAINIAN_MONTHS = ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня",
                    "серпня", "вересня", "жовтня", "листопада", "грудня")
ICELANDIC_MONTHS = ("janúar", "febrúar", "mars", "apríl", "maí", "júní", "júlí", "ágúst",
                    "september", "október", "nóvember", "desember")


def written_dates(day: date, language: str, faker: Faker) -> list[str]:
    """The ways ``day`` is commonly written in ``language``."""
    d, m, y = day.day, day.month, day.year
    forms = [f"{d:02d}/{m:02d}/{y}", f"{d}.{m}.{y}", day.isoformat()]
    if language == "en":
        month = ENGLISH_MONTHS[m - 1]
        forms += [f"{m}/{d}/{y}", f"{d} {month} {y}", f"{month} {d}, {y}"]
    elif language in ("fr", "es"):
        month = _faker_month(faker, m)
        forms += [f"{d} {month} {y}" if language == "fr" else f"{d} de {month} de {y}"]
    elif language == "uk":
        forms += [f"{d} {UKRAINIAN_MONTHS[m - 1]} {y} року", f"{d:02d}.{m:02d}.{y} р."]
    elif language == "is":
        forms += [f"{d}. {ICELANDIC_MONTHS[m - 1]} {y}"]
    return forms


def _faker_month(faker: Faker, month: int) -> str:
    """The month's name as Faker's locale writes it (lower case, as French and Spanish write
    it in a date)."""
    names = getattr(faker.provider("faker.providers.date_time"), "MONTH_NAMES", None)
    if not names:
        return ENGLISH_MONTHS[month - 1]
    return str(names[f"{month:02d}"]).lower()


@dataclass(frozen=True)
class Load:
    name: str
    language: str
    prompts: list[LabelledPrompt]


def _prompt(faker: Faker, rng: random.Random, language: str, planted: str | None,
            frame: str, entity: str) -> LabelledPrompt:
    from streams.devtools.bench.pii_data import LabelledPrompt, Span

    before = " ".join(faker.sentence() for _ in range(rng.randint(1, 4)))
    after = " ".join(faker.sentence() for _ in range(rng.randint(1, 4)))
    text = f"{before} "
    spans: list[Span] = []
    head, _, tail = frame.partition("{}")
    text += head
    if planted is not None:
        spans.append(Span(entity, len(text), len(text) + len(planted)))
        text += planted
    text += tail + f" {after}"
    return LabelledPrompt(language, text, tuple(spans))


def address_loads(count: int, seed: int) -> list[Load]:
    from faker import Faker

    loads = []
    for locale, language in ADDRESS_LOCALES.items():
        faker = Faker(locale)
        faker.seed_instance(f"addresses/{locale}/{seed}")
        rng = random.Random(f"addresses/{locale}/{seed}")
        prompts = []
        for i in range(count):
            frame = ADDRESS_FRAMES[language][i % len(ADDRESS_FRAMES[language])]
            value = faker.street_address() if i % 2 else faker.address()
            if "\n" not in frame:  # inside a sentence, lines become commas
                value = ", ".join(part.strip() for part in value.split("\n"))
            prompts.append(_prompt(faker, rng, language, value.strip(), frame,
                                   "STREET_ADDRESS"))
        loads.append(Load(f"addresses {locale}", language, prompts))
    return loads


def birth_loads(count: int, seed: int) -> list[Load]:
    from faker import Faker

    loads = []
    for language, locale in DATE_LOCALES.items():
        faker = Faker(locale)
        faker.seed_instance(f"births/{language}/{seed}")
        rng = random.Random(f"births/{language}/{seed}")
        prompts = []
        for i in range(count):
            frame = BIRTH_FRAMES[language][i % len(BIRTH_FRAMES[language])]
            forms = written_dates(faker.date_of_birth(), language, faker)
            prompts.append(_prompt(faker, rng, language, rng.choice(forms), frame,
                                   "DATE_OF_BIRTH"))
        loads.append(Load(f"dates of birth {language} ({locale})", language, prompts))
    return loads


def negative_loads(count: int, seed: int) -> list[Load]:
    """Prompts without any date of birth or address: any finding of the two types is false."""
    from faker import Faker

    loads = []
    for language, locale in DATE_LOCALES.items():
        faker = Faker(locale)
        faker.seed_instance(f"negatives/{language}/{seed}")
        rng = random.Random(f"negatives/{language}/{seed}")
        prompts = []
        for i in range(count):
            frames = OTHER_DATE_FRAMES[language]
            frame = frames[i % len(frames)]
            forms = written_dates(faker.date_between("-30y", "+2y"), language, faker)
            text = frame.replace("{}", rng.choice(forms))
            if language in NOT_ADDRESSES and i % 2:
                text += " " + rng.choice(NOT_ADDRESSES[language])
            prompts.append(_prompt(faker, rng, language, None, text, ""))
        loads.append(Load(f"no birth date, no address {language}", language, prompts))
    return loads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=200,
                        help="prompts per locale (addresses) or language (dates; default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-score", type=float, default=0.5,
                        help="a finding below this score is not counted (policy min_score)")
    parser.add_argument("--show", type=int, default=0, help="missed values to print per load")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import BATCH, COVERAGE, Scores, _coverage, score

    detector = PresidioDetector(tuple(DATE_LOCALES), phone_regions=settings.phone_regions)
    rules = {entity: EntityRule(min_score=args.min_score) for entity in detector.entities}
    print(f"douane bench dates-addresses - {args.count} prompts per load, seed {args.seed}, "
          f"min score {args.min_score}, every entity type, language detected (not given)")
    print(f"{'load':34} {'entity':14} {'n':>5} {'precision':>9} {'recall':>7} "
          f"{'F2':>6} {'leaked':>6}")
    for load in [*address_loads(args.count, args.seed), *birth_loads(args.count, args.seed),
                 *negative_loads(args.count, args.seed)]:
        scores, missed = Scores(), list[str]()
        for start in range(0, len(load.prompts), BATCH):
            chunk = load.prompts[start : start + BATCH]
            detections = detector.detect_batch(
                [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
            for prompt, detection in zip(chunk, detections, strict=True):
                # every type the detector finds counts against a leak, as in the pipeline
                findings = select_findings(detection.findings, rules)
                score(prompt, findings, scores)
                missed.extend(
                    repr(prompt.text[g.start:g.end]) for g in prompt.spans
                    if _coverage(prompt.text, g, [f for f in findings
                                                  if f.entity_type == g.entity_type]) < COVERAGE)
        if not any(p.spans for p in load.prompts):
            print(f"{load.name:34} false positives in {len(load.prompts)} prompts: " + ", ".join(
                f"{t} {scores.by_entity[t].fp}" for t in TYPES))
            continue
        for entity in TYPES:
            c = scores.by_entity[entity]
            if c.tp + c.fn or c.fp:
                print(f"{load.name:34} {entity:14} {c.tp + c.fn:>5} {c.precision:>9.3f} "
                      f"{c.recall:>7.3f} {c.f2:>6.3f} {c.leaked:>6}")
        for value in missed[: args.show]:
            print(f"   missed: {value}")
    return 0
