"""The fast canonical serialiser writes exactly what the reference RFC 8785 implementation
writes, for the JSON douane records and for anything else (where it defers to it)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.canonical_json import CanonicalJsonError, _fast_path_fits, dumps

INT = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
TEXT = st.text(alphabet=st.characters(codec="utf-8"))  # every code point, controls included
RECORD_SCALARS = st.none() | st.booleans() | INT | TEXT
ANY_SCALARS = RECORD_SCALARS | st.floats(allow_nan=False, allow_infinity=False) | st.text()


def trees(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                        | st.dictionaries(TEXT, inner, max_size=5), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(trees(RECORD_SCALARS))
def test_matches_rfc8785_on_record_json(value: Any) -> None:
    assert dumps(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(trees(ANY_SCALARS))
def test_matches_rfc8785_with_floats_and_wide_keys(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(CanonicalJsonError):
            dumps(value)
        return
    assert dumps(value) == expected


def test_the_cases_where_python_and_jcs_differ_take_the_reference_path() -> None:
    wide = {"\U0001f600": 1, "\uff61": 2}  # UTF-16 order differs from code point order
    assert not _fast_path_fits(wide)
    assert dumps(wide) == rfc8785.dumps(wide)
    assert dumps({"n": 1e21, "x": 0.1}) == b'{"n":1e+21,"x":0.1}'
    controls = {"ctl": "\x00\x1f\x7f\u2028\"\\"}
    assert dumps(controls) == rfc8785.dumps(controls)
    with pytest.raises(CanonicalJsonError):
        dumps({"big": 2**60})
    with pytest.raises(CanonicalJsonError):
        dumps({"lone": "\ud800"})
