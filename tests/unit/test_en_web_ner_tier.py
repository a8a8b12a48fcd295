"""The English NER trained here (``DOUANE_EN_WEB_NER``) without its model: its setting, the
words it may not call a person, the sentences each mode reads, and what it adds to a first
pass (a stand-in model that calls chosen words persons)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from streams.adapters.recognizers.en_web_ner import (
    NOT_NAMES,
    SCORE,
    EnWebNerTier,
    Finding,
    pieces_to_read,
    trimmed,
)
from streams.config import EN_WEB_NER_MODES, SettingError, load_ner_tiers, load_settings

# ----------------------------------------------------------------------------- settings


def test_the_tier_is_off_by_default_and_its_model_under_the_cache(tmp_path: Path) -> None:
    tiers = load_ner_tiers({"DOUANE_CACHE": str(tmp_path)})
    assert tiers.en_web == "off"
    assert tiers.en_web_dir == tmp_path / "models" / "en-web-ner"


@pytest.mark.parametrize("mode", EN_WEB_NER_MODES)
def test_each_mode_is_read_into_the_settings(mode: str, tmp_path: Path) -> None:
    settings = load_settings({"DOUANE_EN_WEB_NER": mode,
                              "DOUANE_EN_WEB_NER_DIR": str(tmp_path / "m")})
    assert (settings.ner_tiers.en_web, settings.ner_tiers.en_web_dir) == (mode, tmp_path / "m")
    # beside CoreNLP, not in its place
    assert settings.ner_tiers.en == "off"


def test_an_unknown_mode_names_the_setting_and_the_choices() -> None:
    with pytest.raises(SettingError,
                       match=r"DOUANE_EN_WEB_NER='corenlp' must be one of: off, trained"):
        load_ner_tiers({"DOUANE_EN_WEB_NER": "corenlp"})


# ----------------------------------------------------------------------------- the stop list

TRIMMED = [
    # (the model's span, what is kept of it)
    ("Sir", None),  # "Excuse me, Sir bot" (presidio-research's templates)
    ("God", None),  # "God gave rock and roll to you"
    ("Lord", None),
    ("Bro", None),
    ("Guys", None),
    ("Mate", None),
    ("Thanks Bro", None),  # an opening word and a vocative: nothing of a name
    ("Lord Voldemort", "Voldemort"),
    ("Sir Elton John", "Elton John"),
    ("Maria Lopez", "Maria Lopez"),
    ("jaxon", "jaxon"),
]


@pytest.mark.parametrize(("span", "kept"), TRIMMED)
def test_titles_vocatives_and_deities_are_not_persons(span: str, kept: str | None) -> None:
    text = f"well, {span}, see you"
    start = text.index(span)
    result = trimmed(text, start, start + len(span))
    assert (text[result[0]:result[1]] if result else None) == kept


def test_the_stop_list_is_lower_case_words() -> None:
    assert all(word == word.casefold() and " " not in word for word in NOT_NAMES)
    assert {"sir", "god", "lord", "bro", "mate", "guys"} <= NOT_NAMES


# ----------------------------------------------------------------------------- what it reads

TEXT = ("Excuse me, Sir bot. Thanks Maria for the tip. the meeting is over. "
        "Call Bob Stone now. i saw kyle yesterday. Go to New York City today.")
# the first pass found Bob Stone (a person) and New York City (a place)
FIRST: list[Finding] = [
    ("PERSON", TEXT.index("Bob Stone"), TEXT.index("Bob Stone") + 9, 0.85, "spacy:en"),
    ("LOCATION", TEXT.index("New York City"), TEXT.index("New York City") + 13, 0.85,
     "spacy:en"),
]
READ = [
    # every sentence, as one piece
    ("trained", [TEXT]),
    # two capitalised words in a row no person holds (xlingual_ner.sentences_to_read)
    # ("Call Bob Stone" is a run the person "Bob Stone" does not hold whole)
    ("trained-unsure", [" Thanks Maria for the tip.", " Call Bob Stone now.",
                        " Go to New York City today."]),
    # a capitalised word not opening its sentence, or a given name in lower case, outside
    # the first pass's findings: not "Sir" (stop list), not "Bob Stone" nor "New York City"
    # (found), not "Excuse" / "Call" / "Go" (opening a sentence)
    ("trained-candidates", [" Thanks Maria for the tip.", " i saw kyle yesterday."]),
]


@pytest.mark.parametrize(("mode", "expected"), READ)
def test_each_mode_reads_its_sentences(mode: str, expected: list[str]) -> None:
    assert [TEXT[s:e] for s, e in pieces_to_read(mode, TEXT, FIRST)] == expected


def test_an_off_mode_has_no_pieces() -> None:
    with pytest.raises(ValueError, match="DOUANE_EN_WEB_NER"):
        pieces_to_read("off", TEXT, FIRST)


# ----------------------------------------------------------------------------- what it adds


@dataclass
class _Ent:
    label_: str
    start_char: int
    end_char: int


@dataclass
class _Doc:
    ents: list[_Ent]

    def __iter__(self) -> Iterator[object]:
        return iter(())  # no tokens: nothing for ``read_and_forget`` to learn


class _Model:
    """Calls each of ``persons`` a PERSON wherever it occurs in a piece; records the pieces.
    Has what ``spacy_ops.read_and_forget`` asks of a spaCy model (a zone, a vocabulary)."""

    def __init__(self, persons: Sequence[str]) -> None:
        self.persons = persons
        self.read: list[str] = []
        self.vocab = SimpleNamespace(strings=frozenset[str]())

    def memory_zone(self) -> AbstractContextManager[None]:
        return nullcontext()

    def pipe(self, texts: Sequence[str], batch_size: int = 32) -> Iterator[_Doc]:
        for text in texts:
            self.read.append(text)
            yield _Doc([_Ent("PERSON", text.index(p), text.index(p) + len(p))
                        for p in self.persons if p in text])


def test_persons_are_added_where_the_first_pass_has_nothing_in_text_offsets() -> None:
    model = _Model(["Sir", "Maria", "Bob", "kyle", "York"])
    tier = EnWebNerTier(Path("unused"), "trained-candidates", nlp=model)
    other = "nothing here. and maria again."
    added = tier.find([TEXT, other], [FIRST, []])
    assert [[text[s:e] for _, s, e, _, _ in found]
            for text, found in zip([TEXT, other], added, strict=True)] == [["Maria", "kyle"], []]
    assert {(f[0], f[3], f[4]) for f in added[0]} == {("PERSON", SCORE, "en-web-ner")}
    # the stand-in is asked about the chosen sentences only
    assert model.read == [" Thanks Maria for the tip.", " i saw kyle yesterday.",
                          " and maria again."]


def test_in_every_sentence_mode_only_overlaps_and_the_stop_list_are_dropped() -> None:
    model = _Model(["Sir", "Maria", "Bob", "York"])
    tier = EnWebNerTier(Path("unused"), "trained", nlp=model)
    (added,) = tier.find([TEXT], [FIRST])
    assert [TEXT[s:e] for _, s, e, _, _ in added] == ["Maria"]
    assert model.read == [TEXT]
