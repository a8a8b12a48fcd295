"""Data keys for crypto-shredding, in SQLite (``$DOUANE_HOME/keys.sqlite3``, ``DOUANE_KEYS_DB``).

* one fingerprint key per tenant (HMAC-SHA-256 of subjects' values; never destroyed by
  retention, it holds no personal data and is what lets a DPO find a person again);
* one AES-256 data key per (tenant, subject, period) (:mod:`streams.core.key_periods`),
  stored only wrapped by its period's key-encryption key (KEK);
* legal holds.

The KEKs are *not* in this file: they live in a :class:`streams.adapters.kek_store.KekStore`
(a folder outside ``DOUANE_HOME``, or a PKCS#11 token), so that a copy of this database cannot
undo a retention run. A database written by an older version, with a ``keks`` table, has its
KEKs moved out when opened (then deleted here as destroyed keys are).

Destroying a key deletes its row with ``PRAGMA secure_delete`` (SQLite overwrites the freed
bytes with zeros) and then truncates the write-ahead log, so the key bytes are in no file
afterwards. Every change runs in a ``BEGIN IMMEDIATE`` transaction: runs in several processes at
once are safe, and each key is counted as destroyed by exactly one of them.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.grouped_writes import GroupedWrites
from streams.adapters.kek_store import KekStore, KekStoreError
from streams.adapters.sqlite_files import open_wal_database
from streams.core.fingerprint import subject_fingerprint, subject_fingerprints
from streams.core.key_periods import (
    Hold,
    KeyPeriod,
    KeyRef,
    destroyable,
    parse_period_id,
    period_for,
)
from streams.errors import DouaneError

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenant_keys (
    tenant TEXT PRIMARY KEY, fingerprint_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS data_keys (
    key_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT NOT NULL,
    period_id TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at REAL NOT NULL,
    nonce BLOB NOT NULL, wrapped BLOB NOT NULL, UNIQUE (tenant, subject, period_id));
CREATE INDEX IF NOT EXISTS data_keys_by_expiry ON data_keys (expires_at);
CREATE TABLE IF NOT EXISTS holds (
    hold_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT, reason TEXT NOT NULL,
    placed_at REAL NOT NULL);
"""


class KeyStoreError(DouaneError, RuntimeError):
    pass


# identifiers looked up per statement (SQLite's default limit on parameters, 32,766 since
# 3.32, is far above)
_BATCH = 400
# the table where versions before the KEK store kept the KEKs next to the keys they wrap
_LEGACY_KEKS = "keks"


class SubjectHeldError(KeyStoreError):
    """An erasure was asked for a subject under legal hold."""

    def __init__(self, message: str, hold: StoredHold | None = None) -> None:
        super().__init__(message)
        self.hold = hold


@dataclass(frozen=True)
class DataKey:
    key_id: str
    key: bytes


@dataclass(frozen=True)
class StoredHold:
    hold_id: str
    hold: Hold
    reason: str
    placed_at: float


@dataclass(frozen=True)
class DestroyedKeys:
    """What one retention run or erasure destroyed (ids and periods only: no personal data)."""

    keys: tuple[KeyRef, ...]
    keks: tuple[str, ...]  # period ids whose key-encryption key is gone
    held: int  # expired keys kept because a hold covers them


@dataclass(frozen=True)
class PeriodStatus:
    period: KeyPeriod
    keys: int
    held: int
    subjects: int


class KeyStore:
    def __init__(self, path: Path, keks: KekStore, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.keks = keks
        self.clock = clock
        # one connection, shared by the worker's threads: transactions take turns
        self._lock = threading.RLock()
        self._tenant_keys: dict[str, bytes] = {}
        self._db = open_wal_database(path, busy_timeout_s)
        self._db.execute("PRAGMA secure_delete=ON")
        # the data keys created by requests in flight at once: one commit for all of them
        self._writes = GroupedWrites(self._db, self._lock)
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
        self._migrate_keks()

    def _migrate_keks(self) -> None:
        """Move KEKs an older version kept in this database into the KEK store, then delete
        them here (zero-overwritten, WAL truncated): from now on a copy of this file holds no
        KEK. Each is adopted before any is deleted, and a crash in between only repeats the
        adoption, which keeps an identical KEK."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (_LEGACY_KEKS,)).fetchone() is None:
                return
            rows = db.execute(f"SELECT period_id, kek FROM {_LEGACY_KEKS}").fetchall()
            for period_id, kek in rows:
                self.keks.adopt(str(period_id), bytes(kek))
            db.execute(f"DELETE FROM {_LEGACY_KEKS}")
            db.execute(f"DROP TABLE {_LEGACY_KEKS}")
        self._wipe_wal()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ fingerprints

    def fingerprint(self, tenant: str, value: str) -> str:
        return subject_fingerprint(self._tenant_key(tenant), value)

    def fingerprints(self, tenant: str, value: str) -> tuple[str, ...]:
        """Every fingerprint ``value`` may have been stored under: the current one first, then
        the one of the older normal form (values stored before honorifics and accents were
        folded)."""
        return subject_fingerprints(self._tenant_key(tenant), value)

    def tenants(self) -> set[str]:
        """Tenants douane has kept anything about (each has a fingerprint key)."""
        return {str(r[0]) for r in self._db.execute("SELECT tenant FROM tenant_keys")}

    def _tenant_key(self, tenant: str) -> bytes:
        if tenant in self._tenant_keys:
            return self._tenant_keys[tenant]
        row = self._db.execute("SELECT fingerprint_key FROM tenant_keys WHERE tenant = ?",
                               (tenant,)).fetchone()
        if row is not None:
            return bytes(row[0])
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO tenant_keys VALUES (?, ?)", (tenant, os.urandom(32)))
            row = db.execute("SELECT fingerprint_key FROM tenant_keys WHERE tenant = ?",
                             (tenant,)).fetchone()
        self._tenant_keys[tenant] = bytes(row[0])
        return self._tenant_keys[tenant]

    # ------------------------------------------------------------------ data keys

    def data_key(self, tenant: str, subject: str, retention_s: int) -> DataKey:
        """The key for values about ``subject`` stored now; created on first use."""
        keys, _ = self.data_keys(tenant, [subject], retention_s)
        return keys[subject]

    def data_keys(self, tenant: str, subjects: Iterable[str],
                  retention_s: int) -> tuple[dict[str, DataKey], KeyPeriod]:
        """The keys for values about each subject stored now (created on first use). Those
        that exist are read without a write transaction; the missing ones are created in one,
        shared with the other threads' (``GroupedWrites``): a request naming five people costs
        at most one durable commit, and requests in flight at once share it."""
        period = period_for(self.clock(), retention_s)
        if period.expired(self.clock()):
            raise KeyStoreError(f"period {period.period_id} has already ended")
        wanted = list(dict.fromkeys(subjects))
        # under the connection's lock, outside any group in progress: only committed keys
        # (never one a group has created and may yet roll back). A second, unlocked read
        # connection was tried: after another process's erasure, the worker stored a value
        # under a key that no longer existed (tests/integration, the erasure test after the
        # console's); the cause was not pinned down, so reads stay on this connection
        with self._lock:
            keys = self._stored_keys(self._db, tenant, wanted, period)
        missing = [s for s in wanted if s not in keys]
        if missing:
            keys.update(self._writes.run(
                functools.partial(self._create_keys, tenant=tenant, subjects=missing,
                                  period=period)))
        return keys, period

    def _stored_keys(self, db: sqlite3.Connection, tenant: str, subjects: Sequence[str],
                     period: KeyPeriod) -> dict[str, DataKey]:
        """The keys of ``subjects`` for ``period`` that exist: one statement per
        ``_BATCH`` subjects, not one per subject (a request's placeholders, its kept response
        and its ``encrypt`` tokens each name several people; issue 10, docs/benchmarks.md
        "storejobs2")."""
        keys: dict[str, DataKey] = {}
        for chunk in _chunks(subjects):
            rows = db.execute(
                "SELECT subject, key_id, nonce, wrapped FROM data_keys WHERE tenant = ?"
                f" AND period_id = ? AND subject IN ({', '.join('?' for _ in chunk)})",
                (tenant, period.period_id, *chunk)).fetchall()
            for subject, key_id, nonce, wrapped in rows:
                key = self._unwrap_row(str(key_id), period.period_id, nonce, wrapped)
                if key is None:
                    raise KeyStoreError(f"the KEK of period {period.period_id} is missing "
                                        f"from {self.keks.describe()} while the period "
                                        "is current: KEK store lost or not the right one")
                keys[str(subject)] = DataKey(str(key_id), key)
        return keys

    def _create_keys(self, db: sqlite3.Connection, *, tenant: str, subjects: Sequence[str],
                     period: KeyPeriod) -> dict[str, DataKey]:
        """Inside a write transaction: the keys of ``subjects``, created where still missing
        (another write of the group, or another process, may have created one meanwhile)."""
        keys = self._stored_keys(db, tenant, subjects, period)
        for subject in subjects:
            if subject in keys:
                continue
            key_id = uuid.uuid4().hex
            key = AESGCM.generate_key(bit_length=256)
            nonce, wrapped = self.keks.wrap(period, key_id, key)
            db.execute("INSERT INTO data_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, tenant, subject, period.period_id, period.expires_at,
                        self.clock(), nonce, wrapped))
            keys[subject] = DataKey(key_id, key)
        return keys

    def _unwrap_row(self, key_id: str, period_id: str, nonce: bytes,
                    wrapped: bytes) -> bytes | None:
        try:
            return self.keks.unwrap(period_id, key_id, bytes(nonce), bytes(wrapped))
        except KekStoreError as error:
            raise KeyStoreError(str(error)) from None

    def unwrap(self, key_id: str) -> bytes | None:
        """The data key, or None once it (or its period's KEK) has been destroyed."""
        row = self._db.execute("SELECT period_id, nonce, wrapped FROM data_keys WHERE key_id = ?",
                               (key_id,)).fetchone()
        if row is None:
            return None
        return self._unwrap_row(key_id, str(row[0]), row[1], row[2])

    def unwrap_many(self, key_ids: Iterable[str]) -> dict[str, bytes | None]:
        """``unwrap`` of several keys, one statement per ``_BATCH`` of them: each id maps to
        its data key, or to None once it (or its period's KEK) has been destroyed."""
        wanted = list(dict.fromkeys(key_ids))
        found: dict[str, bytes | None] = dict.fromkeys(wanted)
        for chunk in _chunks(wanted):
            for key_id, period_id, nonce, wrapped in self._db.execute(
                    "SELECT key_id, period_id, nonce, wrapped FROM data_keys WHERE key_id IN"
                    f" ({', '.join('?' for _ in chunk)})", chunk).fetchall():
                found[str(key_id)] = self._unwrap_row(str(key_id), str(period_id), nonce,
                                                      wrapped)
        return found

    def live_key_ids(self) -> set[str]:
        return {str(r[0]) for r in self._db.execute("SELECT key_id FROM data_keys")}

    def keys_of(self, tenant: str, subject: str) -> list[KeyRef]:
        return [_ref(r) for r in self._db.execute(
            "SELECT key_id, tenant, subject, period_id FROM data_keys "
            "WHERE tenant = ? AND subject = ?", (tenant, subject))]

    # ------------------------------------------------------------------ destruction

    def expired(self, as_of: float,
                extra_holds: Sequence[Hold] = ()) -> tuple[list[KeyRef], list[KeyRef]]:
        """(what a run at ``as_of`` would destroy, what holds would keep): changes nothing."""
        holds = [h.hold for h in self._holds(self._db)] + list(extra_holds)
        expired = [_ref(r) for r in self._db.execute(
            "SELECT key_id, tenant, subject, period_id FROM data_keys WHERE expires_at <= ?",
            (as_of,))]
        doomed = destroyable(expired, as_of, holds)
        gone = {k.key_id for k in doomed}
        return doomed, [k for k in expired if k.key_id not in gone]

    def destroy_expired(self, extra_holds: Sequence[Hold] = ()) -> DestroyedKeys:
        """Destroy the keys whose period has ended, but those a hold covers: the stored holds
        and ``extra_holds`` (a person's other identifiers, as the caller linked them)."""
        now = self.clock()
        with self._transaction() as db:
            holds = [h.hold for h in self._holds(db)] + list(extra_holds)
            expired = [_ref(r) for r in db.execute(
                "SELECT key_id, tenant, subject, period_id FROM data_keys WHERE expires_at <= ?",
                (now,))]
            doomed = destroyable(expired, now, holds)
            db.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k.key_id,) for k in doomed])
            # a KEK goes with the last data key of its ended period (held keys keep theirs);
            # destroyed while this transaction holds the write lock, so no other process can
            # wrap a new key under it in between
            in_use = {str(r[0]) for r in db.execute("SELECT DISTINCT period_id FROM data_keys")}
            keks = sorted(p for p in self.keks.period_ids()
                          if parse_period_id(p).expired(now) and p not in in_use)
            keks = [p for p in keks if self.keks.destroy(p)]
        self._wipe_wal()
        return DestroyedKeys(tuple(doomed), tuple(keks), len(expired) - len(doomed))

    def erase(self, tenant: str, subject: str) -> DestroyedKeys:
        """Destroy every data key of one subject, whatever its period (not under hold)."""
        return self.erase_many(tenant, [subject])

    def erase_many(self, tenant: str, subjects: Sequence[str]) -> DestroyedKeys:
        """Destroy every data key of several subjects (one person's identifiers) at once, or
        none of them if a stored hold covers any (SubjectHeldError naming the hold)."""
        with self._transaction() as db:
            for stored in self._holds(db):
                covered = [s for s in subjects if stored.hold.covers(tenant, s)]
                if covered:
                    raise SubjectHeldError(
                        f"subject {covered[0][:16]}... of tenant {tenant} is under legal hold "
                        f"{stored.hold_id} ({stored.reason})", stored)
            keys = self._keys_of(db, tenant, subjects)
            db.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k.key_id,) for k in keys])
        self._wipe_wal()
        return DestroyedKeys(tuple(keys), (), 0)

    def keys_of_many(self, tenant: str, subjects: Sequence[str]) -> list[KeyRef]:
        return self._keys_of(self._db, tenant, subjects)

    @staticmethod
    def _keys_of(db: sqlite3.Connection, tenant: str, subjects: Sequence[str]) -> list[KeyRef]:
        found: list[KeyRef] = []
        for subject in dict.fromkeys(subjects):
            found += [_ref(r) for r in db.execute(
                "SELECT key_id, tenant, subject, period_id FROM data_keys "
                "WHERE tenant = ? AND subject = ?", (tenant, subject))]
        return found

    def _wipe_wal(self) -> None:
        # The WAL still holds the pages as they were before the delete; fold it into the
        # (zero-overwritten) database and truncate it. Busy readers only delay this to the
        # next run, so a failure here is not an error.
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ holds and status

    def add_hold(self, tenant: str, subject: str | None, reason: str) -> StoredHold:
        hold = StoredHold(uuid.uuid4().hex[:12], Hold(tenant, subject), reason, self.clock())
        with self._transaction() as db:
            db.execute("INSERT INTO holds VALUES (?, ?, ?, ?, ?)",
                       (hold.hold_id, tenant, subject, reason, hold.placed_at))
        return hold

    def remove_hold(self, hold_id: str) -> StoredHold | None:
        with self._transaction() as db:
            found = [h for h in self._holds(db) if h.hold_id == hold_id]
            db.execute("DELETE FROM holds WHERE hold_id = ?", (hold_id,))
        return found[0] if found else None

    def holds(self) -> list[StoredHold]:
        return self._holds(self._db)

    @staticmethod
    def _holds(db: sqlite3.Connection) -> list[StoredHold]:
        return [StoredHold(str(r[0]), Hold(str(r[1]), r[2]), str(r[3]), float(r[4]))
                for r in db.execute("SELECT hold_id, tenant, subject, reason, placed_at "
                                    "FROM holds ORDER BY placed_at")]

    def status(self, extra_holds: Sequence[Hold] = ()) -> list[PeriodStatus]:
        holds = [h.hold for h in self.holds()] + list(extra_holds)
        periods: dict[str, list[KeyRef]] = {}
        for row in self._db.execute("SELECT key_id, tenant, subject, period_id FROM data_keys"):
            ref = _ref(row)
            periods.setdefault(ref.period.period_id, []).append(ref)
        return [PeriodStatus(refs[0].period, len(refs),
                             sum(any(h.covers(k.tenant, k.subject) for h in holds) for k in refs),
                             len({(k.tenant, k.subject) for k in refs}))
                for _, refs in sorted(periods.items(), key=lambda p: p[1][0].period.expires_at)]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _ref(row: tuple[object, ...]) -> KeyRef:
    return KeyRef(str(row[0]), str(row[1]), str(row[2]), parse_period_id(str(row[3])))
