"""The audit log in SQLite: append-only, hash-chained, Ed25519-signed records.

Each row keeps the exact canonical bytes that were hashed and signed, and the signature; the
indexed columns (request_id, tenant, kind, occurred_at) are copies for searching, and
verification checks that they agree with the signed payload. Appends run in ``BEGIN IMMEDIATE``
transactions with ``synchronous=FULL`` in WAL mode, so several processes can append to one file
and ``append`` returns only once the record is durable.

Errors name record ids and seqs only, never the content of ``details``.
"""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from streams.adapters.signer import Ed25519Signer, load_public_key
from streams.config import project_root
from streams.core.audit import (
    GENESIS_HASH,
    PAYLOAD_TYPE,
    AuditEvent,
    ChainEntry,
    VerificationReport,
    VerifyFn,
    canonical_bytes,
    leaf_hash,
    record_payload,
    signing_input,
    verify_chain,
    verify_record,
)

STORE_VERSION = 1  # PRAGMA user_version of the database layout
BUSY_TIMEOUT_S = 30.0
_BATCH = 500

_DDL = (
    """CREATE TABLE IF NOT EXISTS audit_records (
        seq         INTEGER PRIMARY KEY,
        record_id   TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        request_id  TEXT,
        tenant      TEXT,
        occurred_at TEXT NOT NULL,
        canonical   BLOB NOT NULL,
        leaf_hash   TEXT NOT NULL,
        signature   BLOB NOT NULL,
        key_id      TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_records_request_id ON audit_records (request_id)",
    "CREATE INDEX IF NOT EXISTS audit_records_tenant ON audit_records (tenant)",
    "CREATE INDEX IF NOT EXISTS audit_records_kind ON audit_records (kind)",
    "CREATE INDEX IF NOT EXISTS audit_records_occurred_at ON audit_records (occurred_at)",
)
_COLUMNS = (
    "seq, record_id, kind, request_id, tenant, occurred_at, canonical, leaf_hash, signature, key_id"
)
_INDEXED = ("record_id", "kind", "request_id", "tenant", "occurred_at", "leaf_hash")


class AuditStoreError(RuntimeError):
    pass


class AuditStoreCorruptError(AuditStoreError):
    """A stored row cannot be read back; run verification to locate tampering."""


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


def load_audit_schema() -> dict[str, Any]:
    """The JSON Schema of audit payloads, from ``schemas/audit-record.schema.json``."""
    path = project_root() / "schemas" / "audit-record.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _cached_schema() -> Mapping[str, Any]:
    return load_audit_schema()


def _blob(value: object) -> bytes:
    """A BLOB column as bytes; a tampered TEXT or number still reaches the verifier as bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def _entry(row: sqlite3.Row) -> ChainEntry:
    return ChainEntry(
        seq=row["seq"],
        canonical=_blob(row["canonical"]),
        signature=_blob(row["signature"]),
        key_id=row["key_id"],
        columns={name: row[name] for name in _INDEXED},
    )


def _record(row: sqlite3.Row) -> StoredRecord:
    canonical = _blob(row["canonical"])
    try:
        payload = json.loads(canonical)
    except ValueError:
        raise AuditStoreCorruptError(
            f"record {row['seq']}: stored payload is not JSON; run audit verification"
        ) from None
    if not isinstance(payload, dict):
        raise AuditStoreCorruptError(f"record {row['seq']}: stored payload is not a JSON object")
    return StoredRecord(
        seq=row["seq"],
        record_id=row["record_id"],
        kind=row["kind"],
        request_id=row["request_id"],
        tenant=row["tenant"],
        payload=payload,
        canonical=canonical,
        leaf_hash=row["leaf_hash"],
        signature=_blob(row["signature"]),
        key_id=row["key_id"],
    )


class _SqliteRecords:
    """Read side shared by the writer and the read-only reader."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        self._conn = conn
        self._lock = threading.Lock()  # one connection, usable from several threads

    def _rows(self, where: str, params: tuple[object, ...], limit: int = -1) -> list[sqlite3.Row]:
        sql = f"SELECT {_COLUMNS} FROM audit_records {where} ORDER BY seq LIMIT {int(limit)}"
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _row_for(self, record_id: str) -> sqlite3.Row | None:
        rows = self._rows("WHERE record_id = ?", (record_id,))
        return rows[0] if rows else None

    def _iter_rows(self) -> Iterator[sqlite3.Row]:
        """All rows in seq order, fetched in batches so appends are not held up."""
        batch = self._rows("", (), _BATCH)
        while batch:
            yield from batch
            if len(batch) < _BATCH:
                return
            batch = self._rows("WHERE seq > ?", (batch[-1]["seq"],), _BATCH)

    def get(self, record_id: str) -> StoredRecord | None:
        row = self._row_for(record_id)
        return None if row is None else _record(row)

    def records_for_request(self, request_id: str) -> list[StoredRecord]:
        return [_record(row) for row in self._rows("WHERE request_id = ?", (request_id,))]

    def iter_records(self) -> Iterator[StoredRecord]:
        return (_record(row) for row in self._iter_rows())

    def iter_entries(self) -> Iterator[ChainEntry]:
        """Rows as the core's chain checker wants them (no JSON parsing)."""
        return (_entry(row) for row in self._iter_rows())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SqliteAuditReader(_SqliteRecords):
    """Read-only access, for verifiers and for processes that must not write."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no audit database at {path}")
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only = ON")
        super().__init__(conn)


class SqliteAuditStore(_SqliteRecords):
    """The default audit store: one SQLite file, safe for several appending processes."""

    def __init__(self, path: Path, signer: Ed25519Signer) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise AuditStoreError(f"{path}: SQLite refused WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > STORE_VERSION:
                raise AuditStoreError(f"{path}: layout version {version} is newer than this code")
            for statement in _DDL:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        super().__init__(conn)
        self._signer = signer

    @staticmethod
    def open_readonly(path: Path) -> SqliteAuditReader:
        return SqliteAuditReader(path)

    def append(self, event: AuditEvent) -> AppendResult:
        """Sign and durably store ``event``; idempotent by ``event.record_id``.

        If the record id is already in the log, nothing is written and the stored record is
        returned with ``created=False``; callers that care compare it with their event.
        """
        conn = self._conn
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock: one appender at a time
            try:
                found = conn.execute(
                    f"SELECT {_COLUMNS} FROM audit_records WHERE record_id = ?",
                    (event.record_id,),
                ).fetchone()
                created = None if found is not None else self._insert(event)
                conn.execute("COMMIT")  # durable (synchronous=FULL) before we return
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if created is not None:
            return AppendResult(created, created=True)
        return AppendResult(_record(found), created=False)  # the first record wins, unchanged

    def _insert(self, event: AuditEvent) -> StoredRecord:
        """Build, sign and insert the next record; the caller holds the write transaction."""
        last = self._conn.execute(
            "SELECT seq, canonical FROM audit_records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is None:
            seq, prev_hash = 1, GENESIS_HASH
        else:  # chain to the bytes actually stored, not to a derived column
            seq, prev_hash = last["seq"] + 1, leaf_hash(_blob(last["canonical"])).hex()
        payload = record_payload(event, seq=seq, prev_hash=prev_hash, key_id=self._signer.key_id)
        canonical = canonical_bytes(payload)
        record = StoredRecord(
            seq=seq,
            record_id=event.record_id,
            kind=event.kind,
            request_id=event.request_id,
            tenant=event.tenant,
            payload=payload,
            canonical=canonical,
            leaf_hash=leaf_hash(canonical).hex(),
            signature=self._signer.sign(signing_input(canonical)),
            key_id=self._signer.key_id,
        )
        self._conn.execute(
            f"INSERT INTO audit_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.seq,
                record.record_id,
                record.kind,
                record.request_id,
                record.tenant,
                payload["occurred_at"],
                record.canonical,
                record.leaf_hash,
                record.signature,
                record.key_id,
            ),
        )
        return record


def _verifiers(public_key_paths: Sequence[Path]) -> dict[str, VerifyFn]:
    return dict(load_public_key(path) for path in public_key_paths)


def verify_store(
    path: Path, public_key_paths: Sequence[Path], schema: Mapping[str, Any]
) -> VerificationReport:
    """Check every record of the database at ``path`` in seq order (see ``verify_chain``)."""
    verifiers = _verifiers(public_key_paths)
    if not path.is_file():
        return VerificationReport(ok=False, records_checked=0, problem="no audit database found")
    with SqliteAuditReader(path) as reader:
        return verify_chain(reader.iter_entries(), verifiers, schema)


def find_verified(path: Path, public_key_path: Path, record_id: str) -> StoredRecord | None:
    """The record ``record_id`` if it exists and is validly signed by that key, else None."""
    verifiers = _verifiers([public_key_path])
    if not path.is_file():
        return None
    with SqliteAuditReader(path) as reader:
        row = reader._row_for(record_id)
        if row is None:
            return None
        if not verify_record(_entry(row), verifiers, _cached_schema()).ok:
            return None
        return _record(row)


if TYPE_CHECKING:  # mypy proves the SQLite classes satisfy the protocols
    _store: type[AuditStore] = SqliteAuditStore
    _reader: type[AuditReader] = SqliteAuditReader
