"""``re``'s own parser of patterns, found behind a guard: douane reads a pattern's structure to
prove what every match of it holds (``spacy_ops.quick_token_match``,
``recognizers.base.min_digit_run``), and Python has no public parser for that."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, NamedTuple


class ReSyntax(NamedTuple):
    """``re``'s own parser of patterns and the names of its parsed form (untyped modules)."""

    parser: Any
    constants: Any


# the names of the parsed form that the proofs read
_PARSED_NAMES = ("LITERAL", "IN", "SUBPATTERN", "MAX_REPEAT", "MIN_REPEAT", "BRANCH")


def re_syntax() -> ReSyntax | None:
    """``re``'s parser and constants, or None. Python has no public one: it is private,
    ``re._parser`` since 3.11 and ``sre_parse`` before (kept as a deprecated alias for a while).
    A Python that moves it again gets None, and what reads it proves nothing: French's token
    match is left as it is and every identifier pattern is run (the same tokens and findings,
    without the saving; tests/unit/test_spacy_token_match.py, tests/unit/test_digit_runs.py)."""
    for parser_name, constants_name in (("re._parser", "re._constants"),
                                        ("sre_parse", "sre_constants")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # sre_parse's, if used
                parser = importlib.import_module(parser_name)
                constants = importlib.import_module(constants_name)
        except ImportError:
            continue
        if callable(getattr(parser, "parse", None)) and all(
                hasattr(constants, name) for name in _PARSED_NAMES):
            return ReSyntax(parser, constants)
    return None


RE_SYNTAX = re_syntax()
