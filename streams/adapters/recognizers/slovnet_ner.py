"""A neural NER pass for Ukrainian from weights that ship in a PyPI wheel (issue 14).

The only NER weights for a Cyrillic language found on PyPI in a package that installs offline
are Natasha's (``natasha`` 1.6.0, MIT): ``slovnet_ner_news_v1`` (a CNN tagger over Navec word
embeddings, 2.4 MB) and ``navec_news_v1_1B_250K_300d_100q`` (26 MB), trained on *Russian* news
(Nerus). They are read from the installed ``natasha`` package's ``data`` folder without
importing ``natasha`` itself (its other parts need pymorphy2 and yargy, which douane does not
use); ``slovnet``, ``navec`` and ``razdel`` run them with numpy alone.

``DOUANE_UK_NER`` selects how it runs (docs/benchmarks.md, "A second-tier NER from PyPI"):

- ``slovnet``: every Ukrainian text goes through the model, its findings added to the
  name lexicon's;
- ``slovnet-unsure`` (the default): only the sentences the lexicon pass is unsure of - a
  capitalised word inside the sentence that no lexicon finding covers - go through the model
  (recall up on both Ukrainian corpora, precision not down, ~300-370 prompts per CPU-second);
- ``off``: the lexicon alone.

It is a Russian model reading Ukrainian: it finds Ukrainian names by their shape and context
more than by their words (most Ukrainian word forms are unknown to its Russian vocabulary).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import regex

from streams.errors import DouaneError

NATASHA_PACKAGE = "natasha"
NER_WEIGHTS = "model/slovnet_ner_news_v1.tar"
EMBEDDINGS = "emb/navec_news_v1_1B_250K_300d_100q.tar"
# Organisations are left out: on BRUK (dev) the model's were right one time in three
LABELS = {"PER": "PERSON", "LOC": "LOCATION"}
SCORE = 0.84  # below the lexicon's sure names (0.85): where both report a span, the lexicon's
# boundaries win; the model adds what the lexicon did not see
MODES = ("off", "slovnet", "slovnet-unsure")
BATCH_SIZE = 16

SENTENCE = regex.compile(r"[^.!?\n]+(?:[.!?]+|\n+|$)|[.!?\n]+")
WORD = regex.compile(r"\p{L}[\p{L}'’-]*")
# the words a name is written with: capitalised words (not acronyms: "ID", "ЄС") and
# initials, separated by spaces
NAME_WORD = r"(?:\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}?[\p{Ll}'’]+)*|\p{Lu}\.)"
NAME_RUN = regex.compile(rf"(?<![\w'’-]){NAME_WORD}(?:[ \u00a0]+{NAME_WORD})*(?![\w'’-])")

Finding = tuple[str, int, int, float, str]


class SlovnetUnavailableError(DouaneError, RuntimeError):
    """The ``natasha`` package (which holds the weights) or ``slovnet`` is not installed."""


def natasha_data_dir() -> Path:
    spec = importlib.util.find_spec(NATASHA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SlovnetUnavailableError(
            "DOUANE_UK_NER needs the PyPI package 'natasha' (it holds the model's weights); "
            "it is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


class SlovnetNer:
    """Natasha's Russian news NER model, run on Ukrainian text."""

    name = "slovnet:uk"

    def __init__(self, entities: Iterable[str] = ("PERSON",),
                 ordinary_word: Callable[[str], bool] | None = None,
                 name_only: Callable[[str], bool] | None = None) -> None:
        try:
            from navec import Navec
            from slovnet import NER
        except ImportError as error:
            raise SlovnetUnavailableError(
                f"DOUANE_UK_NER needs the PyPI package '{error.name}'") from None
        data = natasha_data_dir()
        self.entities = frozenset(entities)
        # the lexicon's verdicts on a word: the model, Russian, takes unknown capitalised
        # Ukrainian words ("Вона", "Або") and places ("Польщі") for names
        self._ordinary_word = ordinary_word or (lambda _: False)
        self._name_only = name_only or (lambda _: True)
        self._knows_names = name_only is not None  # without a lexicon, places stay places
        self._ner: Any = NER.load(str(data / NER_WEIGHTS), batch_size=BATCH_SIZE)
        self._ner.navec(Navec.load(str(data / EMBEDDINGS)))

    def find(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Each text's findings of the entity types asked for, offsets in that text."""
        out: list[list[Finding]] = []
        for text, markup in zip(texts, self._ner.map(list(texts)), strict=True):
            found: list[Finding] = []
            for span in markup.spans:
                entity = LABELS.get(span.type)
                if entity is None or entity not in self.entities:
                    continue
                # The model's spans run on into what follows a name ("Леопольд Охріменко
                # (ID-картка ЕЕ") or take in the sentence's first words ("Позивач
                # Тимошенко-Вербицький"): each run of capitalised words inside the span, less
                # an ordinary word opening the sentence, is reported.
                for run in NAME_RUN.finditer(text, span.start, span.stop):
                    start, end = self._without_opening_word(text, run.start(), run.end())
                    if end <= start or (entity == "LOCATION"
                                        and self._only_name_parts(text, start, end)):
                        continue
                    if entity != "PERSON" or self._plausible_person(text, start, end):
                        found.append((entity, start, end, SCORE, self.name))
            out.append(found)
        return out

    def _without_opening_word(self, text: str, start: int, end: int) -> tuple[int, int]:
        first = WORD.match(text, start, end)
        if first and _opens_sentence(text, start) and self._ordinary_word(first.group()):
            rest = NAME_RUN.search(text, first.end(), end)
            return (rest.start(), rest.end()) if rest else (start, start)
        return start, end

    def _only_name_parts(self, text: str, start: int, end: int) -> bool:
        """Every word one the lexicon knows only as a name part ("Корнеля", "Дори"): the
        model, Russian, reads Ukrainian names in oblique cases as places; its place would win
        over the lexicon's person (a higher score), and a person is what such words are."""
        words = [w.group() for w in WORD.finditer(text, start, end)]
        return self._knows_names and bool(words) and all(self._name_only(w) for w in words)

    def _plausible_person(self, text: str, start: int, end: int) -> bool:
        """Not when the lexicon knows every word as an ordinary word and never as a name part,
        nor a lone word opening a sentence that the lexicon does not know as a name only."""
        words = [w.group() for w in WORD.finditer(text, start, end)]
        if not words or all(self._ordinary_word(w) for w in words):
            return False
        return not (len(words) == 1 and _opens_sentence(text, start)
                    and not self._name_only(words[0]))

    def find_where_unsure(self, texts: Sequence[str],
                          covered: Sequence[Sequence[tuple[int, int]]]) -> list[list[Finding]]:
        """Like ``find``, reading only the sentences with a capitalised word inside them that
        no span of ``covered`` (the first pass's findings, per text) contains."""
        pieces = unsure_sentences(texts, covered)
        out: list[list[Finding]] = [[] for _ in texts]
        found = self.find([texts[t][start:end] for t, start, end in pieces])
        for (t, offset, _), in_piece in zip(pieces, found, strict=True):
            out[t].extend((entity, offset + start, offset + end, score, name)
                          for entity, start, end, score, name in in_piece)
        return out

    def sentences_read(self, texts: Sequence[str],
                       covered: Sequence[Sequence[tuple[int, int]]]) -> tuple[int, int]:
        """(sentences the unsure mode reads, all sentences): what the second tier costs."""
        read = total = 0
        for t, text in enumerate(texts):
            for sentence in SENTENCE.finditer(text):
                total += 1
                read += _unsure(text, sentence.start(), sentence.end(), covered[t])
        return read, total


def unsure_sentences(texts: Sequence[str], covered: Sequence[Sequence[tuple[int, int]]],
                     ) -> list[tuple[int, int, int]]:
    """(text's index, start, end) of each sentence with a capitalised word inside it, not the
    first, that no span of ``covered`` (per text) contains: what a second tier reads (the
    Ukrainian one here, CoreNLP's for English and Spanish)."""
    return [(t, sentence.start(), sentence.end())
            for t, text in enumerate(texts)
            for sentence in SENTENCE.finditer(text)
            if _unsure(text, sentence.start(), sentence.end(), covered[t])]


def _unsure(text: str, start: int, end: int, covered: Sequence[tuple[int, int]]) -> bool:
    for position, word in enumerate(WORD.finditer(text, start, end)):
        if position == 0 or not word.group()[0].isupper():
            continue
        if not any(s <= word.start() and word.end() <= e for s, e in covered):
            return True
    return False


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'«„“(—–-")
    return not before or before[-1] in ".!?…:\n"
