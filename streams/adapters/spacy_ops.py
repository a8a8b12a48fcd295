"""How douane runs spaCy: matrix products through numpy's BLAS, the French tokenizer's
quick paths, and models that forget the words of each batch (``read_and_forget``).

Matrix products go through numpy's BLAS instead of thinc's bundled BLIS.

The BLIS build that ships with thinc picks its slow "generic" kernel on some current CPUs
(AMD Zen 3 among them: the wheel has no kernel for that family), which makes spaCy's NER
about twice as slow as it should be. numpy's OpenBLAS picks an optimised kernel. Results
are the same (tests compare entities found both ways); only ``gemm`` changes.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import numpy
from thinc.api import NumpyOps, set_current_ops

from streams.adapters.re_syntax import RE_SYNTAX
from streams.adapters.recognizers.base import checkpoint, shielded


class NumpyBlasOps(NumpyOps):  # type: ignore[misc]
    name = "numpy-blas"

    def gemm(self, x: Any, y: Any, out: Any = None, trans1: bool = False,
             trans2: bool = False) -> Any:
        if trans1:
            x = x.T
        if trans2:
            y = y.T
        if out is None:
            return numpy.matmul(x, y)
        numpy.matmul(x, y, out=out)
        return out




def read_and_forget(nlp: Any, texts: Iterable[str], batch_size: int,
                    ) -> Generator[Any, None, None]:
    """``nlp.pipe(texts)``, after which ``nlp`` forgets the words it had not known before.

    spaCy adds every new word it reads to its vocabulary (strings, lexemes, the tokenizer's
    cache) for the life of the process, so a detection process's memory grew with what it had
    read (~40 new words per prompt of Wikipedia text) and held the names of past requests.
    Inside spaCy's memory zone (3.8) everything a batch adds is freed when it ends; nothing
    made inside (a ``Doc``, a span) may be used after the last document is consumed. But a
    zone also keeps nothing it could reuse: every word's lexeme (a score of attribute
    functions each) and tokenization were made again in every batch, 1-3 ms more per prompt.
    So after the zone the words the model's own vocabulary already held are learned for good
    (``_learn_known``): the vocabulary then grows only towards the model's own, never with a
    word it did not ship with. Zones do not nest: models sharing a vocabulary (the trained
    English NER and ``en_core_web_md``) read one after the other."""
    chunks: dict[str, tuple[str, ...]] = {}  # each space-separated chunk read: its tokens
    # The NER runs under a CPU limit (``recognizers.base.models_cpu_limit``) whose timer raises
    # wherever Python code runs: the zone is entered and left in shielded functions, and this
    # generator's own lines are shielded too (a zone left half-way would break the next batch)
    zone = _enter_zone(nlp)
    try:
        for doc in nlp.pipe(_checked(texts), batch_size=batch_size):
            parts: list[str] = []
            for token in doc:
                parts.append(token.text)
                if token.whitespace_:
                    chunks["".join(parts)] = tuple(parts)
                    parts = []
            if parts:
                chunks["".join(parts)] = tuple(parts)
            yield doc
    finally:
        _leave_zone(zone)
    _learn_known(nlp, chunks)


def _checked(texts: Iterable[str]) -> Iterator[str]:
    """``texts``, the model stage's CPU budget read before each (a thread no timer reaches:
    ``recognizers.base.checkpoint``)."""
    for text in texts:
        checkpoint()
        yield text


@shielded
def _enter_zone(nlp: Any) -> Any:
    zone = nlp.memory_zone()
    zone.__enter__()
    return zone


@shielded
def _leave_zone(zone: Any) -> None:
    # left as after a normal end whatever ended the reading: everything the zone made is freed
    # (the exception that ended it, if any, goes on once this returns)
    zone.__exit__(None, None, None)


shielded(read_and_forget, calls=False)


def _learn_known(nlp: Any, chunks: dict[str, tuple[str, ...]]) -> None:
    """Outside any zone: a lexeme for every token read that the model's vocabulary holds, and
    the tokenizer's cache (keyed by space-separated chunk) for every chunk made only of such
    tokens. After the zone its own strings are gone, so ``in strings`` answers for the
    model's vocabulary and what was learned before, nothing else."""
    strings = nlp.vocab.strings
    learned = _LEARNED.setdefault(nlp, set())
    for chunk, tokens in chunks.items():
        if chunk in learned:
            continue
        known = [token in strings for token in tokens]
        if all(known):
            nlp.tokenizer(chunk)  # outside a zone: its lexemes and its tokens cached for good
            learned.add(chunk)
            continue
        for token, is_known in zip(tokens, known, strict=True):
            if is_known and token not in learned:
                nlp.vocab[token]  # made outside a zone, the lexeme is kept
                learned.add(token)


# per model, the words already learned (a test's models come and go: held weakly)
_LEARNED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def use_numpy_blas() -> None:
    """Make models loaded from now on use numpy's matrix product."""
    set_current_ops(NumpyBlasOps())


# Latin (with accents), Greek and Cyrillic letters: what French text needs.
COMPACT_LETTERS = "a-zA-Z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u1e00-\u1eff"


def import_french_quickly() -> None:
    """Import spaCy's French language data without its 3-second regular expression compile.

    ``spacy.lang.fr.tokenizer_exceptions`` compiles a 1.4 MB pattern (hyphenated and elided
    words kept as one token) that repeats a 3,000-character letter class ~480 times. The same
    pattern with a compact letter class (Latin, Greek, Cyrillic) compiles in ~0.15 s and
    tokenizes French text the same way; this is what keeps French start-up under 3 seconds.
    """
    import sys

    if "spacy.lang.fr" in sys.modules:
        return
    from spacy.lang.char_classes import ALPHA, ALPHA_LOWER

    original = re.compile

    def compile_compact(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, str) and len(pattern) > 100_000:
            pattern = pattern.replace(ALPHA_LOWER, COMPACT_LETTERS).replace(
                ALPHA, COMPACT_LETTERS)
        return original(pattern, flags)

    re.compile = compile_compact
    try:
        import spacy.lang.fr  # noqa: F401
    finally:
        re.compile = original


class PrefilteredMatch:
    """A tokenizer's ``token_match`` that runs only on strings holding one of ``required``.

    French's ``token_match`` (the pattern above: words kept whole with their hyphens and
    apostrophes) is tried on every string the tokenizer splits, several times per word, and
    was 60% of French tokenizing on third-party text (1.3 of 2.2 ms CPU per prompt of 190
    words). Each of its alternatives needs a hyphen or an apostrophe, so a string without one
    cannot match: skipping it changes no token. ``quick_token_match`` checks that on the
    pattern itself before using this.
    """

    def __init__(self, match: Callable[[str], Any], required: str) -> None:
        self.match = match
        self.required = required
        self._holds = re.compile("[" + re.escape(required) + "]").search

    def __call__(self, text: str) -> Any:
        return self.match(text) if self._holds(text) else None


def quick_token_match(match: Any, required: str) -> Any:
    """``match`` (a compiled pattern's ``match``) behind a ``PrefilteredMatch`` when every
    string the pattern can match holds one of ``required`` (case-less characters); else
    ``match`` unchanged (a pattern this cannot prove that of, e.g. after a spaCy upgrade)."""
    pattern = getattr(match, "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str) or any(
            c.lower() != c or c.upper() != c for c in required):
        return match
    syntax = RE_SYNTAX
    if syntax is None:
        return match
    try:
        parsed = syntax.parser.parse(pattern.pattern, pattern.flags).data
        proved = always_needs(parsed, set(required), syntax.constants)
    except (AttributeError, TypeError, ValueError, IndexError, re.error):
        return match  # a parsed form other than the one read here: no proof, no prefilter
    return PrefilteredMatch(match, required) if proved else match


def always_needs(items: Any, chars: set[str], re_constants: Any) -> bool:
    """Whether every match of the parsed pattern ``items`` (``re_syntax``'s form, its names in
    ``re_constants``) holds one of ``chars``: some item of the sequence matches only those
    characters and cannot be skipped (not optional, in no alternative that lacks it)."""
    for op, value in items:
        if op is re_constants.LITERAL and chr(value) in chars:
            return True
        if op is re_constants.IN and value and all(
                kind is re_constants.LITERAL and chr(code) in chars for kind, code in value):
            return True
        if op is re_constants.SUBPATTERN and always_needs(value[-1], chars, re_constants):
            return True
        if op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT) and value[0] >= 1 \
                and always_needs(value[2], chars, re_constants):
            return True
        if op is re_constants.BRANCH and all(always_needs(branch, chars, re_constants)
                                             for branch in value[1]):
            return True
    return False


def quicken_french_tokenizer(nlp: Any) -> None:
    """French's ``token_match`` behind its prefilter (``PrefilteredMatch``): the same tokens."""
    from spacy.lang.fr.punctuation import ELISION, HYPHENS

    nlp.tokenizer.token_match = quick_token_match(nlp.tokenizer.token_match, HYPHENS + ELISION)
