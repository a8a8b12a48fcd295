"""RequestIntake.accept: bytes in, a GovernedRequest or a precise Rejection out."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from streams.config import project_root
from streams.core.intake import MAX_NESTING, Rejection, RequestIntake, nesting_beyond
from streams.core.model import ChatMessage, GovernedRequest

SCHEMA = json.loads((project_root() / "schemas" / "request.schema.json").read_text("utf-8"))
TENANTS = ("city-of-lyon", "tax-office")
LIMIT = 16_384  # room for 257 small messages


@pytest.fixture(scope="module")
def intake() -> RequestIntake:
    return RequestIntake(SCHEMA, TENANTS, max_bytes=LIMIT)


def doc(**changes: Any) -> dict[str, Any]:
    """A valid minimal request with ``changes`` applied; a value of ``...`` removes the key."""
    base: dict[str, Any] = {
        "id": "req-1",
        "tenant": "city-of-lyon",
        "messages": [{"role": "user", "content": "Bonjour"}],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def raw(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def rejection(intake: RequestIntake, data: bytes) -> Rejection:
    result = intake.accept(data)
    assert isinstance(result, Rejection), result
    return result


# --- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            doc(),
            GovernedRequest(id="req-1", tenant="city-of-lyon",
                            messages=(ChatMessage("user", "Bonjour"),)),
            id="minimal",
        ),
        pytest.param(
            doc(
                id="Req.2:x_y-z",
                tenant="tax-office",
                messages=[
                    {"role": "system", "content": "Tu es un assistant."},
                    {"role": "user", "content": "Où déposer ma déclaration ?"},
                    {"role": "assistant", "content": ""},
                ],
                purpose="casework",
                classification="internal",
                model="douane-echo-1",
                language="fr",
                metadata={"ticket": 42, "nested": {"a": [1, 2]}},
            ),
            GovernedRequest(
                id="Req.2:x_y-z",
                tenant="tax-office",
                messages=(
                    ChatMessage("system", "Tu es un assistant."),
                    ChatMessage("user", "Où déposer ma déclaration ?"),
                    ChatMessage("assistant", ""),
                ),
                purpose="casework",
                classification="internal",
                model="douane-echo-1",
                language="fr",
                metadata={"ticket": 42, "nested": {"a": [1, 2]}},
            ),
            id="all-optional-fields",
        ),
        pytest.param(
            doc(id="x" * 128),
            GovernedRequest(id="x" * 128, tenant="city-of-lyon",
                            messages=(ChatMessage("user", "Bonjour"),)),
            id="id-of-128-chars",
        ),
    ],
)
def test_accepts_valid_requests(
    intake: RequestIntake, document: dict[str, Any], expected: GovernedRequest
) -> None:
    assert intake.accept(raw(document)) == expected


# --- size limit ----------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes (content padded; 'é' counts two bytes)."""
    data = raw(doc(messages=[{"role": "user", "content": "é"}]))
    data = raw(doc(messages=[{"role": "user", "content": "é" + "a" * (size - len(data))}]))
    assert len(data) == size
    return data


@pytest.mark.parametrize(
    ("size", "accepted"),
    [
        pytest.param(LIMIT - 1, True, id="limit-minus-1"),
        pytest.param(LIMIT, True, id="exactly-limit"),
        pytest.param(LIMIT + 1, False, id="limit-plus-1"),
        pytest.param(LIMIT * 10, False, id="far-over"),
    ],
)
def test_size_limit_is_inclusive(intake: RequestIntake, size: int, accepted: bool) -> None:
    result = intake.accept(padded(size))
    if accepted:
        assert isinstance(result, GovernedRequest)
    else:
        assert isinstance(result, Rejection)
        assert result.code == "oversize"
        assert str(size) in result.message and str(LIMIT) in result.message
        assert (result.path, result.byte_offset, result.request_id) == (None, None, None)


def test_oversize_is_checked_before_anything_else(intake: RequestIntake) -> None:
    result = rejection(intake, b"\xff" * (LIMIT + 1))  # not UTF-8 either
    assert result.code == "oversize"


# --- bytes that are not UTF-8 / not JSON ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        pytest.param(b'{"id": "\xff"}', 8, id="invalid-start-byte"),
        pytest.param(b"\xff{}", 0, id="first-byte"),
        pytest.param(b'{"a": "\xc3\xa9\xe2\x82"}', 9, id="after-multibyte-char"),
        pytest.param(b'{"a": "\xc3', 7, id="truncated-sequence-at-end"),
        pytest.param(b'"\xc0\xaf"', 1, id="overlong-encoding"),
        pytest.param(b'"\xed\xa0\x80"', 1, id="encoded-surrogate"),
    ],
)
def test_invalid_utf8_names_the_byte_offset(
    intake: RequestIntake, data: bytes, offset: int
) -> None:
    result = rejection(intake, data)
    assert result.code == "invalid-utf8"
    assert result.byte_offset == offset
    assert f"at byte {offset}" in result.message
    assert result.path is None and result.request_id is None


@pytest.mark.parametrize(
    ("data", "offset", "fragment"),
    [
        pytest.param(b'{"id": "a",}', 11, "Expecting property name", id="trailing-comma"),
        pytest.param(b'{"id": "a"', 10, "Expecting ',' delimiter", id="truncated"),
        pytest.param(b'{"m": ["a", "b",]}', 16, "Expecting value", id="trailing-comma-in-array"),
        # the offset is in bytes, not characters: each 'é' is two bytes
        pytest.param('{"id":"été",}'.encode(), 14, "Expecting property name",
                     id="offset-counts-bytes-not-chars"),
        pytest.param(b"", 0, "Expecting value", id="empty"),
        pytest.param(b'{"id": "a"} x', 12, "Extra data", id="extra-data"),
        pytest.param(b"{'id': 'a'}", 1, "double quotes", id="single-quotes"),
        pytest.param(b"\xef\xbb\xbf{}", 0, "BOM", id="utf8-bom"),
        pytest.param(b'{\n  "id": "a"\n  "tenant": "b"}', 16, "line 3 column 3",
                     id="multi-line"),
    ],
)
def test_not_json_names_the_byte_offset(
    intake: RequestIntake, data: bytes, offset: int, fragment: str
) -> None:
    result = rejection(intake, data)
    assert result.code == "not-json"
    assert result.byte_offset == offset
    assert fragment in result.message
    assert result.path is None and result.request_id is None


# --- nesting ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "offset"), [
    # the 33rd level opens at the offset given (the document's own object is level 1)
    pytest.param(b"[" * 5_000 + b"]" * 5_000, 32, id="5000-levels"),
    pytest.param(b'{"id": "x", "a": ' + b"[" * 33 + b"]" * 33 + b"}", 17 + 31, id="33-levels"),
    pytest.param(b'{"c": "\xc3\xa9", "a": ' + b"{\"b\": " * 40, 17 + 31 * 6,
                 id="offset-in-bytes"),
])
def test_deep_nesting_is_rejected_before_parsing(
    intake: RequestIntake, data: bytes, offset: int,
) -> None:
    result = rejection(intake, data)
    assert result.code == "too-deep"
    assert result.byte_offset == offset
    assert "32 levels" in result.message


@pytest.mark.parametrize("text", [
    '{"content": "' + "[" * 100 + '"}',  # brackets inside a string do not nest
    '{"content": "a \\" ' + "[" * 100 + '"}',  # an escaped quote does not end the string
])
def test_brackets_inside_strings_are_not_nesting(text: str) -> None:
    assert nesting_beyond(text, 2) is None


def test_nesting_at_the_limit_is_left_to_the_schema(intake: RequestIntake) -> None:
    deep = doc()
    value: Any = "x"
    for _ in range(MAX_NESTING - 1):
        value = [value]
    deep["extra"] = value  # the document's own object is one level
    assert rejection(intake, raw(deep)).code == "schema-violation"


def test_many_unterminated_strings_are_scanned_in_one_pass() -> None:
    # a whole-string regular expression took minutes on this; one pass takes milliseconds
    assert nesting_beyond('"\\' * 100_000, 32) is None


# --- schema violations ---------------------------------------------------------------------

TWO_MESSAGES = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        pytest.param(doc(messages=[TWO_MESSAGES[0], {"role": "admin", "content": "b"}]),
                     "$.messages[1].role", "must be one of", id="bad-role-second-message"),
        pytest.param(doc(messages=[{"role": "user", "content": 5}]),
                     "$.messages[0].content", "must be of type string, got number",
                     id="content-number"),
        pytest.param(doc(messages=[{"role": "user"}]),
                     "$.messages[0]", "missing required field 'content'",
                     id="message-without-content"),
        pytest.param(doc(messages=[{"role": "user", "content": "a", "name": "x"}]),
                     "$.messages[0]", "unexpected field 'name'", id="unexpected-field-in-message"),
        pytest.param(doc(messages=["hello"]), "$.messages[0]",
                     "must be of type object, got string", id="message-not-object"),
        pytest.param(doc(messages=[]), "$.messages", "at least 1 item", id="no-messages"),
        pytest.param(doc(messages=[TWO_MESSAGES[0]] * 257), "$.messages", "at most 256 items",
                     id="too-many-messages"),
        pytest.param(doc(messages={"role": "user", "content": "a"}), "$.messages",
                     "must be of type array, got object", id="messages-object"),
        pytest.param(doc(messages=...), "$", "missing required field 'messages'",
                     id="missing-messages"),
        pytest.param(doc(id=..., tenant=...), "$", "missing required field 'id', 'tenant'",
                     id="missing-id-and-tenant"),
        pytest.param(doc(priority="high"), "$", "unexpected field 'priority'",
                     id="unexpected-top-level-field"),
        pytest.param(doc(tenant="City Of Lyon"), "$.tenant", "required pattern",
                     id="tenant-pattern"),
        pytest.param(doc(tenant=7), "$.tenant", "must be of type string, got number",
                     id="tenant-number"),
        pytest.param(doc(tenant=""), "$.tenant", "shorter than 1", id="tenant-empty"),
        pytest.param(doc(id="a b"), "$.id", "required pattern", id="id-with-space"),
        pytest.param(doc(id="-abc"), "$.id", "required pattern", id="id-leading-dash"),
        pytest.param(doc(id="x" * 129), "$.id", "longer than 128", id="id-too-long"),
        pytest.param(doc(id=""), "$.id", "shorter than 1", id="id-empty"),
        pytest.param(doc(id=12), "$.id", "must be of type string, got number", id="id-number"),
        pytest.param(doc(id=None), "$.id", "must be of type string, got null", id="id-null"),
        # JSON Schema patterns follow ECMA-262: '$' is the end of input, not "before a final
        # newline" as in Python's re; an id with a trailing newline breaks keys and logs.
        pytest.param(doc(id="req-1\n"), "$.id", "required pattern", id="id-trailing-newline"),
        pytest.param(doc(language="fr\n"), "$.language", "required pattern",
                     id="language-trailing-newline"),
        pytest.param(doc(classification="top-secret"), "$.classification", "must be one of",
                     id="classification-unknown"),
        pytest.param(doc(classification=None), "$.classification", "must be one of",
                     id="classification-null"),
        pytest.param(doc(language="FR"), "$.language", "required pattern", id="language-upper"),
        pytest.param(doc(purpose="p" * 64), "$.purpose", "longer than 63", id="purpose-too-long"),
        pytest.param(doc(model=["a"]), "$.model", "must be of type string, got array",
                     id="model-array"),
        pytest.param(doc(metadata=[1]), "$.metadata", "must be of type object, got array",
                     id="metadata-array"),
        pytest.param(doc(metadata=True), "$.metadata", "must be of type object, got boolean",
                     id="metadata-boolean"),
        pytest.param([doc()], "$", "must be of type object, got array", id="top-level-array"),
        pytest.param(None, "$", "must be of type object, got null", id="top-level-null"),
    ],
)
def test_schema_violations_name_the_json_path(
    intake: RequestIntake, document: Any, path: str, fragment: str
) -> None:
    result = rejection(intake, raw(document))
    assert result.code == "schema-violation"
    assert result.path == path
    assert result.message.startswith(f"{path}: ")
    assert fragment in result.message
    assert result.byte_offset is None


def test_several_violations_report_the_first_by_path_and_count_the_rest(
    intake: RequestIntake,
) -> None:
    document = doc(classification="x", messages=[{"role": "admin", "content": 1}], model=3)
    result = rejection(intake, raw(document))
    assert result.path == "$.classification"
    assert result.message.endswith("(and 3 more)")


@pytest.mark.parametrize(
    ("document", "request_id", "tenant"),
    [
        pytest.param(doc(messages=[]), "req-1", "city-of-lyon", id="usable-id-and-tenant"),
        pytest.param(doc(id="x" * 128, messages=[]), "x" * 128, "city-of-lyon", id="id-128"),
        pytest.param(doc(id="x" * 129), None, "city-of-lyon", id="id-129"),
        pytest.param(doc(id=""), None, "city-of-lyon", id="id-empty"),
        pytest.param(doc(id=17), None, "city-of-lyon", id="id-number"),
        pytest.param(doc(id="a b"), None, "city-of-lyon", id="id-bad-pattern"),
        pytest.param(doc(id="req-1\n"), None, "city-of-lyon", id="id-trailing-newline"),
        pytest.param(doc(id=...), None, "city-of-lyon", id="id-missing"),
        pytest.param(doc(tenant="Ville de Lyon"), "req-1", None, id="tenant-bad-pattern"),
        pytest.param(doc(tenant=["city-of-lyon"]), "req-1", None, id="tenant-array"),
        pytest.param([doc()], None, None, id="not-an-object"),
    ],
)
def test_schema_violation_recovers_the_id_and_tenant_only_when_usable(
    intake: RequestIntake, document: Any, request_id: str | None, tenant: str | None
) -> None:
    result = rejection(intake, raw(document))
    assert result.code == "schema-violation"
    assert (result.request_id, result.tenant) == (request_id, tenant)


@pytest.mark.parametrize(
    "tenant",
    [pytest.param("paris", id="undeclared"), pytest.param("city-of-lyo", id="prefix-of-known")],
)
def test_unknown_tenant(intake: RequestIntake, tenant: str) -> None:
    result = rejection(intake, raw(doc(tenant=tenant)))
    assert result.code == "unknown-tenant"
    assert result.path == "$.tenant"
    assert result.request_id == "req-1"
    assert result.message.startswith("$.tenant: ")
    # neither the value nor the agencies the policy knows; recorded as a digest only
    assert tenant not in result.message
    assert not [known for known in TENANTS if known in result.message]
    assert result.tenant is None
    assert result.undeclared == {
        "tenant": "sha256:" + hashlib.sha256(tenant.encode()).hexdigest()}


def test_a_rejected_message_names_its_tenant_only_if_the_policy_declares_it(
        intake: RequestIntake) -> None:
    assert rejection(intake, raw(doc(tenant="jeanne-martin", messages=[]))).tenant is None
    assert rejection(intake, raw(doc(messages=[]))).tenant == "city-of-lyon"


# --- strict shapes for what the audit log keeps (issue 12, item 10) --------------------------

HOSTILE = "Jeanne Martin, 12 rue X"


@pytest.mark.parametrize("model", [
    "gpt-4o-2024-08-06", "claude-3-5-sonnet-latest", "mistral/large", "llama3.1:8b",
    "meta-llama/Llama-3.1-8B-Instruct", "claude-3-5-sonnet@20240620",
    "anthropic.claude-3-5-sonnet-20240620-v1:0", "douane-echo-1", "qwen2.5-72b-instruct",
])
def test_model_names_providers_use_are_accepted(intake: RequestIntake, model: str) -> None:
    accepted = intake.accept(raw(doc(model=model)))
    assert isinstance(accepted, GovernedRequest) and accepted.model == model


@pytest.mark.parametrize(("field", "value"), [
    ("model", HOSTILE), ("model", "gpt-4o\n"), ("model", "gpt 4o"), ("model", "/etc/passwd"),
    ("model", ""), ("purpose", HOSTILE), ("purpose", "Casework"), ("purpose", "case_work"),
    ("purpose", ""), ("tenant", HOSTILE),
])
def test_free_text_where_an_identifier_belongs_is_rejected_without_echo(
        intake: RequestIntake, field: str, value: str) -> None:
    result = rejection(intake, raw(doc(**{field: value})))
    assert result.code == "schema-violation"
    assert result.path == f"$.{field}"
    assert result.undeclared is None  # nothing of it is kept, not even a digest
    if value:
        assert value not in result.message
    assert not [part for part in HOSTILE.split() if part in result.message]


def test_an_unexpected_field_named_with_free_text_is_not_named(intake: RequestIntake) -> None:
    result = rejection(intake, raw(doc(**{HOSTILE: 1, "extra_1": 2})))
    assert result.code == "schema-violation"
    assert result.message.startswith("$: unexpected field 'extra_1', 1 field(s) whose name is "
                                     "not shown (allowed: ")
    assert not [part for part in HOSTILE.split() if part in result.message]


# --- privacy: the offending value is never echoed -------------------------------------------

EMAIL = "jeanne.martin@example.fr"
NAME = "Jeanne Martin"
PHONE = 33612345678


@pytest.mark.parametrize(
    ("data", "planted"),
    [
        pytest.param(raw(doc(messages=[TWO_MESSAGES[0], {"role": EMAIL, "content": "x"}])),
                     EMAIL, id="role-email"),
        pytest.param(raw(doc(messages=[{"role": "user", "content": PHONE}])), str(PHONE),
                     id="content-number"),
        pytest.param(raw(doc(classification=NAME)), NAME, id="classification-name"),
        pytest.param(raw(doc(id=EMAIL)), EMAIL, id="id-email"),
        pytest.param(raw(doc(id=NAME * 10)), NAME, id="id-too-long"),
        pytest.param(raw(doc(tenant=NAME)), NAME, id="tenant-name"),
        pytest.param(raw(doc(language=NAME)), NAME, id="language-name"),
        pytest.param(raw(doc(purpose=f"dossier de {NAME} " * 5)), NAME, id="purpose-too-long"),
        pytest.param(raw(doc(model={"owner": NAME})), NAME, id="model-object"),
        pytest.param(raw(doc(metadata=NAME)), NAME, id="metadata-string"),
        pytest.param(raw(doc(messages=NAME)), NAME, id="messages-string"),
        pytest.param(raw(doc(messages=[NAME])), NAME, id="message-string"),
        pytest.param(raw(doc(messages=[{"role": "user", "content": "x", "to": EMAIL}])), EMAIL,
                     id="unexpected-field-value"),
        pytest.param(raw(doc(extra=EMAIL, classification=NAME)), EMAIL,
                     id="several-violations"),
        pytest.param(raw(NAME), NAME, id="top-level-string"),
        pytest.param(raw(PHONE), str(PHONE), id="top-level-number"),
        pytest.param(raw(doc(messages=[{"role": "user", "content": NAME}]))[:-3], NAME,
                     id="not-json-truncated"),
        pytest.param(f'{{"content": "{NAME}",}}'.encode(), NAME, id="not-json-trailing-comma"),
        pytest.param(f'{{"content": "{NAME}\xff"}}'.encode("latin-1"), NAME, id="not-utf8"),
    ],
)
def test_rejection_never_echoes_the_offending_value(
    intake: RequestIntake, data: bytes, planted: str
) -> None:
    result = rejection(intake, data)
    assert planted not in result.message
    assert planted not in (result.path or "")
    for part in planted.split(" "):  # not even a piece of it
        assert part not in result.message
