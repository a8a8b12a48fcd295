"""``douane bench planted``: a generated load of planted personal data - names of many origins,
e-mail addresses, IBANs, phone numbers - and how many of them would reach the model.

English and French prompts of 50-300 words in seven registers (letters, case notes, chat,
e-mail threads, minutes, forms, complaints: ``planted_prose.py``) hold, seeded:

- **persons** whose given names and surnames come from Faker's locales (a third party: not
  names-dataset, which douane's name lexicon was built from, so the figure is not circular),
  grouped by origin - Arabic (Algeria, Pakistan), Chinese and Japanese (Faker's romanised
  names), Slavic (Polish, Czech, Slovak, Croatian, Slovene; Ukrainian romanised with the
  national transliteration of 2010), Spanish, Portuguese, African (Yoruba, Igbo, Hausa, Zulu,
  Twi, Swahili, Kenyan), Indian, Vietnamese (family name first, with and without its
  diacritics), Turkic, Thai and Indonesian, other European, English and French - written as
  people write them: full name, with a civility title ("Dr.", "Mrs", "Mme", "Maître"), an
  initial, surname first ("COSTA Valentina", "Costa, Valentina"), in lower case in chat, and
  later mentions by surname alone, title and surname, or given name;
- **e-mail addresses** (Faker's, and made of the person's name at Faker's free mail domains,
  with a +tag, in capitals, after ``mailto:``);
- **IBANs** of 14 countries (Faker's), compact and in groups of four;
- **phone numbers** of every region of ``DOUANE_PHONE_REGIONS`` in every writing style of
  ``douane bench phones``.

Each prompt goes through what the worker does: the shipped policy's detector
(``detector_for_policy``), language detected, then the decision and its redaction plan for a
tenant and purpose (default: city-of-lyon, casework: the baseline rules). A planted value
*leaks* when any of its letters or digits is outside what the redaction replaced (a given
name left beside a replaced surname leaks). The leaks listed are generated values, printed on
this command's standard output only.
"""

from __future__ import annotations

import argparse
import random
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streams.config import Settings
from streams.devtools.bench.planted_prose import REGISTERS, TITLES, Pools
from streams.devtools.bench.planted_prose_fr import FORMS, REGISTERS_FR, french_phone

if TYPE_CHECKING:  # Faker: imported only when the bench runs
    from faker import Faker

LANGUAGES = ("en", "fr")
# ``--language``: "mixed" (the default) is the load every figure before the French load was
# measured on, English and French prompts drawn at random, seeded as before; "en" its English
# prompts only; "fr" the French load (``planted_prose_fr.py``), whose phone numbers are French
# ones in every common writing (``FRENCH_PHONE_SHARE``), the others from every region
LOAD_LANGUAGES = ("mixed", "en", "fr")
FRENCH_PHONE_SHARE = 0.75
ORIGINS: dict[str, tuple[str, ...]] = {
    "arabic": ("fr_DZ", "en_PK"),
    "chinese": ("zh_CN", "zh_TW"),
    "japanese": ("ja_JP",),
    "slavic": ("pl_PL", "cs_CZ", "sk_SK", "hr_HR", "sl_SI"),
    "ukrainian": ("uk_UA",),
    "spanish": ("es_ES", "es_MX", "es_AR", "es_CO", "es_CL"),
    "portuguese": ("pt_BR", "pt_PT"),
    "african": ("yo_NG", "ig_NG", "ha_NG", "zu_ZA", "tw_GH", "sw", "en_KE"),
    "indian": ("en_IN",),
    "vietnamese": ("vi_VN",),
    "turkic": ("tr_TR", "az_AZ", "uz_UZ"),
    "thai-indonesian": ("en_TH", "id_ID"),
    "european": ("it_IT", "de_DE", "ro_RO", "nl_NL", "lt_LT"),
    "english": ("en_US", "en_GB", "en_IE", "en_AU"),
    "french": ("fr_FR", "fr_CH", "fr_BE"),
}
ROMANISED = ("zh_CN", "zh_TW", "ja_JP")  # Faker's first/last_romanized_name
IBAN_LOCALES = ("fr_FR", "es_ES", "de_DE", "it_IT", "nl_NL", "pt_PT", "en_GB", "pl_PL",
                "nl_BE", "de_AT", "cs_CZ", "ro_RO", "fi_FI", "uk_UA")
EMAIL_STYLES = ("faker", "name", "initial", "name-digits", "plus-tag", "capitals", "mailto")
# first mentions by register: (form, weight)
FIRST_FORMS: dict[str, tuple[tuple[str, int], ...]] = {
    "letter": (("full", 3), ("title-full", 3), ("title-surname", 3), ("initial", 1)),
    "casenote": (("full", 4), ("title-full", 2), ("initial", 1), ("surname-first", 2),
                 ("title-surname", 1)),
    "chat": (("full", 5), ("given", 2), ("title-surname", 1)),
    "email": (("full", 7), ("surname-first", 1), ("title-full", 2)),
    "minutes": (("full", 4), ("title-full", 2), ("initial", 2), ("surname-first", 2)),
    "form": (("full", 5), ("surname-first", 4), ("title-full", 1)),
    "narrative": (("full", 5), ("title-full", 3), ("initial", 2)),
}
LATER_FORMS: dict[str, tuple[tuple[str, int], ...]] = {
    "chat": (("given", 6), ("full", 2), ("surname", 2)),
    "other": (("surname", 35), ("title-surname", 35), ("given", 20), ("full", 10)),
}
# Ukrainian romanisation, Cabinet of Ministers resolution 55 of 2010 (the passport one)
UKRAINIAN_LATIN = dict(zip(
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'’",
    ["a", "b", "v", "h", "g", "d", "e", "ie", "zh", "z", "y", "i", "i", "i", "k", "l", "m", "n",
     "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "iu", "ia", "",
     ""], strict=True))
UKRAINIAN_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}


def ukrainian_latin(name: str) -> str:
    """``name`` in Latin letters as a Ukrainian passport writes it ("Олексій" -> "Oleksii")."""
    out = []
    for i, letter in enumerate(name):
        lower = letter.lower()
        at_start = i == 0 or not name[i - 1].isalpha()
        latin = (UKRAINIAN_INITIAL.get(lower) if at_start else None) or UKRAINIAN_LATIN.get(
            lower, letter)
        if lower == "г" and i > 0 and name[i - 1].lower() == "з":
            latin = "gh"  # "зг" is "zgh", never "zh"
        out.append(latin.capitalize() if letter.isupper() else latin)
    return "".join(out)


def ascii_fold(text: str) -> str:
    """Without diacritics, as names are often typed on an English keyboard."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


@dataclass(frozen=True)
class Person:
    origin: str
    locale: str
    given: str
    surname: str
    gender: str  # "m", "f" or "any"
    family_first: bool = False  # Vietnamese, and Chinese written the Chinese way

    @property
    def full(self) -> str:
        return f"{self.surname} {self.given}" if self.family_first else \
            f"{self.given} {self.surname}"


@dataclass(frozen=True)
class Planted:
    entity: str  # PERSON, EMAIL_ADDRESS, IBAN_CODE, PHONE_NUMBER
    group: str  # a person's origin, an e-mail's style, an IBAN's country, a phone's region
    form: str  # how it is written
    start: int
    end: int


@dataclass(frozen=True)
class PlantedPrompt:
    language: str
    register: str
    text: str
    planted: tuple[Planted, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass
class Generator:
    seed: int
    phone_regions: tuple[str, ...]
    language: str = "mixed"
    rng: random.Random = field(init=False)
    fakers: dict[str, Faker] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # the mixed load keeps its seeding: the figures of seeds 1-11 stay reproducible
        self.rng = random.Random(f"planted/{self.seed}" if self.language == "mixed"
                                 else f"planted/{self.language}/{self.seed}")

    def registers(self) -> dict[str, dict[str, Pools]]:
        return REGISTERS_FR if self.language == "fr" else REGISTERS

    def faker(self, locale: str) -> Faker:
        if locale not in self.fakers:
            from faker import Faker

            made = Faker(locale)
            made.seed_instance(f"{self.seed}/{locale}")
            self.fakers[locale] = made
        return self.fakers[locale]

    def person(self) -> Person:
        origin = self.rng.choice(list(ORIGINS))
        locale = self.rng.choice(ORIGINS[origin])
        faker = self.faker(locale)
        gender = self.rng.choice("mf")
        if locale in ROMANISED:
            given, surname, gender = (faker.first_romanized_name(),
                                      faker.last_romanized_name(), "any")
            if locale == "zh_TW":  # Faker writes Taiwanese names in capitals
                given, surname = given.title(), surname.title()
        else:
            given = str(getattr(faker, f"first_name_{'male' if gender == 'm' else 'female'}",
                                faker.first_name)())
            surname = str(faker.last_name_male() if gender == "m" and hasattr(
                faker, "last_name_male") else faker.last_name_female() if hasattr(
                faker, "last_name_female") else faker.last_name())
        if locale == "uk_UA":
            given, surname = ukrainian_latin(given), ukrainian_latin(surname)
        family_first = False
        if origin == "vietnamese":
            middle = str(faker.middle_name()) if self.rng.random() < 0.6 else ""
            given = f"{middle} {given}".strip()
            family_first = True
            if self.rng.random() < 0.5:
                given, surname = ascii_fold(given), ascii_fold(surname)
        elif origin == "chinese":
            family_first = self.rng.random() < 0.4
        return Person(origin, locale, given, surname, gender, family_first)

    def title(self, person: Person, language: str) -> str:
        titles = TITLES[language]
        choices = titles["any"] + (titles[person.gender] if person.gender in titles else
                                   titles["m"] + titles["f"])
        return self.rng.choice(choices)

    def email(self, people: list[Person]) -> tuple[str, str, str]:
        """(written, planted value, style)"""
        style = self.rng.choice(EMAIL_STYLES)
        person = self.rng.choice(people)
        locale = person.locale if person.locale not in ("sw",) else "en_KE"
        faker = self.faker(locale)
        domain = str(self.faker(self.rng.choice(IBAN_LOCALES)).free_email_domain())
        given = _mail_part(person.given)
        surname = _mail_part(person.surname)
        if style == "faker":
            address = str(faker.email())
        elif style == "initial":
            address = f"{given[:1]}{surname}@{domain}"
        elif style == "name-digits":
            address = f"{surname}.{given}{self.rng.randint(1, 99)}@{domain}"
        elif style == "plus-tag":
            address = f"{given}.{surname}+{self.rng.choice(['caf', 'impots', 'work'])}@{domain}"
        elif style == "capitals":
            address = f"{given.capitalize()}.{surname.capitalize()}@{domain.capitalize()}"
        else:
            address = f"{given}.{surname}@{domain}"
        if style == "mailto":
            return f"mailto:{address}", address, style
        return address, address, style

    def iban(self) -> tuple[str, str, str]:
        locale = self.rng.choice(IBAN_LOCALES)
        value = str(self.faker(locale).iban())
        if self.rng.random() < 0.5:
            return value, locale[-2:], "compact"
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4)), locale[-2:], "spaced"

    def phone(self) -> tuple[str, str, str]:
        from streams.devtools.bench.phone_load import KINDS, random_number, writing_styles

        if self.language == "fr" and self.rng.random() < FRENCH_PHONE_SHARE:
            written, style = french_phone(self.rng)
            return written, "FR", style
        region = self.rng.choice(self.phone_regions)
        styles = writing_styles(random_number(region, self.rng.choice(KINDS), self.rng))
        style = self.rng.choice(sorted(styles))
        return styles[style], region, style

    def prompt(self) -> PlantedPrompt:
        rng = self.rng
        language = rng.choice(LANGUAGES) if self.language == "mixed" else self.language
        registers = self.registers()
        register = rng.choice(list(registers))
        openings, with_slots, without, closings = registers[register][language]
        target = rng.randint(50, 300)
        opening, closing = rng.choice(openings), rng.choice(closings)
        body = rng.sample(with_slots, rng.randint(3, min(7, len(with_slots))))
        # more text, in this order: the register's own sentences without values, its other
        # sentences with values, then sentences without values of the other prose registers
        more = [s for s in without if s not in body]
        rng.shuffle(more)
        rest = [s for s in with_slots if s not in body]
        rng.shuffle(rest)
        others = [s for name, pools in registers.items()
                  if name not in (register, "chat", "form", "formulaire")
                  for s in pools[language][2]] if register != "chat" else []
        rng.shuffle(others)
        more += rest + others
        separator = "\n" if FORMS.get(register, register) in ("casenote", "form", "chat") \
            else " "

        def words() -> int:  # a name is written in up to three words
            return sum(len(s.split()) + 2 * s.count("{") for s in (opening, *body, closing))

        while more and words() < max(target, 60):
            sentence = more.pop(0)
            if words() + len(sentence.split()) + 2 * sentence.count("{") <= 300:
                body.insert(rng.randrange(len(body) + 1), sentence)
        template = "\n\n".join(part for part in (opening, separator.join(body), closing)
                                if part)
        return self._fill(template, language, register)

    def _fill(self, template: str, language: str, register: str) -> PlantedPrompt:
        rng = self.rng
        people = {slot: self.person() for slot in "ABC"}
        kind = FORMS.get(register, register)  # the French load's registers: as their kind
        lower = kind == "chat" and rng.random() < 0.5
        seen: set[str] = set()
        text: list[str] = []
        planted: list[Planted] = []
        length = 0

        def put(written: str, value_at: int, value: str, entity: str, group: str,
                form: str) -> None:
            nonlocal length
            start = length + value_at
            planted.append(Planted(entity, group, form, start, start + len(value)))
            text.append(written)
            length += len(written)

        for literal, slot, _, _ in string.Formatter().parse(template):
            text.append(literal)
            length += len(literal)
            if not slot:
                continue
            if slot in people:
                person = people[slot]
                forms = FIRST_FORMS[kind] if slot not in seen else LATER_FORMS[
                    "chat" if kind == "chat" else "other"]
                seen.add(slot)
                form = _weighted(rng, forms)
                written, value_at, value = self._mention(person, form, language, lower)
                put(written, value_at, value, "PERSON", person.origin,
                    f"{form}{' (lower case)' if lower else ''}")
            elif slot == "email":
                written, value, style = self.email(list(people.values()))
                put(written, written.index(value), value, "EMAIL_ADDRESS", style, style)
            elif slot == "iban":
                written, country, style = self.iban()
                put(written, 0, written, "IBAN_CODE", country, style)
            elif slot == "phone":
                written, region, style = self.phone()
                put(written, 0, written, "PHONE_NUMBER", region, style)
            else:
                raise ValueError(f"unknown slot {{{slot}}} in a template of {register!r}")
        return PlantedPrompt(language, register, "".join(text), tuple(planted))

    def _mention(self, person: Person, form: str, language: str, lower: bool,
                 ) -> tuple[str, int, str]:
        """(written, offset of the planted value in it, planted value)"""
        title = self.title(person, language)
        surname = person.surname
        if form == "full":
            value = person.full
            written = value
        elif form == "title-full":
            value = person.full
            written = f"{title} {value}"
        elif form == "title-surname":
            value = surname
            written = f"{title} {surname}"
        elif form == "initial":
            value = surname
            written = f"{person.given[0]}. {surname}"
        elif form == "surname-first":
            value = (f"{surname.upper()} {person.given}" if language == "fr"
                     else f"{surname}, {person.given}")
            written = value
        elif form == "given":
            value = person.given
            written = value
        else:
            value = surname
            written = value
        if lower:  # as typed: "İsrafil" becomes "israfil", not "i̇srafil"
            written, value = _typed_lower(written), _typed_lower(value)
        return written, written.rindex(value), value


def _typed_lower(text: str) -> str:
    return text.replace("İ", "I").lower()


def _mail_part(name: str) -> str:
    return "".join(c for c in ascii_fold(name).lower() if c.isalnum() or c in "-")


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def generate(count: int, seed: int, phone_regions: tuple[str, ...],
             language: str = "mixed") -> list[PlantedPrompt]:
    """Prompts holding at least ``count`` planted values (``language``: see
    ``LOAD_LANGUAGES``)."""
    generator = Generator(seed, phone_regions, language)
    prompts: list[PlantedPrompt] = []
    while sum(len(p.planted) for p in prompts) < count:
        prompts.append(generator.prompt())
    return prompts


def leaked_characters(text: str, value: Planted, covered: set[int]) -> bool:
    """Whether a letter or digit of ``value`` is outside the replaced characters."""
    return any(text[i].isalnum() and i not in covered for i in range(value.start, value.end))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=2000,
                        help="planted values, at least (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tenant", default="city-of-lyon",
                        help="whose rules redact (default city-of-lyon)")
    parser.add_argument("--purpose", default="casework", help="default casework")
    parser.add_argument("--show", type=int, default=30, help="leaked values to print")
    parser.add_argument("--language", choices=LOAD_LANGUAGES, default="mixed",
                        help="mixed (default: English and French prompts, the load of every "
                             "earlier figure), en, or fr (the French load: its own prose and "
                             "French phone numbers in every common writing)")
    parser.add_argument("--min-score", type=float, default=None,
                        help="redact every type the rules name from this score instead of the "
                             "rules' own min_score (what a policy that sets it would leak; "
                             "default: the rules as written)")


@dataclass
class Tally:
    planted: Counter[tuple[str, str]] = field(default_factory=Counter)
    leaked: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, key: tuple[str, str], leaked: bool) -> None:
        self.planted[key] += 1
        self.leaked[key] += leaked


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.presidio_detector import detector_for_policy
    from streams.core.decision import prepare_decision
    from streams.core.entities import wants_possible_names
    from streams.core.model import ChatMessage, DetectionRequest, GovernedRequest
    from streams.devtools.bench.pii import BATCH
    from streams.worker import load_policy

    regions = tuple(settings.phone_regions)
    prompts = generate(args.count, args.seed, regions, args.language)
    loaded = load_policy(settings.policy_path)
    # a threshold asked for may select possible names that the policy's own does not
    detector = detector_for_policy(loaded.policy, regions, possible_names=True if (
        args.min_score is not None and wants_possible_names(args.min_score)) else None)
    by_type, by_origin, by_form = Tally(), Tally(), Tally()
    whole_in_output = blocked = 0
    examples: list[str] = []
    for begin in range(0, len(prompts), BATCH):
        chunk = prompts[begin:begin + BATCH]
        requests = [GovernedRequest(f"planted-{begin + i}", args.tenant,
                                    (ChatMessage("user", p.text),), purpose=args.purpose)
                    for i, p in enumerate(chunk)]
        detections = detector.detect_batch(
            [DetectionRequest(r.messages, r.language) for r in requests])
        for prompt, request, detection in zip(chunk, requests, detections, strict=True):
            pending = prepare_decision(request, detection, loaded, keys_available=False)
            if pending.plan is None:
                blocked += 1  # nothing leaves: no value of it reaches a model
                continue
            plan = pending.plan
            if args.min_score is not None:
                plan = _plan_at(args.min_score, request, detection.findings, pending)
            covered = {i for f in plan.findings if plan.operators[f.entity_type] != "keep"
                       for i in range(f.start, f.end)}
            # keyed operators (keyed-hash, encrypt): any token stands for what the keys would give
            tokens = dict.fromkeys(plan.keyed, "0" * 16) if plan.keyed else None
            sent = " ".join(m.content for m in pending.complete(tokens).forwarded_messages)
            for value in prompt.planted:
                leaked = leaked_characters(prompt.text, value, covered)
                written = prompt.text[value.start:value.end]
                whole_in_output += _appears(written, sent)
                by_type.add((value.entity, "ALL"), leaked)
                by_form.add((value.entity, value.form), leaked)
                if value.entity == "PERSON":
                    by_origin.add((value.group, "ALL"), leaked)
                else:
                    by_type.add((value.entity, value.group), leaked)
                if leaked and len(examples) < args.show:
                    examples.append(_example(prompt, value, detection.language, plan.findings))
    _report(args, prompts, by_type, by_origin, by_form, whole_in_output, blocked, regions)
    if examples:
        print("\nleaks (generated values; context up to 40 characters each side, what the "
              "detector reported inside it in brackets):")
        print("\n".join(examples))
    return 0 if sum(by_type.leaked[k] for k in by_type.leaked if k[1] == "ALL") == 0 else 1


def _plan_at(min_score: float, request: Any, findings: Any, pending: Any) -> Any:
    """The redaction plan the same rules give with every type's ``min_score`` set to
    ``min_score``: a policy's choice of threshold, measured without editing the policy."""
    from streams.core.redaction import plan_redaction, select_findings

    assert pending.verdict.resolution is not None
    rules = {kind: rule.model_copy(update={"min_score": min_score})
             for kind, rule in pending.verdict.resolution.entities.items()}
    return plan_redaction(request.messages, select_findings(findings, rules), rules,
                          tenant=request.tenant)


def _appears(value: str, text: str) -> bool:
    """Whether ``value`` is written in ``text`` as a whole (not inside a longer word)."""
    import regex

    return regex.search(rf"(?<!\w){regex.escape(value)}(?!\w)", text,
                        flags=regex.IGNORECASE) is not None


def _example(prompt: PlantedPrompt, value: Planted, language: str, findings: Any) -> str:
    start, end = max(0, value.start - 40), min(len(prompt.text), value.end + 40)
    near = [f"{f.entity_type}:{prompt.text[f.start:f.end]!r}" for f in findings
            if f.start < end and start < f.end]
    return (f"  [{language} {prompt.register}] {value.entity} {value.group} {value.form}: "
            f"{prompt.text[value.start:value.end]!r} in {prompt.text[start:end]!r}"
            f" [{', '.join(near)}]")


def _report(args: argparse.Namespace, prompts: list[PlantedPrompt], by_type: Tally,
            by_origin: Tally, by_form: Tally, whole_in_output: int, blocked: int,
            regions: tuple[str, ...]) -> None:
    total = sum(len(p.planted) for p in prompts)
    words = [p.words for p in prompts]
    languages = Counter(p.language for p in prompts)
    print(f"douane bench planted - {total} planted values in {len(prompts)} prompts "
          f"({', '.join(f'{n} {lang}' for lang, n in sorted(languages.items()))}; "
          f"{min(words)}-{max(words)} words, {sum(words) / len(words):.0f} on average; "
          f"{len(REGISTERS_FR if args.language == 'fr' else REGISTERS)} registers), load "
          f"{args.language}, seed {args.seed}, tenant {args.tenant}, purpose "
          f"{args.purpose}, phone regions {','.join(regions)}"
          + (f", min score {args.min_score} for every type" if args.min_score is not None
             else ""))
    if blocked:
        print(f"{blocked} prompts blocked by the policy (nothing of them leaves)")
    _table("type", by_type, lambda key: key[1] == "ALL", lambda key: key[0])
    _table("person's origin", by_origin, lambda key: True, lambda key: key[0])
    _table("how written", by_form, lambda key: True, lambda key: f"{key[0]} {key[1]}")
    for entity in ("EMAIL_ADDRESS", "IBAN_CODE", "PHONE_NUMBER"):
        _table(f"{entity} by group", by_type,
               lambda key, entity=entity: key[0] == entity and key[1] != "ALL",
               lambda key: key[1], only_leaks=True)
    leaks = sum(by_type.leaked[k] for k in by_type.planted if k[1] == "ALL")
    print(f"\nleaked: {leaks} of {total} planted values ({whole_in_output} still appear whole "
          f"in the text sent to the model)")


def _table(title: str, tally: Tally, keep: Any, label: Any, only_leaks: bool = False) -> None:
    rows = [(label(key), n, tally.leaked[key]) for key, n in sorted(tally.planted.items())
            if keep(key)]
    if only_leaks and not any(lost for _, _, lost in rows):
        return
    width = max(len(title), *(len(r[0]) for r in rows)) if rows else len(title)
    print(f"\n{title:{width}} {'planted':>7} {'leaked':>6}")
    for name, n, lost in rows:
        print(f"{name:{width}} {n:>7} {lost:>6}")
