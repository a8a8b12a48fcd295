"""Labelled prompts for the PII benchmark: a template with slots, filled with random values,
padded with personal-data-free sentences to 50-300 words, with the exact span of every
planted value."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

from streams.devtools.bench.pii_templates import FILLER, HELDOUT, TRAIN
from streams.devtools.bench.pii_values import GENERATORS, Values

# Faker locales for names: the held-out set draws from other locales where Faker has them.
LOCALES = {
    "train": {"en": "en_US", "fr": "fr_FR", "es": "es_ES", "uk": "uk_UA", "is": "is_IS"},
    "heldout": {"en": "en_GB", "fr": "fr_CH", "es": "es_MX", "uk": "uk_UA", "is": "is_IS"},
}
LANGUAGES = ("en", "fr", "es", "uk", "is")


@dataclass(frozen=True)
class Span:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class LabelledPrompt:
    language: str
    text: str
    spans: tuple[Span, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


def generate(dataset: str, language: str, count: int, seed: int) -> list[LabelledPrompt]:
    templates = {"train": TRAIN, "heldout": HELDOUT}[dataset][language]
    rng = random.Random(f"{dataset}/{language}/{seed}")
    values = Values(language, LOCALES[dataset][language], rng.randrange(2**31))
    prompts = []
    for _ in range(count):
        target_words = rng.randint(50, 300)
        template = rng.choice(templates)
        sentences = [template]
        while sum(len(s.split()) for s in sentences) < target_words:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(FILLER[language]))
        prompts.append(_fill(" ".join(sentences), values, language))
    return prompts


def _fill(template: str, values: Values, language: str) -> LabelledPrompt:
    text, spans = [], []
    length = 0
    for literal, field, _, _ in string.Formatter().parse(template):
        text.append(literal)
        length += len(literal)
        if field:
            value = GENERATORS[field](values)
            spans.append(Span(field, length, length + len(value)))
            text.append(value)
            length += len(value)
    return LabelledPrompt(language, "".join(text), tuple(spans))
