"""What the audit log offers its callers: records, queries, the store protocols, the errors.

Every store (SQLite, PostgreSQL) provides ``AuditLog``; code that only appends asks for an
``AuditStore``, code that only reads for an ``AuditReader``. Errors name record ids and seqs
only, never the content of ``details``.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from streams.adapters.signer import AuditSigner
from streams.core.audit import PAYLOAD_TYPE, AuditEvent, ChainEntry
from streams.core.audit_query import fold, matches
from streams.core.checkpoint import Checkpoint, parse_checkpoint, split_note
from streams.errors import DouaneError

DEFAULT_ORIGIN = "douane.example/audit/douane"  # the log's name when none is configured


class AuditStoreError(DouaneError, RuntimeError):
    """The audit log cannot do what was asked (the message names no personal data)."""


# What an audit append raises while the store cannot write (locked, disk full, database down):
# the worker holds its work and tries again, it never goes on without the record.
AUDIT_UNAVAILABLE: tuple[type[Exception], ...] = (sqlite3.Error, OSError, AuditStoreError)


class AuditStoreCorruptError(AuditStoreError):
    """A stored row cannot be read back; run verification to locate tampering."""


class AuditStoreUnavailableError(AuditStoreError):
    """The database server cannot be reached or dropped the connection (names no data).

    Raised by the PostgreSQL store; the worker holds the message and retries (fail closed).
    """


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    record_id: str
    kind: str
    request_id: str | None
    tenant: str | None
    payload: dict[str, Any]
    canonical: bytes  # the exact bytes that were hashed and signed
    leaf_hash: str  # hex, RFC 6962
    signature: bytes  # Ed25519 over pae(PAYLOAD_TYPE, canonical)
    key_id: str

    @property
    def envelope(self) -> dict[str, Any]:
        """The record as a DSSE envelope."""
        return {
            "payloadType": PAYLOAD_TYPE,
            "payload": base64.b64encode(self.canonical).decode("ascii"),
            "signatures": [
                {"keyid": self.key_id, "sig": base64.b64encode(self.signature).decode("ascii")}
            ],
        }


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: bytes  # the signed note, exactly as signed
    issued_at: str

    @property
    def checkpoint(self) -> Checkpoint:
        return parse_checkpoint(split_note(self.note)[0])


@dataclass(frozen=True)
class AuditQuery:
    """Filters for ``douane audit query``. Each is a tuple of wanted values: a record passes a
    filter if it has any of them (empty: any record), and it must pass every filter."""

    tenants: tuple[str, ...] = ()
    since: str | None = None  # RFC 3339, inclusive
    until: str | None = None  # RFC 3339, exclusive
    kinds: tuple[str, ...] = ()
    request_ids: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()  # details.decision (forward / block)
    entity_types: tuple[str, ...] = ()  # found in details.entities (any case)
    providers: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    policy_hashes: tuple[str, ...] = ()  # SHA-256 prefixes
    trace_ids: tuple[str, ...] = ()  # details.trace_id (32 hex digits)

    def detail_filters(self) -> dict[str, tuple[str, ...]]:
        """The filters on the signed details, by field name (see ``streams.core.audit_query``),
        with their values in the form they are compared in."""
        wanted = {"decision": self.decisions, "entity-type": self.entity_types,
                  "provider": self.providers, "jurisdiction": self.jurisdictions,
                  "classification": self.classifications, "purpose": self.purposes,
                  "reason": self.reason_codes, "policy": self.policy_hashes,
                  "trace": self.trace_ids}
        return {field: tuple(fold(field, v) for v in given)
                for field, given in wanted.items() if given}

    def matches_details(self, payload: Mapping[str, Any]) -> bool:
        return all(matches(payload, field, given)
                   for field, given in self.detail_filters().items())


@dataclass(frozen=True)
class AppendResult:
    record: StoredRecord
    created: bool  # False: the record id was already in the log and nothing was written


class AuditReader(Protocol):
    def get(self, record_id: str) -> StoredRecord | None: ...

    def records_for_request(self, request_id: str) -> list[StoredRecord]: ...

    def iter_records(self) -> Iterator[StoredRecord]: ...

    def close(self) -> None: ...


class AuditStore(AuditReader, Protocol):
    def append(self, event: AuditEvent) -> AppendResult: ...

    def month_spend(self, tenant: str, month: str) -> dict[tuple[str, str], Decimal]:
        """The budgets' ledger for ``tenant`` in ``month``: (purpose or '', currency) ->
        what its answers cost (``spend_ledger``)."""
        ...

    def is_signed(self, record: StoredRecord) -> bool: ...


class AuditLog(AuditStore, Protocol):
    """Everything the audit commands need; SQLite and PostgreSQL both provide it."""

    origin: str

    def append_many(self, events: Sequence[AuditEvent]) -> list[AppendResult]: ...

    def size(self) -> int: ...

    def query(self, filters: AuditQuery) -> Iterator[StoredRecord]: ...

    def iter_entries(self) -> Iterator[ChainEntry]: ...

    def leaf_hashes(self, size: int) -> list[bytes]: ...

    def checkpoints(self) -> list[StoredCheckpoint]: ...

    def issue_checkpoint(self) -> StoredCheckpoint: ...

    def rotate_key(self, new_signer: AuditSigner) -> StoredRecord: ...



class AuditLogReader(Protocol):
    """What verification reads: the chain and the stored checkpoints."""

    def iter_entries(self) -> Iterator[ChainEntry]: ...

    def checkpoints(self) -> list[StoredCheckpoint]: ...
