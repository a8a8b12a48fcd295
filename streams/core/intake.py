"""Intake: turn the bytes a producer published into a request, or a precise rejection.

Checks run cheapest first: size, UTF-8, JSON, schema, tenant. Error messages name what was
wrong and where (a JSON path or a byte offset) but never repeat the offending value, because
that value may be personal data.

What a producer writes ends up in signed audit records kept for years, which retention never
shreds: the fields copied there (``tenant``, ``purpose``, ``model``, ``id``, ``language``) have
strict identifier patterns in the request schema, so free text such as a name and address is
rejected here. A value that has the right shape but that the policy does not declare (an
unknown tenant, purpose or model) is recorded as its digest (:func:`undeclared_value`), never
as written, and error messages do not list the policy's tenants.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from streams.core.model import ChatMessage, GovernedRequest
from streams.core.quick_schema import QuickSchema

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}\Z")  # as in request.schema
# a field name safe to repeat in an error message (a producer may use anything as a key)
_SHOWN_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}\Z")


def undeclared_value(value: str) -> str:
    """How an audit record names a value the policy does not declare: ``sha256:<hex>``.

    Enough to confirm which value a producer sent (hash the suspected value and compare),
    without writing it into a log kept for years."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


# A request is a few levels deep (request > messages > message); far more is an attack or a bug.
MAX_NESTING = 32
_SPECIAL = re.compile(r'[\[\]{}"\\]')  # what can change the nesting or enter/leave a string


def nesting_beyond(text: str, limit: int) -> int | None:
    """The character offset where arrays and objects first nest deeper than ``limit`` (outside
    strings), or None. One pass over the brackets, quotes and backslashes (a regular expression
    for whole strings went quadratic on many unterminated quotes); a malformed text is left for
    the parser to report."""
    depth, in_string, escaped = 0, False, -1
    for special in _SPECIAL.finditer(text):
        at, char = special.start(), special.group()
        if at == escaped:
            continue
        if in_string:
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return at
        elif char in "]}":
            depth -= 1
    return None


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262's ``$``: the end of the input. Python's ``$`` also matches
    before a final newline, which would let an id such as ``"req-1\\n"`` through."""
    if not validator.is_type(instance, "string"):
        return
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    if not re.search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


_RequestValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _ecma_pattern}
)


@dataclass(frozen=True)
class Rejection:
    # oversize | invalid-utf8 | too-deep | not-json | schema-violation | unknown-tenant |
    # tenant-mismatch
    code: str
    message: str
    path: str | None = None
    byte_offset: int | None = None
    request_id: str | None = None  # set when the message carried a usable id
    tenant: str | None = None  # set only for a tenant the policy declares
    # values of the right shape that the policy does not declare: field -> undeclared_value()
    undeclared: Mapping[str, str] | None = None


class RequestIntake:
    """Validates raw request bytes against the request schema and the known tenants."""

    def __init__(
        self, schema: Mapping[str, Any], known_tenants: Collection[str], max_bytes: int
    ) -> None:
        self._validator = _RequestValidator(schema)
        self._quick = QuickSchema(schema)  # the common case; _validator says what is wrong
        self._known_tenants = frozenset(known_tenants)
        self._max_bytes = max_bytes

    def with_known_tenants(self, known_tenants: Collection[str]) -> RequestIntake:
        """The same intake for another policy's tenants (after a policy reload)."""
        other = object.__new__(RequestIntake)
        other.__dict__.update(self.__dict__)
        other._known_tenants = frozenset(known_tenants)
        return other

    def accept(self, raw: bytes, topic_tenant: str | None = None) -> GovernedRequest | Rejection:
        """``topic_tenant``: the tenant whose own request topic the message came from (the
        per-tenant layout); the message is that tenant's, whatever its ``tenant`` field says:
        a field naming another tenant is rejected (``tenant-mismatch``), a missing one is
        taken from the topic."""
        if topic_tenant is not None:
            return self._accept_on_tenant_topic(raw, topic_tenant)
        return self._accept(raw)

    def _accept_on_tenant_topic(self, raw: bytes, topic_tenant: str) -> GovernedRequest | Rejection:
        known = topic_tenant in self._known_tenants
        accepted = self._accept(raw, topic_tenant)
        if isinstance(accepted, Rejection):
            # the topic says whose message it is (only that tenant may write there): its
            # rejections are that tenant's, if the policy still declares it
            return replace(accepted, tenant=topic_tenant if known else None)
        if not known:
            # its topic outlived the tenant (removed from the policy, ACLs revoked)
            return Rejection(
                "unknown-tenant",
                "the tenant of this request topic is not declared in the policy (any more)",
                path="$.tenant", request_id=accepted.id)
        return accepted

    def _accept(self, raw: bytes, topic_tenant: str | None = None
                ) -> GovernedRequest | Rejection:
        if len(raw) > self._max_bytes:
            return Rejection(
                "oversize",
                f"message is {len(raw)} bytes; the limit is {self._max_bytes} bytes",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return Rejection(
                "invalid-utf8",
                f"message is not valid UTF-8: {error.reason} at byte {error.start}",
                byte_offset=error.start,
            )
        too_deep = nesting_beyond(text, MAX_NESTING)
        if too_deep is not None:
            # before parsing: a value nested thousands of levels deep exhausts the parser's
            # recursion (and the schema validator's) instead of being rejected precisely
            return Rejection(
                "too-deep",
                f"message nests arrays and objects more than {MAX_NESTING} levels deep "
                f"(at byte {len(text[:too_deep].encode('utf-8'))})",
                byte_offset=len(text[:too_deep].encode("utf-8")),
            )
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            return Rejection(
                "not-json",
                f"message is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
                byte_offset=len(text[: error.pos].encode("utf-8")),
            )
        request_id = _usable_id(document)
        if topic_tenant is not None and isinstance(document, dict):
            claimed = document.setdefault("tenant", topic_tenant)
            if claimed != topic_tenant:
                # never echoed: the claimed value may be another agency's name, or anything
                return Rejection(
                    "tenant-mismatch",
                    f"$.tenant: the message names another tenant than the one of its topic "
                    f"(douane.requests.{topic_tenant}); a tenant publishes only its own "
                    "requests: leave the field out or give the topic's tenant",
                    path="$.tenant", request_id=request_id,
                    undeclared=({"tenant": undeclared_value(claimed)}
                                if isinstance(claimed, str) else None))
        tenant = _usable_tenant(document, self._known_tenants)
        errors = [] if self._quick.passes(document) else sorted(
            self._validator.iter_errors(document), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return Rejection(
                "schema-violation",
                f"{first.json_path}: {describe_schema_error(first)}{more}",
                path=first.json_path,
                request_id=request_id,
                tenant=tenant,
            )
        if document["tenant"] not in self._known_tenants:
            # neither the value (a producer may have put anything there) nor the other
            # agencies' names (they are no business of this producer)
            return Rejection(
                "unknown-tenant",
                "$.tenant: this tenant is not declared in the policy (an operator declares "
                "tenants in the policy's tenants section)",
                path="$.tenant",
                request_id=request_id,
                undeclared={"tenant": undeclared_value(document["tenant"])},
            )
        return GovernedRequest(
            id=document["id"],
            tenant=document["tenant"],
            messages=tuple(ChatMessage(m["role"], m["content"]) for m in document["messages"]),
            purpose=document.get("purpose"),
            classification=document.get("classification"),
            model=document.get("model"),
            language=document.get("language"),
            metadata=document.get("metadata", {}),
            stream=bool(document.get("stream", False)),
            conversation=document.get("conversation"),
        )


def _usable_id(document: object) -> str | None:
    if isinstance(document, dict):
        candidate = document.get("id")
        if isinstance(candidate, str) and REQUEST_ID_PATTERN.match(candidate):
            return candidate
    return None


def _usable_tenant(document: object, known: Collection[str]) -> str | None:
    """The tenant of a rejected message, for its audit record: only one the policy declares."""
    if isinstance(document, dict):
        candidate = document.get("tenant")
        if isinstance(candidate, str) and candidate in known:
            return candidate
    return None


def describe_schema_error(error: ValidationError) -> str:
    """A sentence for one schema violation that never quotes the offending value."""
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    match error.validator:
        case "required":
            missing = [name for name in expected if name not in instance]
            return "missing required field " + ", ".join(f"'{name}'" for name in missing)
        case "additionalProperties":
            allowed = sorted(schema.get("properties", {}))
            unexpected = sorted(set(instance) - set(allowed))
            # a key is producer text too: only an identifier-like name is repeated
            shown = [f"'{name}'" for name in unexpected if _SHOWN_FIELD_NAME.match(name)]
            hidden = len(unexpected) - len(shown)
            if hidden:
                shown.append(f"{hidden} field(s) whose name is not shown")
            return "unexpected field " + ", ".join(shown) + f" (allowed: {', '.join(allowed)})"
        case "type":
            return f"must be of type {expected}, got {_json_type(instance)}"
        case "enum":
            return "must be one of " + ", ".join(json.dumps(v) for v in expected)
        case "minLength":
            return f"must not be shorter than {expected} characters"
        case "maxLength":
            return f"must not be longer than {expected} characters"
        case "minItems":
            return f"must have at least {expected} item(s)"
        case "maxItems":
            return f"must have at most {expected} items"
        case "pattern":
            return f"does not match the required pattern {expected}"
        case _:
            return f"violates the '{error.validator}' rule of the request schema"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
