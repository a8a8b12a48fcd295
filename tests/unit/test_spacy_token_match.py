"""The prefilter in front of a spaCy tokenizer's ``token_match`` (spacy_ops): used only when
the pattern itself proves that every match holds one of the required characters."""

from __future__ import annotations

import re

import pytest

from streams.adapters.spacy_ops import PrefilteredMatch, quick_token_match

REQUIRED = "-'"


@pytest.mark.parametrize(("pattern", "proved"), [
    (r"^a[-']b$", True),
    (r"^a[-–]b$", False),  # "–" is not required
    (r"(?i)^(?:a-b$)|(?:x'y+$)", True),  # every alternative holds one
    (r"^(?:a-b|xy)$", False),  # "xy" holds none
    (r"^a-?b$", False),  # optional
    (r"^a(?:-b)*$", False),  # zero repeats allowed
    (r"^a(?:-b)+$", True),  # at least one
    (r"^a[-x]b$", False),  # the class also matches "x"
    (r"^a[^-]b$", False),  # a negated class
    (r"^a(-)b$", True),  # in a group
    (r"^[a-z]+$", False),
])
def test_a_pattern_is_prefiltered_only_when_every_match_must_hold_a_required_char(
        pattern: str, proved: bool) -> None:
    match = re.compile(pattern).match
    quick = quick_token_match(match, REQUIRED)
    assert isinstance(quick, PrefilteredMatch) is proved
    if not proved:
        assert quick is match


def test_characters_with_a_case_are_never_prefilter_characters() -> None:
    match = re.compile(r"(?i)^ab$").match
    assert quick_token_match(match, "a") is match  # "A" also matches


@pytest.mark.parametrize("text", ["a-b", "ab", "x'yy", "xyy", "", "-", "a–b"])
def test_the_prefiltered_match_agrees_with_the_pattern(text: str) -> None:
    match = re.compile(r"(?i)^(?:a[-–]b$)|(?:x'y+$)").match
    quick = quick_token_match(match, "-–'")
    assert isinstance(quick, PrefilteredMatch)
    assert bool(quick(text)) == bool(match(text))


def test_frenchs_token_match_is_proved_and_prefiltered() -> None:
    # the French tokenizer's speed-up rests on this proof; a spaCy upgrade that adds an
    # alternative without a hyphen or an apostrophe turns the prefilter off, not wrong
    from streams.adapters.spacy_ops import import_french_quickly

    import_french_quickly()
    from spacy.lang.fr.punctuation import ELISION, HYPHENS
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    assert isinstance(quick_token_match(TOKEN_MATCH, HYPHENS + ELISION), PrefilteredMatch)


def test_without_res_parser_nothing_is_prefiltered(monkeypatch: pytest.MonkeyPatch) -> None:
    # the proof reads the pattern with ``re``'s parser, private and renamed across Python
    # versions (``re._parser``, ``sre_parse``): a Python without either leaves the match as
    # it is (the same tokens, more CPU), never fails or prefilters unproved
    import sys

    from streams.adapters import re_syntax, spacy_ops

    assert re_syntax.re_syntax() is not None  # this Python has one
    for name in ("re._parser", "sre_parse"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError
    assert re_syntax.re_syntax() is None
    monkeypatch.setattr(spacy_ops, "RE_SYNTAX", re_syntax.re_syntax())
    match = re.compile(r"^a[-']b$").match
    assert quick_token_match(match, REQUIRED) is match


def test_a_parsed_form_it_cannot_read_gives_no_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.adapters import re_syntax, spacy_ops

    class Moved:  # a parser whose parsed form has changed shape
        @staticmethod
        def parse(pattern: str, flags: int) -> object:
            return object()

    syntax = re_syntax.re_syntax()
    assert syntax is not None
    monkeypatch.setattr(spacy_ops, "RE_SYNTAX", re_syntax.ReSyntax(Moved, syntax.constants))
    match = re.compile(r"^a[-']b$").match
    assert quick_token_match(match, REQUIRED) is match
