"""The pure audit core: payload, canonical bytes, hashes, DSSE PAE, and the chain checker.

Signatures here are faked with HMAC so the core is tested without cryptography.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from streams.adapters.audit.verify import load_audit_schema
from streams.core import audit
from streams.core.audit import (
    AUDIT_SCHEMA,
    GENESIS_HASH,
    AuditEvent,
    AuditPayloadError,
    ChainEntry,
    canonical_bytes,
    leaf_hash,
    pae,
    record_payload,
    signing_input,
    verify_chain,
    verify_record,
)

KEY_A = "aaaaaaaaaaaaaaaa"
KEY_B = "bbbbbbbbbbbbbbbb"
SENTINEL = "Jon Jonsson 120174-3389"  # stands for personal data that must never be echoed
SCHEMA = load_audit_schema()
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def fake_sign(key_id: str, message: bytes) -> bytes:
    return hmac.new(key_id.encode(), message, hashlib.sha256).digest()


def fake_verifier(key_id: str) -> Callable[[bytes, bytes], bool]:
    return lambda message, signature: hmac.compare_digest(fake_sign(key_id, message), signature)


VERIFIERS = {KEY_A: fake_verifier(KEY_A), KEY_B: fake_verifier(KEY_B)}


def event(n: int, **changes: Any) -> AuditEvent:
    base = AuditEvent(
        record_id=f"req-{n}/admitted",
        kind="admitted",
        request_id=f"req-{n}",
        tenant="registry-is",
        occurred_at=T0 + timedelta(seconds=n),
        details={"entities": {"PERSON": 1}, "policy": "sha256:ab", "note": SENTINEL},
    )
    return dataclasses.replace(base, **changes)


def signed(payload: dict[str, Any], *, seq: int | None = None, key: str = KEY_A) -> ChainEntry:
    canonical = canonical_bytes(payload)
    return ChainEntry(
        seq or payload["seq"], canonical, fake_sign(key, signing_input(canonical)), key
    )


def chain(n: int = 6, events: dict[int, AuditEvent] | None = None) -> list[ChainEntry]:
    entries, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        ev = (events or {}).get(seq, event(seq))
        entry = signed(record_payload(ev, seq=seq, prev_hash=prev, key_id=KEY_A))
        entries.append(entry)
        prev = leaf_hash(entry.canonical).hex()
    return entries


def payload_of(entry: ChainEntry) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(entry.canonical)
    return loaded


def resign(entries: list[ChainEntry], i: int, **changes: Any) -> list[ChainEntry]:
    """Replace entry i by a validly signed (key A) record whose payload has ``changes``."""
    out = list(entries)
    out[i] = signed({**payload_of(entries[i]), **changes}, seq=entries[i].seq)
    return out


def replace(entries: list[ChainEntry], i: int, **changes: Any) -> list[ChainEntry]:
    out = list(entries)
    out[i] = entries[i]._replace(**changes)
    return out


def flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def swap_positions(entries: list[ChainEntry], i: int, j: int) -> list[ChainEntry]:
    """Rows i and j trade places but keep their stored seq (a seq swap in the table)."""
    out = list(entries)
    out[i] = entries[j]._replace(seq=entries[i].seq)
    out[j] = entries[i]._replace(seq=entries[j].seq)
    return out


def non_canonical(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    body = json.dumps(payload_of(entries[i]), indent=1).encode()
    out = list(entries)
    out[i] = ChainEntry(entries[i].seq, body, fake_sign(KEY_A, signing_input(body)), KEY_A)
    return out


def raw_body(entries: list[ChainEntry], i: int, body: bytes) -> list[ChainEntry]:
    out = list(entries)
    out[i] = ChainEntry(entries[i].seq, body, fake_sign(KEY_A, signing_input(body)), KEY_A)
    return out


def wrong_prev(entries: list[ChainEntry]) -> list[ChainEntry]:
    return resign(entries, 3, prev_hash=leaf_hash(entries[1].canonical).hex())


def with_columns(entries: list[ChainEntry], i: int, **overrides: Any) -> list[ChainEntry]:
    payload = payload_of(entries[i])
    columns: dict[str, Any] = {
        name: payload[name] for name in ("record_id", "kind", "request_id", "tenant")
    }
    columns["leaf_hash"] = leaf_hash(entries[i].canonical).hex()
    columns.update(overrides)
    return replace(entries, i, columns=columns)


C = chain()
TAMPER_CASES: list[tuple[str, list[ChainEntry], int, str | None, str]] = [
    (
        "byte flipped in a payload",
        replace(C, 2, canonical=flip_byte(C[2].canonical, 40)),
        3,
        "req-3/admitted",
        f"record 3 (req-3/admitted): signature does not verify with key {KEY_A}",
    ),
    (
        "signature changed",
        replace(C, 4, signature=flip_byte(C[4].signature, 0)),
        5,
        "req-5/admitted",
        "record 5 (req-5/admitted): signature does not verify",
    ),
    (
        "middle record deleted",
        C[:3] + C[4:],
        5,
        "req-5/admitted",
        "gap: record 5 (req-5/admitted) follows record 3",
    ),
    ("first record deleted", C[1:], 2, "req-2/admitted", "gap: the first record is record 2"),
    (
        "two records swap seq",
        swap_positions(C, 2, 3),
        3,
        "req-4/admitted",
        "record 3 (req-4/admitted): stored as seq 3 but its signed payload says seq 4",
    ),
    (
        "signed by an unknown key",
        replace(
            C,
            1,
            signature=fake_sign("cccccccccccccccc", signing_input(C[1].canonical)),
            key_id="cccccccccccccccc",
        ),
        2,
        "req-2/admitted",
        "record 2 (req-2/admitted): unknown key id cccccccccccccccc",
    ),
    (
        "signed by another known key but labelled with ours",
        replace(C, 1, signature=fake_sign(KEY_B, signing_input(C[1].canonical))),
        2,
        "req-2/admitted",
        f"record 2 (req-2/admitted): signature does not verify with key {KEY_A}",
    ),
    (
        "signed by key B, payload names key A",
        replace(C, 1, signature=fake_sign(KEY_B, signing_input(C[1].canonical)), key_id=KEY_B),
        2,
        "req-2/admitted",
        f"stored key id differs from the signed key id {KEY_A}",
    ),
    (
        "payload not canonical (validly signed)",
        non_canonical(C, 2),
        3,
        "req-3/admitted",
        "record 3 (req-3/admitted): payload is not canonical JSON",
    ),
    ("payload not JSON", raw_body(C, 2, b"not json"), 3, None, "record 3: payload is not a JSON"),
    (
        "payload with a duplicate key",
        raw_body(C, 2, b'{"seq":3,"seq":3}'),
        3,
        None,
        "record 3: payload is not a JSON object",
    ),
    (
        "payload with NaN",
        raw_body(C, 2, b'{"seq":NaN}'),
        3,
        None,
        "record 3: payload is not a JSON object",
    ),
    (
        "deeply nested payload",
        raw_body(C, 2, b"[" * 100_000 + b"]" * 100_000),
        3,
        None,
        "record 3: payload is not a JSON object",
    ),
    (
        "extra top-level field",
        resign(C, 2, extra="x"),
        3,
        "req-3/admitted",
        "payload does not match the audit schema ($: additionalProperties)",
    ),
    (
        "unknown kind",
        resign(C, 2, kind="approved"),
        3,
        "req-3/admitted",
        "payload does not match the audit schema ($.kind: enum)",
    ),
    (
        "wrong schema version",
        resign(C, 0, schema="douane.audit/v0"),
        1,
        "req-1/admitted",
        "($.schema: const)",
    ),
    (
        "prev_hash points two records back",
        wrong_prev(C),
        4,
        "req-4/admitted",
        "record 4 (req-4/admitted): prev_hash does not match the hash of record 3",
    ),
    (
        "first prev_hash is not genesis",
        resign(C, 0, prev_hash="11" * 32),
        1,
        "req-1/admitted",
        "record 1 (req-1/admitted): prev_hash is not the genesis hash",
    ),
    (
        "record id used twice",
        chain(events={5: event(5, record_id="req-2/admitted")}),
        5,
        "req-2/admitted",
        "record 5 (req-2/admitted): record id already used by record 2",
    ),
    (
        "indexed column edited",
        with_columns(C, 3, request_id="req-99"),
        4,
        "req-4/admitted",
        "record 4 (req-4/admitted): stored column request_id does not match the signed payload",
    ),
    (
        "leaf_hash column edited",
        with_columns(C, 3, leaf_hash="00" * 32),
        4,
        "req-4/admitted",
        "stored column leaf_hash does not match",
    ),
]


@pytest.mark.parametrize(
    ("entries", "bad_seq", "bad_id", "problem"),
    [case[1:] for case in TAMPER_CASES],
    ids=[case[0] for case in TAMPER_CASES],
)
def test_tampering_is_found_at_the_right_record(
    entries: list[ChainEntry], bad_seq: int, bad_id: str | None, problem: str
) -> None:
    report = verify_chain(entries, VERIFIERS, SCHEMA)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert report.first_bad_record_id == bad_id
    assert report.problem is not None and problem in report.problem
    assert report.records_checked == [e.seq for e in entries].index(bad_seq)
    assert SENTINEL not in report.problem


def test_intact_chain_verifies() -> None:
    report = verify_chain(C, VERIFIERS, SCHEMA)
    assert report == audit.VerificationReport(
        ok=True, records_checked=6, head_seq=6, head_leaf_hash=leaf_hash(C[-1].canonical).hex()
    )


def test_columns_that_agree_pass() -> None:
    assert verify_chain(with_columns(C, 3), VERIFIERS, SCHEMA).ok


def test_plain_tuples_are_accepted() -> None:
    assert verify_chain([tuple(e[:4]) for e in C], VERIFIERS, SCHEMA).ok


def test_empty_chain_is_ok() -> None:
    assert verify_chain([], VERIFIERS, SCHEMA) == audit.VerificationReport(True, 0)


def test_single_record_check_ignores_chain_position() -> None:
    assert verify_record(C[3], VERIFIERS, SCHEMA).ok
    bad = verify_record(replace(C, 3, signature=b"x" * 64)[3], VERIFIERS, SCHEMA)
    assert (bad.ok, bad.first_bad_seq) == (False, 4)


def test_payload_shape() -> None:
    ev = event(
        7, occurred_at=datetime(2025, 3, 1, 11, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    )
    payload = record_payload(ev, seq=7, prev_hash="ab" * 32, key_id=KEY_A)
    assert payload == {
        "schema": AUDIT_SCHEMA,
        "seq": 7,
        "record_id": "req-7/admitted",
        "kind": "admitted",
        "request_id": "req-7",
        "tenant": "registry-is",
        "occurred_at": "2025-03-01T09:30:00.000005Z",
        "prev_hash": "ab" * 32,
        "key_id": KEY_A,
        "details": {"entities": {"PERSON": 1}, "policy": "sha256:ab", "note": SENTINEL},
    }


def test_core_kinds_match_the_schema() -> None:
    assert set(SCHEMA["properties"]["kind"]["enum"]) == audit.AUDIT_KINDS


def test_payload_accepts_null_request_and_tenant_and_mapping_details() -> None:
    from types import MappingProxyType

    ev = event(1, request_id=None, tenant=None, details=MappingProxyType({"codes": ("a", 1)}))
    payload = record_payload(ev, seq=1, prev_hash=GENESIS_HASH, key_id=KEY_A)
    assert payload["details"] == {"codes": ["a", 1]}
    assert verify_chain([signed(payload)], VERIFIERS, SCHEMA).ok


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"occurred_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"kind": "approved"}, "unknown kind"),
        ({"details": {"x": {SENTINEL}}}, "set, which is not JSON"),
        ({"details": {"x": math.nan}}, "non-finite float"),
        ({"details": {"x": 2**60}}, "beyond 2**53"),
        ({"details": {1: SENTINEL}}, "non-string object key"),
    ],
)
def test_bad_events_are_refused_without_echoing_details(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuditPayloadError, match=re.escape(message)) as caught:
        record_payload(event(1, **changes), seq=1, prev_hash=GENESIS_HASH, key_id=KEY_A)
    assert SENTINEL not in str(caught.value)
    assert str(2**60) not in str(caught.value)


def test_canonical_errors_do_not_echo_values() -> None:
    with pytest.raises(AuditPayloadError) as caught:
        canonical_bytes({"x": "\ud800" + SENTINEL})  # lone surrogate: not UTF-8
    assert SENTINEL not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 2, "a": 1.0}, b'{"a":1,"b":2}'),
        (
            {"\u00e9": "x", "z": None, "A": [True, 1e21, 0.5]},
            b'{"A":[true,1e+21,0.5],"z":null,"\xc3\xa9":"x"}',
        ),
        ({"s": "\u2028\n"}, b'{"s":"\xe2\x80\xa8\\n"}'),
    ],
)
def test_canonical_bytes_are_rfc8785(value: dict[str, Any], expected: bytes) -> None:
    assert canonical_bytes(value) == expected


def test_leaf_hash_is_rfc6962() -> None:
    # RFC 6962 / transparency-dev: the hash of an empty leaf.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


def test_pae_matches_the_dsse_spec_example() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert signing_input(b"{}") == b"DSSEv1 33 application/vnd.douane.audit+json 2 {}"


def test_core_module_does_no_io() -> None:
    forbidden = {
        "sqlite3",
        "faust",
        "aiokafka",
        "httpx",
        "presidio_analyzer",
        "presidio_anonymizer",
        "sqlalchemy",
        "cryptography",
        "os",
        "pathlib",
        "io",
    }
    tree = ast.parse(Path(audit.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & forbidden
