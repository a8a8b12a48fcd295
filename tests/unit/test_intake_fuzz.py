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

from streams.adapters.schemas import forward_schema
from streams.config import project_root
from streams.core.intake import Rejection, RequestIntake, _RequestValidator
from streams.core.model import GovernedRequest
from streams.core.quick_schema import QuickSchema

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


# --- the compiled check (streams/core/quick_schema.py) never passes what jsonschema refuses:
# it alone decides that a message is valid, jsonschema only words the refusals

REQUEST_QUICK = QuickSchema(SCHEMA)
REQUEST_FULL = _RequestValidator(SCHEMA)
FORWARD = forward_schema()
# strings at the edges of the schemas' patterns: a final newline (Python's "$" matches before
# it, ECMA-262's does not), digits and letters outside ASCII, lone surrogates, spaces
edge_strings = st.sampled_from([
    "req-1\n", "req-1", "", " ", "a" * 129, "city-of-lyon\n", "CITY", "fr", "fr\n", "FR", "f",
    "req-١", "réq", "\ud800", "a/admitted", "a/admitted\n", "0" * 64, "0" * 64 + "\n", "x:y@z/w",
])
values = json_values | edge_strings


def forward_message() -> dict[str, Any]:
    return {"version": 1, "id": "req-1", "tenant": "city-of-lyon", "provider": "mistral",
            "fallbacks": ["ovh"], "classification": "personal", "purpose": None,
            "audit_record_id": "req-1/admitted", "stream": False, "conversation": "req-1",
            "policy_hash": "0" * 64, "redacted_entities": {"PERSON": 1}, "metadata": {},
            "body": {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}}


def test_the_compiled_check_passes_valid_messages() -> None:
    assert REQUEST_QUICK.passes(valid())
    assert FORWARD.quick.passes(forward_message())


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), values, st.booleans())
def test_the_compiled_check_never_passes_a_request_jsonschema_refuses(
    field: str, value: Any, in_message: bool,
) -> None:
    document = valid()
    target = document["messages"][0] if in_message else document
    target[field] = value
    if REQUEST_QUICK.passes(document):
        assert not list(REQUEST_FULL.iter_errors(document)), document


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([*forward_message(), "unexpected"]), values, st.booleans())
def test_the_compiled_check_never_passes_a_forward_message_jsonschema_refuses(
    field: str, value: Any, in_body: bool,
) -> None:
    document = forward_message()
    (document["body"] if in_body else document)[field] = value
    if FORWARD.quick.passes(document):
        assert not list(FORWARD.validator.iter_errors(document)), document
