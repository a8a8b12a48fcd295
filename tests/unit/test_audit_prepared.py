"""The store's fast way to build a record (``PreparedRecord``) gives byte for byte the record of
the general path (``canonical_bytes(record_payload(...))``), or the same error, for any event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.audit import (
    AUDIT_KINDS,
    GENESIS_HASH,
    AuditEvent,
    AuditPayloadError,
    PreparedRecord,
    canonical_bytes,
    record_payload,
)

INT = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
TEXT = st.text(alphabet=st.characters(codec="utf-8"))  # every code point, controls included
ANY_TEXT = st.text()  # lone surrogates too
SCALARS = (st.none() | st.booleans() | INT | TEXT | st.integers() | ANY_TEXT
           | st.floats(allow_nan=False, allow_infinity=False))


def trees(scalars: st.SearchStrategy[Any], *, plain: bool = False) -> st.SearchStrategy[Any]:
    """JSON-like trees; ``plain`` ones hold only lists and dicts with UTF-8 keys."""
    keys = TEXT if plain else TEXT | ANY_TEXT
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | (st.nothing() if plain else st.tuples(inner, inner))
                        | st.dictionaries(keys, inner, max_size=4), max_leaves=25)


DETAILS = st.dictionaries(TEXT | ANY_TEXT, trees(SCALARS), max_size=5)
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)),
                                                  timezone(timedelta(0))]))
HEX = st.text(alphabet="0123456789abcdef", min_size=0, max_size=64)
KINDS = st.sampled_from(sorted(AUDIT_KINDS)) | st.just("unknown-kind")


def general(event: AuditEvent, seq: int, prev_hash: str, key_id: str
            ) -> tuple[dict[str, Any], bytes] | str:
    try:
        payload = record_payload(event, seq=seq, prev_hash=prev_hash, key_id=key_id)
        return payload, canonical_bytes(payload)
    except AuditPayloadError as error:
        return str(error)


def fast(event: AuditEvent, seq: int, prev_hash: str, key_id: str
         ) -> tuple[dict[str, Any], bytes] | str:
    try:
        return PreparedRecord(event).build(seq=seq, prev_hash=prev_hash, key_id=key_id)
    except AuditPayloadError as error:
        return str(error)


@settings(max_examples=500, deadline=None)
@given(record_id=TEXT | ANY_TEXT, kind=KINDS, request_id=st.none() | TEXT | ANY_TEXT,
       tenant=st.none() | TEXT | ANY_TEXT, moment=MOMENTS, details=DETAILS,
       seq=st.integers(min_value=-1, max_value=2**54), prev_hash=HEX | TEXT,
       key_id=HEX | TEXT)
def test_prepared_records_equal_the_general_path(
    record_id: str, kind: str, request_id: str | None, tenant: str | None, moment: datetime,
    details: dict[str, Any], seq: int, prev_hash: str, key_id: str,
) -> None:
    event = AuditEvent(record_id, kind, request_id, tenant, moment, details)
    assert fast(event, seq, prev_hash, key_id) == general(event, seq, prev_hash, key_id)


@settings(max_examples=300, deadline=None)
@given(record_id=TEXT, request_id=st.none() | TEXT, tenant=st.none() | TEXT,
       moment=st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)),
       details=st.dictionaries(TEXT, trees(st.none() | st.booleans() | INT | TEXT, plain=True),
                               max_size=5),
       seq=st.integers(min_value=1, max_value=2**53 - 1), prev_hash=HEX, key_id=HEX)
def test_records_douane_writes_take_the_fast_path_and_equal_the_general_path(
    record_id: str, request_id: str | None, tenant: str | None, moment: datetime,
    details: dict[str, Any], seq: int, prev_hash: str, key_id: str,
) -> None:
    event = AuditEvent(record_id, "admitted", request_id, tenant, moment, details)
    prepared = PreparedRecord(event)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in repr(details)) or _deep(details) > 64:
        return  # lone surrogates and deep nesting are left to the general path
    if _wide_keys(details):
        return
    assert prepared.is_fast
    assert prepared.build(seq=seq, prev_hash=prev_hash, key_id=key_id) == general(
        event, seq, prev_hash, key_id)


def _deep(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_deep(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_deep(v) for v in value), default=0)
    return 0


def _wide_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return any(max(k, default="a") > "\ud7ff" or _wide_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_wide_keys(v) for v in value)
    return False


def test_the_record_keeps_its_own_copy_of_the_details() -> None:
    details: dict[str, Any] = {"entities": {"PERSON": 2}, "spans": [[1, 2]]}
    event = AuditEvent("r/admitted", "admitted", "r", "t", datetime.now(UTC), details)
    prepared = PreparedRecord(event)
    assert prepared.is_fast
    first, canonical = prepared.build(seq=1, prev_hash=GENESIS_HASH, key_id="ab" * 8)
    second, again = prepared.build(seq=1, prev_hash=GENESIS_HASH, key_id="ab" * 8)
    details["entities"]["PERSON"] = 99
    details["spans"].append([3, 4])
    assert first["details"] == second["details"] == {"entities": {"PERSON": 2},
                                                     "spans": [[1, 2]]}
    assert first["details"] is not second["details"]
    assert canonical == again


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("details", [
    {"n": 0.5}, {"t": (1, 2)}, {"big": 2**53}, {"\U0001f600": 1}, {"lone": "\udc00"},
    {"deep": _nested(64)}, {"deeper": _nested(70)},
])
def test_what_the_fast_path_cannot_write_exactly_goes_the_general_way(
        details: dict[str, Any]) -> None:
    event = AuditEvent("r/admitted", "admitted", "r", "t", datetime.now(UTC), details)
    assert not PreparedRecord(event).is_fast
    assert fast(event, 3, GENESIS_HASH, "ab" * 8) == general(event, 3, GENESIS_HASH, "ab" * 8)
