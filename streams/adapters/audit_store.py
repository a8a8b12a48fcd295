"""The audit log in SQLite: append-only, hash-chained, Ed25519-signed records.

Each row keeps the exact canonical bytes that were hashed and signed, and the signature; the
indexed columns (request_id, tenant, kind, occurred_at) are copies for searching, and
verification checks that they agree with the signed payload. Appends run in ``BEGIN IMMEDIATE``
transactions with ``synchronous=FULL`` in WAL mode, so several processes can append to one file
and ``append`` returns only once the record is durable.

Appends are grouped: concurrent callers (threads) queue their events and the first one to get
the write lock commits everybody's in one transaction; each caller returns only after *its*
batch is durable (group commit keeps "durable before forward" and contiguous seqs).

The records are the leaves of an RFC 6962 Merkle tree. The store signs checkpoints of that
tree (C2SP tlog-checkpoint in a signed note) every ``checkpoint_every`` records or
``checkpoint_interval_s`` seconds, and on demand; it serves inclusion and consistency proofs.
Public keys with their validity windows live in a keyring file next to the database
(``audit.keyring.json``); key rotation is itself a signed record.

Errors name record ids and seqs only, never the content of ``details``.
"""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from streams.adapters.signer import (
    Ed25519Signer,
    keyring_path_for,
    load_keyring,
    load_public_key,
    raw_public_key,
    save_keyring,
    verifier_for_raw,
)
from streams.adapters.sqlite_files import SqliteOpenError, open_wal_database
from streams.config import project_root
from streams.core import merkle
from streams.core.audit import (
    GENESIS_HASH,
    PAYLOAD_TYPE,
    AuditEvent,
    AuditPayloadError,
    ChainEntry,
    PreparedRecord,
    VerifyFn,
    format_timestamp,
    leaf_hash,
    signing_input,
    verify_record,
)
from streams.core.checkpoint import (
    Checkpoint,
    NoteSignature,
    parse_checkpoint,
    sign_checkpoint,
    split_note,
)
from streams.core.cosignature import add_signature
from streams.core.keyring import KeyEntry, Keyring, key_id_of
from streams.core.log_check import LogReport, verify_log

STORE_VERSION = 2  # PRAGMA user_version of the database layout (2: checkpoints, meta)
DEFAULT_ORIGIN = "douane.example/audit/douane"
CHECKPOINT_EVERY = 1000
CHECKPOINT_INTERVAL_S = 60.0
MAX_GROUP = 4096  # events committed in one transaction at most
BUSY_TIMEOUT_S = 30.0
_BATCH = 500
# After a batch signed ahead turned out to follow a record another process wrote, this many
# batches are signed inside their transaction (each would likely be signed twice otherwise).
_UNGUESSED_AFTER_MISS = 16
_MAX_LEAVES = 200_000  # leaf hashes kept for the next checkpoint at most (about 20 MB)
_ID_CHUNK = 500  # record ids per idempotency query (SQLite allows 999 parameters at least)

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
    """CREATE TABLE IF NOT EXISTS audit_checkpoints (
        size      INTEGER PRIMARY KEY,
        root_hash TEXT NOT NULL,
        note      BLOB NOT NULL,
        issued_at TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_COLUMNS = (
    "seq, record_id, kind, request_id, tenant, occurred_at, canonical, leaf_hash, signature, key_id"
)
_INDEXED = ("record_id", "kind", "request_id", "tenant", "occurred_at", "leaf_hash")
_INSERT = f"INSERT INTO audit_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


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
    """Filters for ``douane audit query``; None means any."""

    tenant: str | None = None
    since: str | None = None  # RFC 3339, inclusive
    until: str | None = None  # RFC 3339, exclusive
    kinds: tuple[str, ...] = ()
    decision: str | None = None  # details.decision (forward / block)
    entity_type: str | None = None  # present in details.entities
    provider: str | None = None
    policy_hash: str | None = None
    request_id: str | None = None

    def matches_details(self, payload: Mapping[str, Any]) -> bool:
        details = payload.get("details") or {}
        if self.decision is not None and details.get("decision") != self.decision:
            return False
        if self.entity_type is not None and not (details.get("entities") or {}).get(
                self.entity_type):
            return False
        if self.provider is not None and details.get("provider") != self.provider:
            return False
        if self.policy_hash is not None:
            policy = details.get("policy") or {}
            digest = policy.get("sha256") if isinstance(policy, dict) else None
            if not (isinstance(digest, str) and digest.startswith(self.policy_hash)):
                return False
        return True


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

    def rotate_key(self, new_signer: Ed25519Signer) -> StoredRecord: ...


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


Row = Mapping[str, Any]  # a result row by column name (sqlite3.Row or psycopg dict_row)


def _entry(row: Row) -> ChainEntry:
    return ChainEntry(
        seq=row["seq"],
        canonical=_blob(row["canonical"]),
        signature=_blob(row["signature"]),
        key_id=row["key_id"],
        columns={name: row[name] for name in _INDEXED},
    )


def _record(row: Row) -> StoredRecord:
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


def _row(record: StoredRecord) -> tuple[object, ...]:
    """The values of ``_INSERT`` for ``record``."""
    return (record.seq, record.record_id, record.kind, record.request_id, record.tenant,
            record.payload["occurred_at"], record.canonical, record.leaf_hash, record.signature,
            record.key_id)


class SqlRecords:
    """Read side shared by writers and read-only readers, SQLite and PostgreSQL alike.

    SQL is written once with ``?`` placeholders; a backend with another paramstyle sets
    ``PARAM`` and the text is adapted. Rows are read by column name.
    """

    PARAM = "?"

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = threading.RLock()  # one connection, usable from several threads

    def _connection(self) -> Any:
        return self._conn

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        """Run one statement; the cursor it returns has ``fetchone``/``fetchall``."""
        if self.PARAM != "?":
            sql = sql.replace("?", self.PARAM)
        return self._connection().execute(sql, tuple(params))

    def _rows(self, where: str, params: tuple[object, ...], limit: int = -1) -> list[Row]:
        bound = f" LIMIT {int(limit)}" if limit >= 0 else ""
        sql = f"SELECT {_COLUMNS} FROM audit_records {where} ORDER BY seq{bound}"
        with self._lock:
            rows: list[Row] = self._execute(sql, params).fetchall()
            return rows

    def _row_for(self, record_id: str) -> Row | None:
        rows = self._rows("WHERE record_id = ?", (record_id,))
        return rows[0] if rows else None

    def _iter_rows(self, where: str = "", params: tuple[object, ...] = ()) -> Iterator[Row]:
        """Rows in seq order, fetched in batches so appends are not held up."""
        clause = f"{where} AND" if where else "WHERE"
        batch = self._rows(f"{clause} seq > ?", (*params, 0), _BATCH)
        while batch:
            yield from batch
            if len(batch) < _BATCH:
                return
            batch = self._rows(f"{clause} seq > ?", (*params, batch[-1]["seq"]), _BATCH)

    def get(self, record_id: str) -> StoredRecord | None:
        row = self._row_for(record_id)
        return None if row is None else _record(row)

    def get_seq(self, seq: int) -> StoredRecord | None:
        rows = self._rows("WHERE seq = ?", (seq,))
        return _record(rows[0]) if rows else None

    def records_for_request(self, request_id: str) -> list[StoredRecord]:
        return [_record(row) for row in self._rows("WHERE request_id = ?", (request_id,))]

    def iter_records(self) -> Iterator[StoredRecord]:
        return (_record(row) for row in self._iter_rows())

    def iter_entries(self) -> Iterator[ChainEntry]:
        """Rows as the core's chain checker wants them (no JSON parsing)."""
        return (_entry(row) for row in self._iter_rows())

    def size(self) -> int:
        with self._lock:
            found = self._execute("SELECT max(seq) AS size FROM audit_records").fetchone()
        return int(found["size"] or 0)

    def query(self, filters: AuditQuery) -> Iterator[StoredRecord]:
        """Records matching ``filters`` in seq order (indexed columns in SQL, details after)."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (("tenant", filters.tenant), ("request_id", filters.request_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if filters.since is not None:
            clauses.append("occurred_at >= ?")
            params.append(filters.since)
        if filters.until is not None:
            clauses.append("occurred_at < ?")
            params.append(filters.until)
        if filters.kinds:
            clauses.append(f"kind IN ({', '.join('?' for _ in filters.kinds)})")
            params.extend(filters.kinds)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        for row in self._iter_rows(where, tuple(params)):
            record = _record(row)
            if filters.matches_details(record.payload):
                yield record

    def leaf_hashes(self, size: int) -> list[bytes]:
        """Leaf hashes of records 1..size, recomputed from the stored bytes."""
        with self._lock:
            rows = self._execute(
                "SELECT seq, canonical FROM audit_records WHERE seq <= ? ORDER BY seq", (size,)
            ).fetchall()
        if len(rows) != size or (rows and rows[-1]["seq"] != size):
            raise AuditStoreCorruptError(f"records 1..{size} are not all present")
        return [leaf_hash(_blob(row["canonical"])) for row in rows]

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._lock:
            rows = self._execute(
                "SELECT size, root_hash, note, issued_at FROM audit_checkpoints ORDER BY size"
            ).fetchall()
        return [StoredCheckpoint(row["size"], bytes.fromhex(row["root_hash"]),
                                 _blob(row["note"]), row["issued_at"]) for row in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = self.checkpoints()
        return found[-1] if found else None

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


class SqliteAuditReader(SqlRecords):
    """Read-only access, for verifiers and for processes that must not write."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no audit database at {path}")
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only = ON")
        conn.row_factory = sqlite3.Row
        super().__init__(conn)


class _Pending:
    """One caller's event waiting for a group commit, prepared before the lock is taken."""

    __slots__ = ("done", "error", "prepared", "result", "taken", "wake")

    def __init__(self, event: AuditEvent) -> None:
        self.prepared = PreparedRecord(event)
        self.result: AppendResult | None = None
        self.error: BaseException | None = None
        self.taken = False  # in a batch being signed or committed
        self.done = False
        self.wake: _Wakeup | None = None  # on the last event of each append call


class _Wakeup:
    """A waiting appender's bell, rung (under _queue) when it is done or chosen to sign.

    A bare lock, unlocked exactly while ``rung``: much cheaper than threading.Event, which
    matters when every appended record wakes one thread. ``ring`` and ``reset`` run under
    _queue; only the owner calls ``reset`` and ``wait``.
    """

    __slots__ = ("_lock", "rung")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.rung = False

    def ring(self) -> None:
        if not self.rung:
            self.rung = True
            self._lock.release()

    def reset(self) -> None:
        if self.rung:
            self.rung = False
            self._lock.acquire()  # unlocked while rung: does not block

    def wait(self) -> None:
        """Until rung (at once if it was); stays rung until ``reset``."""
        self._lock.acquire()
        self._lock.release()


_Head = tuple[int, str, str]  # (seq, leaf hash hex, key id) of the last record
_Outcome = tuple[_Pending, AppendResult | None, BaseException | None]


@dataclass(frozen=True)
class _Signed:
    """A batch signed before its transaction, valid only if the log's head is ``start``."""

    start: _Head
    end: _Head
    outcomes: list[_Outcome]
    rows: list[tuple[object, ...]]
    record_ids: list[str]  # of the records it creates


def now_utc() -> datetime:
    return datetime.now(UTC)


class GroupCommitLog(SqlRecords):
    """The writing half every store shares: group commit, signing, checkpoints, key rotation.

    A backend provides the connection (already holding the tables) and ``_begin_write``, which
    opens a transaction holding the log's write lock, so that one appender at a time computes
    the next seq and the previous hash; everything else is plain SQL both backends speak.
    """

    def __init__(
        self,
        conn: Any,
        signer: Ed25519Signer,
        *,
        keyring_path: Path,
        origin: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        signer_loader: Callable[[], Ed25519Signer] | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        super().__init__(conn)
        self._signer = signer
        self._signer_loader = signer_loader
        self._clock = clock
        self.keyring_path = keyring_path
        self.keyring = _open_keyring(self.keyring_path, signer, origin)
        self.origin = self.keyring.origin
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self._commit_lock = threading.Lock()  # one group committer at a time
        self._pending: list[_Pending] = []  # queued by appenders, taken by the leader
        # Appending is a two-stage pipeline: one appender at a time signs the next batch
        # (outside the database's write lock, on the chain head the batch before it will
        # leave), then batches commit in the order they were signed; so signing one batch
        # overlaps the disk write of the one before. The commit checks the guess (see
        # _commit). _queue guards the fields below.
        self._queue = threading.Condition(threading.Lock())
        self._signing = False  # an appender is signing a batch right now (or is chosen to)
        self._elected: _Pending | None = None  # the last event of the appender chosen to sign
        self._head: _Head | None = None  # the chain head after the last signed batch
        self._tickets = 0  # batches signed so far, in order
        self._committed = 0  # batches committed (or failed) so far: the next one's ticket
        self._last_end: _Head | None = None  # the real head after the last committed batch
        self._unguessed = 0  # batches still to sign inside their transaction after a miss
        self._known_size = 0  # the highest seq this process has committed or seen
        self._checkpointing = threading.Lock()
        self._tree = merkle.CompactRange()
        # leaf hashes of records this process committed since the tree was last extended,
        # by seq, so a checkpoint need not read and hash them again
        self._leaves: dict[int, bytes] = {}
        self._last_checkpoint = (0, time.monotonic())  # (size, when)
        self._claim_active_key()
        latest = self.latest_checkpoint()
        if latest is not None:
            self._last_checkpoint = (latest.size, time.monotonic())

    # ------------------------------------------------------------------ transactions

    def _begin_write(self) -> None:
        """Open a transaction that holds the log's write lock (one appender at a time)."""
        raise NotImplementedError

    def _rollback(self) -> None:
        self._execute("ROLLBACK")

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """Commit on success (durable before returning), roll back on any failure."""
        with self._lock:
            try:
                self._begin_write()  # may fail half-way (PostgreSQL: BEGIN, then no lock)
                yield
                self._execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    @property
    def signer(self) -> Ed25519Signer:
        return self._signer

    # ------------------------------------------------------------------ keys

    def _active_key_id(self) -> str | None:
        row = self._execute(
            "SELECT value FROM audit_meta WHERE name = 'active_key_id'").fetchone()
        return None if row is None else str(row["value"])

    def _claim_active_key(self) -> None:
        """Record our key as the active one on a new log; on an old one, it must be the active."""
        with self._write_transaction():
            for name, value in (("active_key_id", self._signer.key_id), ("origin", self.origin)):
                self._execute("INSERT INTO audit_meta (name, value) VALUES (?, ?) "
                              "ON CONFLICT (name) DO NOTHING", (name, value))
            self._ensure_current_signer()

    def _ensure_current_signer(self) -> None:
        """Inside a write transaction: our signer must be the log's active key (fail closed)."""
        active = self._active_key_id()
        if active == self._signer.key_id:
            return
        if self._signer_loader is not None:  # another process rotated the key: pick it up
            fresh = self._signer_loader()
            if fresh.key_id == active:
                self._signer = fresh
                self.keyring = load_keyring(self.keyring_path)
                return
        raise AuditStoreError(
            f"signing key {self._signer.key_id} is not the log's active key {active}; "
            "it was rotated: restart with the current signing key")

    # ------------------------------------------------------------------ appending

    def append(self, event: AuditEvent) -> AppendResult:
        """Sign and durably store ``event``; idempotent by ``event.record_id``.

        If the record id is already in the log, nothing is written and the stored record is
        returned with ``created=False``; callers that care compare it with their event.
        Concurrent callers share one commit (group commit); each returns once it is durable.
        """
        return self._submit([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AppendResult]:
        """Append several events in one durable transaction (in order)."""
        return self._submit(list(events))

    def _submit(self, events: list[AuditEvent]) -> list[AppendResult]:
        # Payload building and canonicalisation happen here, in the caller's thread, before
        # any lock: while one caller commits, the others prepare (and wait for the disk).
        mine = [_Pending(event) for event in events]
        if not mine:
            return []
        last = mine[-1]
        wake = last.wake = _Wakeup()  # rung when ours are done or we are to sign
        with self._queue:
            self._pending.extend(mine)
            taken = self._turn_to_sign(last)
        while True:
            if taken is None:
                wake.wait()
            else:
                self._lead(*taken)
            if last.done:  # set before the ring, so no lock is needed to see it
                break
            with self._queue:
                if last.done:
                    break
                taken = self._turn_to_sign(last)
        self._maybe_checkpoint()
        results = []
        for pending in mine:
            if pending.error is not None:
                raise pending.error
            assert pending.result is not None
            results.append(pending.result)
        return results

    def _turn_to_sign(self, last: _Pending) -> tuple[list[_Pending], _Head | None, int] | None:
        """Under _queue: the batch to sign if it is our turn, else None (and we sleep).

        Batches are taken from the front of the queue, so an appender's events are done when
        its last one is. One appender at a time signs the next batch, when at most one batch
        is being committed (so the queue grows into a batch while the disk writes); the
        others sleep until they are done or chosen to sign next.
        """
        assert last.wake is not None
        if self._elected is last:
            self._elected = None  # chosen by the appender before us: _signing is ours
            return self._take_batch()
        if not last.taken and not self._signing and self._tickets - self._committed <= 1:
            self._signing = True
            return self._take_batch()
        last.wake.reset()  # under _queue, so no ring is lost
        return None

    def _take_batch(self) -> tuple[list[_Pending], _Head | None, int]:
        """Under _queue, by the appender that signs next: the batch, the guessed head, a ticket."""
        batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
        for pending in batch:
            pending.taken = True
        ticket = self._tickets
        self._tickets += 1
        return batch, self._head, ticket

    def _elect_signer(self) -> None:
        """Under _queue: if a batch may be signed now, wake the first appender still queued."""
        if self._signing or self._tickets - self._committed > 1:
            return
        chosen = next((p for p in self._pending if p.wake is not None), None)
        if chosen is not None and chosen.wake is not None:
            self._signing, self._elected = True, chosen
            chosen.wake.ring()

    def _lead(self, batch: list[_Pending], head: _Head | None, ticket: int) -> None:
        """Sign ``batch`` on the guessed chain ``head``, then commit it in its turn."""
        signed: _Signed | None = None
        interrupted: BaseException | None = None
        try:
            if head is None:  # no guess (start, or a guess went wrong): wait for the real head
                with self._queue:
                    while self._committed != ticket:
                        self._queue.wait()
                    head = self._last_end
                    if self._unguessed > 0:  # guesses failed lately: another process appends
                        self._unguessed -= 1
                        head = None  # sign inside the transaction, as without a pipeline
            if head is not None:
                signed = self._sign_batch(batch, head)
        except Exception:
            signed = None  # signed again inside the transaction, which reports what is wrong
        except BaseException as stop:  # still take our turn below, or later batches would wait
            interrupted = stop
        finally:
            with self._queue:
                self._signing = False
                self._head = None if signed is None else signed.end
                self._elect_signer()
        end: _Head | None = None
        try:
            with self._queue:
                while self._committed != ticket:
                    self._queue.wait()
            if interrupted is not None:
                raise interrupted
            with self._commit_lock:
                end = self._commit(batch, signed)
        except BaseException as failure:
            for pending in batch:
                if not pending.done:
                    pending.error, pending.done = failure, True
        finally:
            with self._queue:
                self._committed += 1
                self._last_end = end
                if signed is None or end != signed.end:
                    self._head = None  # batches signed on our guess are signed again
                if signed is not None and end != signed.end:
                    self._unguessed = _UNGUESSED_AFTER_MISS
                for pending in batch:
                    if pending.wake is not None:
                        pending.wake.ring()
                self._elect_signer()
                self._queue.notify_all()  # the leader of the next batch waits for its turn

    def _sign_batch(self, batch: list[_Pending], head: _Head) -> _Signed:
        """Records for ``batch`` if the log's head is ``head`` when it commits."""
        seq, prev, key_id = head
        if key_id != self._signer.key_id:  # rotated since: sign inside the transaction
            raise AuditStoreError("signing key changed")
        signer = self._signer
        created: dict[str, StoredRecord] = {}
        outcomes: list[_Outcome] = []
        rows: list[tuple[object, ...]] = []
        for pending in batch:
            record_id = pending.prepared.event.record_id
            if record_id in created:
                outcomes.append((pending, AppendResult(created[record_id], False), None))
                continue
            try:
                record = self._build(pending.prepared, seq + 1, prev, signer)
            except AuditPayloadError as error:
                outcomes.append((pending, None, error))
                continue
            rows.append(_row(record))
            seq, prev = record.seq, record.leaf_hash
            created[record_id] = record
            outcomes.append((pending, AppendResult(record, True), None))
        return _Signed(head, (seq, prev, key_id), outcomes, rows, list(created))

    def _last_seq_and_hash(self) -> tuple[int, str]:
        last = self._execute(
            "SELECT seq, canonical FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        if last is None:
            return 0, GENESIS_HASH
        return int(last["seq"]), leaf_hash(_blob(last["canonical"])).hex()

    def _existing(self, record_ids: list[str]) -> dict[str, StoredRecord]:
        """The stored records among ``record_ids`` (one query per chunk, not one per id)."""
        found: dict[str, StoredRecord] = {}
        for start in range(0, len(record_ids), _ID_CHUNK):
            chunk = record_ids[start:start + _ID_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in self._execute(f"SELECT {_COLUMNS} FROM audit_records WHERE record_id "
                                     f"IN ({marks})", chunk).fetchall():
                found[row["record_id"]] = _record(row)
        return found

    def _commit(self, batch: list[_Pending], signed: _Signed | None = None) -> _Head:
        """One transaction for the whole batch; marks each pending event done.

        ``signed`` holds the batch's records signed before the transaction on a guessed head;
        they are stored only if the log's head, the active key and the absence of their
        record ids are confirmed inside the transaction (another process may have appended,
        the key may have been rotated, a retry may have been stored); otherwise the batch is
        signed again here. Returns the head after the batch.
        """
        with self._write_transaction():
            self._ensure_current_signer()
            seq, prev = self._last_seq_and_hash()
            key_id = self._signer.key_id
            known = self._existing(list({p.prepared.event.record_id for p in batch}))
            if (signed is not None and signed.start == (seq, prev, key_id)
                    and not any(record_id in known for record_id in signed.record_ids)):
                outcomes, rows, (seq, prev, _) = signed.outcomes, signed.rows, signed.end
            else:
                outcomes, rows = [], []
                for pending in batch:
                    record_id = pending.prepared.event.record_id
                    existing = known.get(record_id)
                    if existing is not None:  # the first record wins, unchanged
                        outcomes.append((pending, AppendResult(existing, False), None))
                        continue
                    try:
                        record = self._build(pending.prepared, seq + 1, prev)
                    except AuditPayloadError as error:  # this event only; the others go on
                        outcomes.append((pending, None, error))
                        continue
                    rows.append(_row(record))
                    seq, prev = record.seq, record.leaf_hash
                    known[record_id] = record
                    outcomes.append((pending, AppendResult(record, True), None))
            self._insert_rows(rows)
        self._known_size = max(self._known_size, seq)
        with self._lock:  # after the commit: only leaves that are in the log
            if len(self._leaves) > _MAX_LEAVES:  # no checkpoint for long: read them back then
                self._leaves.clear()
            for _, result, _ in outcomes:  # what this transaction stored, for the checkpoint
                if result is not None and result.created:
                    self._leaves[result.record.seq] = bytes.fromhex(result.record.leaf_hash)
        for pending, result, problem in outcomes:  # durable: the commit above returned
            pending.result, pending.error, pending.done = result, problem, True
        return seq, prev, key_id

    def _build(self, event: AuditEvent | PreparedRecord, seq: int, prev_hash: str,
               signer: Ed25519Signer | None = None) -> StoredRecord:
        prepared = event if isinstance(event, PreparedRecord) else PreparedRecord(event)
        signer = signer or self._signer
        payload, canonical = prepared.build(seq=seq, prev_hash=prev_hash, key_id=signer.key_id)
        source = prepared.event
        return StoredRecord(
            seq=seq,
            record_id=source.record_id,
            kind=source.kind,
            request_id=source.request_id,
            tenant=source.tenant,
            payload=payload,
            canonical=canonical,
            leaf_hash=leaf_hash(canonical).hex(),
            signature=signer.sign(signing_input(canonical)),
            key_id=signer.key_id,
        )

    def _insert_rows(self, rows: list[tuple[object, ...]]) -> None:
        """Insert rows made by ``_row`` (a backend may send them in one call)."""
        for row in rows:
            self._execute(_INSERT, row)

    # ------------------------------------------------------------------ checkpoints

    def _maybe_checkpoint(self) -> None:
        """Sign a checkpoint when one is due; one appender checks, the others go on."""
        if self.checkpoint_every <= 0 and self.checkpoint_interval_s <= 0:
            return
        if not self._checkpointing.acquire(blocking=False):
            return  # another appender is looking at it right now
        try:
            size, when = self._last_checkpoint
            current = self._known_size  # as of this process's last commit (no query)
            due = (self.checkpoint_every > 0 and current - size >= self.checkpoint_every) or (
                self.checkpoint_interval_s > 0 and current > size
                and time.monotonic() - when >= self.checkpoint_interval_s)
            if due:
                self.issue_checkpoint()
        finally:
            self._checkpointing.release()

    def issue_checkpoint(self) -> StoredCheckpoint:
        """Sign a checkpoint of the whole log now (idempotent for an unchanged log)."""
        with self._lock, self._write_transaction():
            self._ensure_current_signer()
            tree = self._tree.copy()
            last = self.size()
            ours = [self._leaves.get(seq) for seq in range(tree.size + 1, last + 1)]
            if None not in ours:  # every new record was committed by this process
                for digest in ours:
                    assert digest is not None
                    tree.append(digest)
            else:  # others appended too: hash what is stored
                rows = self._execute(
                    "SELECT seq, canonical FROM audit_records WHERE seq > ? ORDER BY seq",
                    (tree.size,)).fetchall()
                for row in rows:
                    if row["seq"] != tree.size + 1:
                        raise AuditStoreCorruptError(
                            f"record {tree.size + 1} is missing; run audit verification")
                    tree.append(leaf_hash(_blob(row["canonical"])))
            found = self._execute("SELECT size, root_hash, note, issued_at FROM "
                                  "audit_checkpoints WHERE size = ?", (tree.size,)).fetchone()
            if found is None:
                checkpoint = Checkpoint(self.origin, tree.size, tree.root())
                note = sign_checkpoint(checkpoint, self.origin, raw_public_key(self._signer),
                                       self._signer.sign)
                issued_at = format_timestamp(self._clock())
                self._execute("INSERT INTO audit_checkpoints (size, root_hash, note, "
                              "issued_at) VALUES (?, ?, ?, ?)",
                              (tree.size, tree.root().hex(), note, issued_at))
                stored = StoredCheckpoint(tree.size, tree.root(), note, issued_at)
            else:
                stored = StoredCheckpoint(found["size"], bytes.fromhex(found["root_hash"]),
                                          _blob(found["note"]), found["issued_at"])
        with self._lock:
            self._tree = tree
            self._last_checkpoint = (tree.size, time.monotonic())
            for seq in [seq for seq in self._leaves if seq <= tree.size]:
                del self._leaves[seq]
        return stored

    def add_note_signature(self, size: int, signature: NoteSignature) -> StoredCheckpoint:
        """Add one signature line (a witness cosignature) to the stored checkpoint at ``size``.

        A later line by the same key replaces the earlier one; the note text is unchanged, so
        the log's own signature still verifies. The caller verified what it signs.
        """
        with self._lock, self._write_transaction():
            found = self._execute("SELECT size, root_hash, note, issued_at FROM "
                                  "audit_checkpoints WHERE size = ?", (size,)).fetchone()
            if found is None:
                raise AuditStoreError(f"no stored checkpoint at size {size}")
            note = add_signature(_blob(found["note"]), signature)
            self._execute("UPDATE audit_checkpoints SET note = ? WHERE size = ?", (note, size))
        return StoredCheckpoint(size, bytes.fromhex(found["root_hash"]), note,
                                found["issued_at"])

    # ------------------------------------------------------------------ key rotation

    def rotate_key(self, new_signer: Ed25519Signer) -> StoredRecord:
        """Retire the current key: a ``key_rotated`` record signed by it names the new key.

        The keyring file is updated (old window closed, new one opened, at the record's time)
        before the commit; a checkpoint signed by the new key follows.
        """
        old = self._signer
        new_public = raw_public_key(new_signer)
        with self._commit_lock, self._lock:
            moment = self._clock()
            event = AuditEvent(
                record_id=f"key-rotation/{old.key_id}/{new_signer.key_id}",
                kind="key_rotated", request_id=None, tenant=None, occurred_at=moment,
                details={"retired_key_id": old.key_id, "new_key_id": new_signer.key_id,
                         "new_public_key": base64.b64encode(new_public).decode("ascii")})
            previous_keyring = self.keyring
            try:
                with self._write_transaction():
                    self._ensure_current_signer()
                    seq, prev = self._last_seq_and_hash()
                    record = self._build(event, seq + 1, prev)
                    self._insert_rows([_row(record)])
                    self._execute("UPDATE audit_meta SET value = ? WHERE name = 'active_key_id'",
                                  (new_signer.key_id,))
                    keyring = self.keyring.rotated(old.key_id, new_public,
                                                   record.payload["occurred_at"])
                    save_keyring(self.keyring_path, keyring)
            except BaseException:
                save_keyring(self.keyring_path, previous_keyring)
                raise
            self.keyring, self._signer = keyring, new_signer
            with self._queue:
                self._head = self._last_end = None  # batches signed on a guess: signed again
        self.issue_checkpoint()
        return record


class SqliteAuditStore(GroupCommitLog):
    """The default audit store: one SQLite file, safe for several appending processes."""

    def __init__(
        self,
        path: Path,
        signer: Ed25519Signer,
        *,
        origin: str | None = None,
        keyring_path: Path | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        signer_loader: Callable[[], Ed25519Signer] | None = None,
        clock: Callable[[], datetime] = now_utc,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        try:
            # the busy timeout is how long an append waits for another writer before failing closed
            conn = open_wal_database(path, busy_timeout_s, private=False)
        except SqliteOpenError as exc:
            raise AuditStoreError(str(exc)) from exc
        try:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > STORE_VERSION:
                raise AuditStoreError(f"{path}: layout version {version} is newer than this code")
            for statement in _DDL:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            conn.execute("COMMIT")
            conn.row_factory = sqlite3.Row
            self.path = path
            super().__init__(
                conn, signer, keyring_path=keyring_path or keyring_path_for(path), origin=origin,
                checkpoint_every=checkpoint_every, checkpoint_interval_s=checkpoint_interval_s,
                signer_loader=signer_loader, clock=clock)
        except BaseException:
            conn.close()
            raise

    def _begin_write(self) -> None:
        self._execute("BEGIN IMMEDIATE")  # takes the write lock: one appender at a time

    def _insert_rows(self, rows: list[tuple[object, ...]]) -> None:
        self._conn.executemany(_INSERT, rows)  # one call for a whole group commit

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._execute("ROLLBACK")

    @staticmethod
    def open_readonly(path: Path) -> SqliteAuditReader:
        return SqliteAuditReader(path)


def _open_keyring(path: Path, signer: Ed25519Signer, origin: str | None) -> Keyring:
    """The keyring next to the log, created with ``signer`` as first key on a new log."""
    if not path.exists():
        keyring = Keyring(origin or DEFAULT_ORIGIN,
                          (KeyEntry(signer.key_id, raw_public_key(signer)),))
        save_keyring(path, keyring)
        return keyring
    keyring = load_keyring(path)
    if origin is not None and origin != keyring.origin:
        raise AuditStoreError(f"{path}: the log's origin is {keyring.origin!r}, "
                              f"not the configured {origin!r}")
    return keyring


def _verifiers(public_key_paths: Sequence[Path]) -> dict[str, VerifyFn]:
    return dict(load_public_key(path) for path in public_key_paths)


def _raw_public(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(path.read_bytes())
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def trusted_keyring(
    db_path: Path, public_key_paths: Sequence[Path] = (), keyring_path: Path | None = None,
    origin: str | None = None,
) -> Keyring:
    """The keyring a verifier trusts: the file next to the log (or given), plus extra keys.

    Extra public keys (PEM files) are added with open windows; this is how logs written before
    keyrings existed verify.
    """
    path = keyring_path or keyring_path_for(db_path)
    keyring = load_keyring(path) if path.exists() else Keyring(origin or DEFAULT_ORIGIN, ())
    for pem in public_key_paths:
        raw = _raw_public(pem)
        keyring = keyring.with_key(KeyEntry(key_id_of(raw), raw))
    return keyring


def verify_log_reader(
    reader: AuditLogReader, keyring: Keyring, schema: Mapping[str, Any],
    trusted_checkpoint: bytes | None = None,
) -> LogReport:
    checkpoints = [(c.size, c.note) for c in reader.checkpoints()]
    return verify_log(reader.iter_entries(), keyring, verifier_for_raw, schema, checkpoints,
                      trusted_checkpoint)


def verify_store(
    path: Path,
    public_key_paths: Sequence[Path],
    schema: Mapping[str, Any],
    *,
    keyring_path: Path | None = None,
    trusted_checkpoint: bytes | None = None,
    origin: str | None = None,
) -> LogReport:
    """Check the whole database at ``path``: records, key windows, tree, checkpoints.

    ``origin`` names the log when no keyring file is found (then only ``public_key_paths``
    are trusted, with open windows).
    """
    if not path.is_file():
        return LogReport(ok=False, records_checked=0, problem="no audit database found")
    keyring = trusted_keyring(path, public_key_paths, keyring_path, origin)
    with SqliteAuditReader(path) as reader:
        return verify_log_reader(reader, keyring, schema, trusted_checkpoint)


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


class AuditLogReader(Protocol):
    def iter_entries(self) -> Iterator[ChainEntry]: ...

    def checkpoints(self) -> list[StoredCheckpoint]: ...


if TYPE_CHECKING:  # mypy proves the SQLite classes satisfy the protocols
    _store: type[AuditStore] = SqliteAuditStore
    _log: type[AuditLog] = SqliteAuditStore
    _reader: type[AuditReader] = SqliteAuditReader
