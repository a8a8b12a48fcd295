"""Matrix products for spaCy through numpy's BLAS instead of thinc's bundled BLIS.

The BLIS build that ships with thinc picks its slow "generic" kernel on some current CPUs
(AMD Zen 3 among them: the wheel has no kernel for that family), which makes spaCy's NER
about twice as slow as it should be. numpy's OpenBLAS picks an optimised kernel. Results
are the same (tests compare entities found both ways); only ``gemm`` changes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import numpy
from thinc.api import NumpyOps, set_current_ops


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


# the parsed form of a regular expression (``always_needs``): private modules of ``re``, untyped
re_constants: Any = importlib.import_module("re._constants")
re_parser: Any = importlib.import_module("re._parser")


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
    if not always_needs(re_parser.parse(pattern.pattern, pattern.flags).data, set(required)):
        return match
    return PrefilteredMatch(match, required)


def always_needs(items: Any, chars: set[str]) -> bool:
    """Whether every match of the parsed pattern ``items`` (``re._parser``'s form) holds one of
    ``chars``: some item of the sequence matches only those characters and cannot be skipped
    (not optional, in no alternative that lacks it)."""
    for op, value in items:
        if op is re_constants.LITERAL and chr(value) in chars:
            return True
        if op is re_constants.IN and value and all(
                kind is re_constants.LITERAL and chr(code) in chars for kind, code in value):
            return True
        if op is re_constants.SUBPATTERN and always_needs(value[-1], chars):
            return True
        if op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT) and value[0] >= 1 \
                and always_needs(value[2], chars):
            return True
        if op is re_constants.BRANCH and all(always_needs(branch, chars)
                                             for branch in value[1]):
            return True
    return False


def quicken_french_tokenizer(nlp: Any) -> None:
    """French's ``token_match`` behind its prefilter (``PrefilteredMatch``): the same tokens."""
    from spacy.lang.fr.punctuation import ELISION, HYPHENS

    nlp.tokenizer.token_match = quick_token_match(nlp.tokenizer.token_match, HYPHENS + ELISION)
