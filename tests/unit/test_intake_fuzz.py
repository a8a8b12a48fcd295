"""Fuzzing the intake (issue 13): whatever bytes a producer sends, ``accept`` answers with a
request or a precise rejection, never an exception, and never repeats a planted value.

Hypothesis generates arbitrary bytes, arbitrary JSON (deep, wide, any types), and valid requests
with one field replaced by arbitrary JSON holding a planted value. A few thousand examples run
in ``make test``; ``benchmarks/fuzz.py`` sends far more through a real stack.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.config import project_root
from streams.core.intake import Rejection, RequestIntake
from streams.core.model import GovernedRequest

SCHEMA = json.loads((project_root() / "schemas" / "request.schema.json").read_text("utf-8"))
INTAKE = RequestIntake(SCHEMA, ("city-of-lyon", "tax-office"), max_bytes=16_384)
CODES = {"oversize", "invalid-utf8", "too-deep", "not-json", "schema-violation",
         "unknown-tenant"}
PLANTED = "Jeanne Martin 12 rue X"
FIELDS = ("id", "tenant", "messages", "conversation", "classification", "purpose", "language",
          "model", "stream", "metadata", "role", "content", "unexpected")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.just(PLANTED),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10) | st.just(PLANTED), children, max_size=5),
    max_leaves=60,
)


def valid() -> dict[str, Any]:
    return {"id": "req-1", "tenant": "city-of-lyon",
            "messages": [{"role": "user", "content": "Bonjour"}]}


def outcome(data: bytes) -> GovernedRequest | Rejection:
    result = INTAKE.accept(data)
    assert isinstance(result, GovernedRequest | Rejection)
    if isinstance(result, Rejection):
        assert result.code in CODES
        assert result.message
        assert PLANTED not in result.message and "Jeanne" not in result.message
    return result


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_get_an_answer(data: bytes) -> None:
    outcome(data)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_gets_an_answer(value: Any) -> None:
    outcome(json.dumps(value).encode())


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), json_values, st.booleans())
def test_a_request_with_one_field_changed_gets_an_answer(
    field: str, value: Any, in_message: bool,
) -> None:
    document = valid()
    target = document["messages"][0] if in_message else document
    target[field] = value
    outcome(json.dumps(document).encode())


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=20_000), st.sampled_from("[{"))
def test_any_depth_gets_an_answer(depth: int, bracket: str) -> None:
    closing = "]" if bracket == "[" else "}"
    body = (bracket if bracket == "[" else '{"a":') * depth
    text = body + "0" + closing * depth
    outcome(text.encode())
