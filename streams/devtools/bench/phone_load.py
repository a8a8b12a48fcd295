"""``douane bench phones``: a generated load of phone numbers written in every common way, and
how many of them would reach the model.

For each region of ``DOUANE_PHONE_REGIONS`` (default FR, ES, UA, IS, UY, GB, US), random valid
mobile and fixed-line numbers (libphonenumber's example number with its last digits redrawn
until valid) are written in national and international forms - as libphonenumber formats
them, dashed, dotted, spaced, without separators, with the area code in parentheses, with
00 or + and the trunk "(0)" - and planted in sentences of the five languages, with and without
a context word, at the end of a sentence, in parentheses, before a comma. The prompts go
through the whole detector (every entity type, language detected, the pipeline's selection);
a planted value not covered by a finding of any type is a leak. Not a timed test: the count
of leaks, per region and writing style, is the result.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass

import phonenumbers
import regex
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from streams.config import Settings

KINDS: tuple[int, ...] = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
SENTENCES = {
    "en": ["Please call {} before Friday.", "My number is {}, thanks.",
           "You can reach Mr Smith on {}.", "The form lists {} as the contact (mobile {}).",
           "Text me at {} or {}.", "Contact: {}", "phone: {}; fax: {}"],
    "fr": ["Rappelez-moi au {} avant vendredi.", "Mon numéro est le {}, merci.",
           "Le dossier indique {} comme contact (portable {}).", "Tél. : {}",
           "Vous pouvez joindre le service au {} ou au {}."],
    "es": ["Llámeme al {} antes del viernes.", "Mi número es el {}, gracias.",
           "El formulario indica {} como contacto (móvil {}).", "Tel.: {}",
           "Puede escribir al {} o al {}."],
    "uk": ["Зателефонуйте мені за номером {} до пʼятниці.", "Мій номер {}, дякую.",
           "У заяві вказано {} як контакт (мобільний {}).", "Тел.: {}"],
    "is": ["Hringdu í mig í síma {} fyrir föstudag.", "Númerið mitt er {}, takk.",
           "Hafðu samband í {} eða {}.", "Sími: {}"],
}
FILLER = {
    "en": "The office is open on weekdays and answers within two working days.",
    "fr": "Le service est ouvert en semaine et répond sous deux jours ouvrés.",
    "es": "La oficina abre entre semana y responde en dos días hábiles.",
    "uk": "Установа працює в робочі дні й відповідає протягом двох днів.",
    "is": "Skrifstofan er opin á virkum dögum og svarar innan tveggja daga.",
}


def writing_styles(number: phonenumbers.PhoneNumber) -> dict[str, str]:
    """The ways people write this number: national and international, dashed, dotted, spaced,
    without separators, parenthesised area code, trunk prefix in parentheses."""
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    code = str(number.country_code)
    national_groups = regex.findall(r"\d+", national)
    international_groups = regex.findall(r"\d+", international)[1:]
    styles = {
        "national": national,
        "international": international,
        "e164": phonenumbers.format_number(number, PhoneNumberFormat.E164),
        "national-plain": "".join(national_groups),
    }
    for name, separator in (("dashed", "-"), ("dotted", "."), ("spaced", " ")):
        styles[f"national-{name}"] = separator.join(national_groups)
        styles[f"international-{name}"] = f"+{code}{separator}" + separator.join(
            international_groups)
        styles[f"00-{name}"] = f"00{code}{separator}" + separator.join(international_groups)
    if len(national_groups) > 2:
        first, *rest = national_groups
        styles["national-parenthesised"] = f"({first}) " + " ".join(rest)
        styles["national-parenthesised-dashed"] = f"({first}) " + "-".join(rest)
    if national_groups[0].startswith("0") and len(national_groups[0]) > 1:
        styles["international-trunk"] = f"+{code} (0)" + " ".join(
            [national_groups[0][1:], *national_groups[1:]])
    # North America: 1-646-292-7259, +1 (646) 292-7259; only with an area code (a number of
    # seven digits, "310-1234" in Canada, "555-0123" dialled locally, has two groups and is
    # never written after a "1")
    if code == "1" and len(national_groups) == 3:
        styles["national-1-dashed"] = "1-" + "-".join(national_groups)
        area, exchange, line = national_groups
        styles["international-parenthesised"] = f"+1 ({area}) {exchange}-{line}"
    return styles


def _national_groups(number: phonenumbers.PhoneNumber) -> list[str]:
    return list(regex.findall(r"\d+",
                              phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)))


def example_number(region: str, kind: int) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        raise ValueError(f"libphonenumber has no example number for region {region!r}")
    return example


def random_number(region: str, kind: int, rng: random.Random) -> phonenumbers.PhoneNumber:
    """A valid number of this region and kind: the example number, last digits redrawn."""
    example = example_number(region, kind)
    significant = phonenumbers.national_significant_number(example)
    for _ in range(200):
        keep = max(2, len(significant) - 5)
        digits = significant[:keep] + "".join(rng.choice("0123456789")
                                              for _ in range(len(significant) - keep))
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}", None)
        if phonenumbers.is_valid_number(candidate) and phonenumbers.number_type(candidate) in (
                kind, PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return candidate
    return example


def unallocated_number(region: str, kind: int,
                       rng: random.Random) -> phonenumbers.PhoneNumber | None:
    """A number of this region's length that its numbering plan does not allocate: a typo, a
    new range libphonenumber does not know yet, a number made up for a form. The person who
    wrote it meant a phone number, so it must not reach the model either."""
    example = example_number(region, kind)
    length = len(phonenumbers.national_significant_number(example))
    groups = len(_national_groups(example))
    for _ in range(10_000):
        # the first digit as a trunk-prefixed national number can hold it (not 0: "00" is an
        # international prefix in most regions)
        digits = rng.choice("123456789") + "".join(rng.choice("0123456789")
                                                   for _ in range(length - 1))
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}", None)
        # grouped as the region's numbers are (people write a made-up number the way they write
        # their own), which libphonenumber does only for digits a range of the plan begins with
        if phonenumbers.is_possible_number(candidate) \
                and not phonenumbers.is_valid_number(candidate) \
                and len(_national_groups(candidate)) == groups:
            return candidate
    return None  # the plan allocates (nearly) every number of this shape (UA's mobiles)


@dataclass(frozen=True)
class Planted:
    region: str
    style: str
    start: int
    end: int


@dataclass(frozen=True)
class PhonePrompt:
    language: str
    text: str
    planted: tuple[Planted, ...]


def generate(regions: tuple[str, ...], count: int, seed: int,
             unallocated: bool = False) -> list[PhonePrompt]:
    """Prompts holding at least ``count`` planted numbers, every region x kind x style in turn;
    with ``unallocated``, numbers of the right length that no range of the plan holds."""
    rng = random.Random(f"phones/{seed}" + ("/unallocated" if unallocated else ""))
    draw = unallocated_number if unallocated else random_number
    cases = [(region, kind, style) for region in regions for kind in KINDS
             for style in writing_styles(example_number(region, kind))]
    values: list[tuple[str, str, str]] = []
    while len(values) < count:
        before = len(values)
        for region, kind, style in cases:
            number = draw(region, kind, rng)
            styles = writing_styles(number) if number is not None else {}
            if style in styles:
                values.append((region, style, styles[style]))
        if len(values) == before:
            raise ValueError(f"no number could be drawn for regions {','.join(regions)}")
    rng.shuffle(values)
    prompts = []
    while values:
        language = rng.choice(list(SENTENCES))
        template = rng.choice(SENTENCES[language])
        slots = template.count("{}")
        chosen, values = values[:slots], values[slots:]
        if len(chosen) < slots:
            template = "{}" + " " + FILLER[language]
        text, planted = "", []
        pieces = template.split("{}")
        for i, piece in enumerate(pieces):
            text += piece
            if i < len(chosen):
                region, style, written = chosen[i]
                planted.append(Planted(region, style, len(text), len(text) + len(written)))
                text += written
        prompts.append(PhonePrompt(language, f"{FILLER[language]} {text}",
                                   tuple(_shift(p, len(FILLER[language]) + 1) for p in planted)))
    return prompts


def _shift(planted: Planted, offset: int) -> Planted:
    return Planted(planted.region, planted.style, planted.start + offset, planted.end + offset)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=2100,
                        help="planted phone numbers (default 2100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=20, help="leaked values to print")
    parser.add_argument("--unallocated", action="store_true",
                        help="numbers of the right length that the numbering plans do not "
                             "allocate (typos, new ranges, numbers made up for a form)")


def run_phone_load(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import BATCH

    regions = tuple(settings.phone_regions)
    prompts = generate(regions, args.count, args.seed, args.unallocated)
    detector = PresidioDetector(tuple(SENTENCES), phone_regions=regions)
    rules = {entity: EntityRule(min_score=0.5) for entity in detector.entities}
    planted: Counter[tuple[str, str]] = Counter()
    leaked: Counter[tuple[str, str]] = Counter()
    examples: list[str] = []
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
        for prompt, detection in zip(chunk, detections, strict=True):
            findings = select_findings(detection.findings, rules)
            for value in prompt.planted:
                planted[(value.region, value.style)] += 1
                covered = {i for f in findings for i in range(f.start, f.end)}
                wanted = {i for i in range(value.start, value.end)
                          if not prompt.text[i].isspace()}
                if not wanted <= covered:
                    leaked[(value.region, value.style)] += 1
                    if len(examples) < args.show:
                        examples.append(f"  [{detection.language}] {value.region} {value.style}: "
                                        f"{prompt.text[value.start:value.end]!r} in "
                                        f"{prompt.text[max(0, value.start - 30):value.end + 10]!r}")
    total, lost = sum(planted.values()), sum(leaked.values())
    kind = "unallocated " if args.unallocated else ""
    print(f"douane bench phones - {total} planted {kind}numbers in {len(prompts)} prompts, regions "
          f"{','.join(regions)}, {len({s for _, s in planted})} writing styles, seed {args.seed}")
    print(f"{'region':6} {'planted':>7} {'leaked':>6}")
    for region in regions:
        n = sum(c for (r, _), c in planted.items() if r == region)
        print(f"{region:6} {n:>7} {sum(c for (r, _), c in leaked.items() if r == region):>6}")
    print(f"{'ALL':6} {total:>7} {lost:>6}")
    if lost:
        print("leaked by style: " + ", ".join(
            f"{region} {style} {count}" for (region, style), count in leaked.most_common()))
        print("examples (synthetic numbers):")
        print("\n".join(examples))
    return 0 if lost == 0 else 1
