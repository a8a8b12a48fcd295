"""Audit records: their payload, canonical bytes, leaf hash, signing input, and chain checks.

Pure: no I/O. The stores (``streams.adapters.audit``) persist what this module builds and
feeds stored records back into :func:`verify_chain`; signing and signature verification are
passed in as plain callables so this module stays free of ``cryptography``.

A record is the RFC 8785 canonical JSON of :func:`record_payload`. Records form a hash chain:
each payload carries ``prev_hash``, the RFC 6962 leaf hash of the record before it (the genesis
value for the first). The signature is Ed25519 over the DSSE pre-authentication encoding of the
canonical bytes, so a record can travel as a standard DSSE envelope.

Error and report texts name record seqs, record ids and key ids only, never ``details`` content.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, get_args

import jsonschema

from streams.core import canonical_json
from streams.core.canonical_json import CanonicalJsonError
from streams.errors import DouaneError

AUDIT_SCHEMA = "douane.audit/v1"
PAYLOAD_TYPE = "application/vnd.douane.audit+json"
# what a record says happened: the one list (mypy checks every event built; the schema's
# enum, schemas/audit-record.schema.json, is kept equal by tests/unit/test_audit_core.py)
AuditKind = Literal["admitted", "blocked", "rejected", "forwarded", "answered", "failed",
                    "key_rotated", "policy_changed", "erased", "retention_run",
                    "hold_placed", "hold_released", "erasure_refused", "subject_linked",
                    "budget_alert",
                    "console_access"]
AUDIT_KINDS: frozenset[str] = frozenset(get_args(AuditKind))
GENESIS_HASH = "00" * 32

VerifyFn = Callable[[bytes, bytes], bool]
"""``verify(message, signature) -> bool`` for one public key."""

RecordHook = Callable[[int, dict[str, Any], bytes], "str | None"]
"""``hook(seq, payload, leaf_hash) -> problem or None``: more checks on a record that passed."""

_JSON_INT_LIMIT = 2**53 - 1


class AuditPayloadError(DouaneError, ValueError):
    """An audit event cannot become a record (never quotes details values)."""


@dataclass(frozen=True)
class AuditEvent:
    """One decision to record. ``details`` must hold no raw personal data (caller's duty)."""

    record_id: str  # idempotency key, e.g. f"{request_id}/admitted"
    kind: AuditKind
    request_id: str | None
    tenant: str | None
    occurred_at: datetime  # timezone-aware
    details: Mapping[str, Any]


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z``: ``2025-01-02T03:04:05.000006Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AuditPayloadError("occurred_at must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain_json(value: Any, depth: int = 0) -> Any:
    """A deep copy of ``value`` as dict/list/str/int/float/bool/None, or AuditPayloadError."""
    if depth > 64:
        raise AuditPayloadError("details are nested more than 64 levels deep")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > _JSON_INT_LIMIT:
            raise AuditPayloadError(f"details hold an integer beyond 2**53 (depth {depth})")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditPayloadError(f"details hold a non-finite float (depth {depth})")
        return float(value)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise AuditPayloadError(f"details hold a non-string object key (depth {depth})")
        return {key: _plain_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(item, depth + 1) for item in value]
    raise AuditPayloadError(
        f"details hold a {type(value).__name__}, which is not JSON (depth {depth})"
    )


def record_payload(event: AuditEvent, *, seq: int, prev_hash: str, key_id: str) -> dict[str, Any]:
    """The JSON object that is canonicalised, hashed and signed for ``event``."""
    if event.kind not in AUDIT_KINDS:
        raise AuditPayloadError(f"record {event.record_id!r}: unknown kind {event.kind!r}")
    if seq < 1:
        raise AuditPayloadError(f"record {event.record_id!r}: seq must be >= 1")
    return _payload(event, seq, prev_hash, key_id, format_timestamp(event.occurred_at),
                    _plain_json(event.details))


def _payload(event: AuditEvent, seq: int, prev_hash: str, key_id: str, occurred_at: str,
             details: Any) -> dict[str, Any]:
    """The signed fields of a record, in one place for the plain and the fast path."""
    return {
        "schema": AUDIT_SCHEMA,
        "seq": seq,
        "record_id": event.record_id,
        "kind": event.kind,
        "request_id": event.request_id,
        "tenant": event.tenant,
        "occurred_at": occurred_at,
        "prev_hash": prev_hash,
        "key_id": key_id,
        "details": details,
    }


class _NotPlain(DouaneError):
    """``details`` hold something the fast path does not write exactly (internal)."""


def _plain_copy(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` if it is JSON that the C encoder writes exactly as RFC 8785 does.

    Exact types only (dict, list, str, bool, None, int within 2**53; no floats, tuples or
    subclasses), str keys below U+D800 (where code-point order is UTF-16 order), at most 64
    levels deep, as ``_plain_json`` allows. Anything else raises _NotPlain and takes the
    general path, which also raises its errors.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_JSON_INT_LIMIT <= value <= _JSON_INT_LIMIT:
            return value
        raise _NotPlain
    if depth >= 64:
        raise _NotPlain
    if kind is dict:
        copy = {}
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\ud7ff"):
                raise _NotPlain
            inner = type(item)  # strings and small ints inline: most values are leaves
            if inner is str or (inner is int and -_JSON_INT_LIMIT <= item <= _JSON_INT_LIMIT):
                copy[key] = item
            else:
                copy[key] = _plain_copy(item, depth + 1)
        return copy
    if kind is list:
        return [item if type(item) is str else _plain_copy(item, depth + 1) for item in value]
    raise _NotPlain


def _fast_string(value: Any) -> bytes | None:
    """The canonical JSON bytes of a str or None, or None if the general path must judge."""
    if value is None:
        return b"null"
    if type(value) is not str:
        return None
    try:
        return canonical_json.encode_plain(value)
    except UnicodeEncodeError:  # a lone surrogate
        return None


def _fast_timestamp(moment: datetime) -> str | None:
    """:func:`format_timestamp` for the common case (a UTC datetime after year 999)."""
    if moment.tzinfo is not UTC or moment.year < 1000:
        return None
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def _is_plain_ascii(value: Any) -> bool:
    """ASCII letters and digits need no escaping in JSON (prev_hash and key_id are hex)."""
    return type(value) is str and value.isascii() and (value.isalnum() or not value)


class PreparedRecord:
    """An event with everything that does not depend on its place in the log done already.

    A store prepares events before it takes its write lock; inside the lock only the seq, the
    previous hash and the key id are filled in. The canonical bytes are the record's fields in
    RFC 8785 key order (all keys are ASCII), each value in its own canonical form, so they are
    byte for byte ``canonical_bytes(record_payload(...))``. Events the fast path does not cover
    exactly (floats, tuples, subclasses, other time zones, unknown kinds, ...) go through that
    general path at :meth:`build`, which then raises its errors as before (after the store's
    idempotency check). ``tests/unit/test_audit_prepared.py`` checks both paths agree.
    """

    __slots__ = (
        "_details",
        "_details_json",
        "_end",
        "_head",
        "_middle",
        "_occurred_at",
        "_tail",
        "event",
    )

    def __init__(self, event: AuditEvent) -> None:
        self.event = event
        self._details_json: bytes | None = None  # None: the general path
        self._details: dict[str, Any] | None = None
        self._head = self._middle = self._tail = self._end = b""
        self._occurred_at = ""
        if event.kind not in AUDIT_KINDS or type(event.details) is not dict:
            return
        occurred_at = _fast_timestamp(event.occurred_at)
        record_id = _fast_string(event.record_id) if type(event.record_id) is str else None
        kind = _fast_string(event.kind)
        request_id = _fast_string(event.request_id)
        tenant = _fast_string(event.tenant)
        if (occurred_at is None or record_id is None or kind is None or request_id is None
                or tenant is None):
            return
        try:
            details = _plain_copy(event.details)
            details_json = canonical_json.encode_plain(details)
        except (_NotPlain, UnicodeEncodeError):  # UnicodeEncodeError: a lone surrogate
            return
        self._occurred_at = occurred_at
        self._head = b'{"details":' + details_json + b',"key_id":"'
        self._middle = (b'","kind":' + kind + b',"occurred_at":"' + occurred_at.encode("ascii")
                        + b'","prev_hash":"')
        self._tail = (b'","record_id":' + record_id + b',"request_id":' + request_id
                      + b',"schema":"' + AUDIT_SCHEMA.encode("ascii") + b'","seq":')
        self._end = b',"tenant":' + tenant + b"}"
        self._details = details  # the record's own copy, as _plain_json makes
        self._details_json = details_json

    @property
    def is_fast(self) -> bool:
        """True if :meth:`build` assembles the record from prepared parts."""
        return self._details_json is not None

    def build(self, *, seq: int, prev_hash: str, key_id: str) -> tuple[dict[str, Any], bytes]:
        """``(payload, canonical bytes)`` of the record at ``seq`` after ``prev_hash``."""
        if (self._details_json is None or type(seq) is not int
                or not 1 <= seq <= _JSON_INT_LIMIT or not _is_plain_ascii(prev_hash)
                or not _is_plain_ascii(key_id)):
            payload = record_payload(self.event, seq=seq, prev_hash=prev_hash, key_id=key_id)
            return payload, canonical_bytes(payload)
        details, self._details = self._details, None
        if details is None:  # built a second time: a copy of its own again
            details = json.loads(self._details_json)
        canonical = b"".join((self._head, key_id.encode("ascii"), self._middle,
                              prev_hash.encode("ascii"), self._tail, str(seq).encode("ascii"),
                              self._end))
        return _payload(self.event, seq, prev_hash, key_id, self._occurred_at, details), canonical


def canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) serialisation of ``payload`` (plain JSON values, as record_payload makes)."""
    try:
        return canonical_json.dumps(dict(payload))  # the C encoder where exact, else rfc8785
    except CanonicalJsonError as exc:
        # rfc8785's messages quote the offending value; keep it out of errors and logs.
        raise AuditPayloadError(f"payload cannot be canonicalised ({exc})") from None


def leaf_hash(canonical: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + canonical).digest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding (the bytes that are actually signed)."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def signing_input(canonical: bytes) -> bytes:
    """What the Ed25519 signature of a record covers."""
    return pae(PAYLOAD_TYPE, canonical)


class ChainEntry(NamedTuple):
    """One stored record as the verifier sees it.

    ``columns`` are values the store keeps beside the payload (record_id, kind, request_id,
    tenant, occurred_at, ...) which must agree with the signed payload; the key ``leaf_hash``
    is compared with the hash recomputed from ``canonical``.
    """

    seq: int
    canonical: bytes
    signature: bytes
    key_id: str
    columns: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of a check. ``records_checked`` counts records that passed every check."""

    ok: bool
    records_checked: int
    first_bad_seq: int | None = None
    first_bad_record_id: str | None = None
    problem: str | None = None
    head_seq: int | None = None  # last good record (for later checkpoints)
    head_leaf_hash: str | None = None


class _Bad(DouaneError):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate object key")
    return result


def _parse(canonical: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(
            canonical, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
        )
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError, UnicodeDecodeError
        return None
    return value if isinstance(value, dict) else None


def _label(seq: int, record_id: str | None) -> str:
    return f"record {seq} ({record_id})" if record_id else f"record {seq}"


def _check_record(
    entry: ChainEntry,
    payload: dict[str, Any] | None,
    label: str,
    verifiers: Mapping[str, VerifyFn],
    validator: jsonschema.Draft202012Validator,
) -> tuple[dict[str, Any], bytes]:
    """Checks that need only the record itself; returns (payload, leaf hash) or raises _Bad."""
    verify = verifiers.get(entry.key_id)
    if verify is None:
        raise _Bad(f"{label}: unknown key id {entry.key_id}")
    if not verify(signing_input(entry.canonical), entry.signature):
        raise _Bad(f"{label}: signature does not verify with key {entry.key_id}")
    if payload is None:
        raise _Bad(f"{label}: payload is not a JSON object")
    try:
        canonical_ok = canonical_bytes(payload) == entry.canonical
    except AuditPayloadError:
        canonical_ok = False
    if not canonical_ok:
        raise _Bad(f"{label}: payload is not canonical JSON")
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is not None:
        # Name the field and the rule, never the offending value.
        raise _Bad(
            f"{label}: payload does not match the audit schema "
            f"({error.json_path}: {error.validator})"
        )
    if payload["seq"] != entry.seq:
        raise _Bad(
            f"{label}: stored as seq {entry.seq} but its signed payload says seq {payload['seq']}"
        )
    if payload["key_id"] != entry.key_id:
        raise _Bad(f"{label}: stored key id differs from the signed key id {payload['key_id']}")
    digest = leaf_hash(entry.canonical)
    for column, stored in sorted((entry.columns or {}).items()):
        expected = digest.hex() if column == "leaf_hash" else payload.get(column)
        if stored != expected:
            raise _Bad(f"{label}: stored column {column} does not match the signed payload")
    return payload, digest


@functools.lru_cache(maxsize=8)
def _compiled_validator(schema_json: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)  # slow: once per distinct schema
    return jsonschema.Draft202012Validator(schema)


def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    return _compiled_validator(json.dumps(schema, sort_keys=True))


def verify_record(
    entry: ChainEntry | tuple[int, bytes, bytes, str],
    verifiers: Mapping[str, VerifyFn],
    schema: Mapping[str, Any],
) -> VerificationReport:
    """Check one record on its own (signature, canonical form, schema), not its place in a chain."""
    return _verify([entry], verifiers, schema, chained=False)


def verify_chain(
    entries: Iterable[ChainEntry | tuple[int, bytes, bytes, str]],
    verifiers: Mapping[str, VerifyFn],
    schema: Mapping[str, Any],
    on_record: RecordHook | None = None,
) -> VerificationReport:
    """Check records given in seq order and report the first problem.

    Per record: known key id, valid signature, JSON object in RFC 8785 canonical form, valid
    against ``schema``, payload seq and key id equal to the stored ones, stored columns equal to
    the payload. Across records: seqs contiguous from 1, ``prev_hash`` equal to the leaf hash of
    the previous record (GENESIS_HASH for the first), record ids unique.

    ``on_record`` adds checks (key windows, the Merkle tree: ``streams.core.log_check``).

    This proves the log is internally consistent. Removing records from the *end* of the log is
    not detectable here; signed checkpoints (``streams.core.log_check``) cover that.
    """
    return _verify(entries, verifiers, schema, chained=True, on_record=on_record)


def _verify(
    entries: Iterable[ChainEntry | tuple[int, bytes, bytes, str]],
    verifiers: Mapping[str, VerifyFn],
    schema: Mapping[str, Any],
    *,
    chained: bool,
    on_record: RecordHook | None = None,
) -> VerificationReport:
    validator = _validator(schema)
    checked = 0
    previous: tuple[int, str] | None = None  # (seq, leaf hash hex) of the last good record
    seen: dict[str, int] = {}
    for raw in entries:
        entry = raw if isinstance(raw, ChainEntry) else ChainEntry(*raw)
        parsed = _parse(entry.canonical)
        raw_id = parsed.get("record_id") if parsed else None
        record_id = raw_id if isinstance(raw_id, str) else None
        label = _label(entry.seq, record_id)
        try:
            if chained:
                expected_seq = 1 if previous is None else previous[0] + 1
                if entry.seq != expected_seq:
                    if previous is None:
                        raise _Bad(f"gap: the first record is {label}, not record 1")
                    raise _Bad(f"gap: {label} follows record {previous[0]}")
            payload, digest = _check_record(entry, parsed, label, verifiers, validator)
            if chained:
                expected_prev = GENESIS_HASH if previous is None else previous[1]
                if payload["prev_hash"] != expected_prev:
                    if previous is None:
                        raise _Bad(f"{label}: prev_hash is not the genesis hash")
                    raise _Bad(
                        f"{label}: prev_hash does not match the hash of record {previous[0]}"
                    )
                if payload["record_id"] in seen:
                    raise _Bad(
                        f"{label}: record id already used by record {seen[payload['record_id']]}"
                    )
                seen[payload["record_id"]] = entry.seq
            if on_record is not None:
                problem = on_record(entry.seq, payload, digest)
                if problem is not None:
                    raise _Bad(f"{label}: {problem}")
        except _Bad as bad:
            return VerificationReport(
                ok=False,
                records_checked=checked,
                first_bad_seq=entry.seq,
                first_bad_record_id=record_id,
                problem=bad.problem,
                head_seq=previous[0] if previous else None,
                head_leaf_hash=previous[1] if previous else None,
            )
        checked += 1
        previous = (entry.seq, digest.hex())
    return VerificationReport(
        ok=True,
        records_checked=checked,
        head_seq=previous[0] if previous else None,
        head_leaf_hash=previous[1] if previous else None,
    )
