"""Matrix products for spaCy through numpy's BLAS instead of thinc's bundled BLIS.

The BLIS build that ships with thinc picks its slow "generic" kernel on some current CPUs
(AMD Zen 3 among them: the wheel has no kernel for that family), which makes spaCy's NER
about twice as slow as it should be. numpy's OpenBLAS picks an optimised kernel. Results
are the same (tests compare entities found both ways); only ``gemm`` changes.
"""

from __future__ import annotations

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
    import re
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
