"""Data keys for crypto-shredding, in SQLite (``$DOUANE_HOME/keys.sqlite3``, ``DOUANE_KEYS_DB``).

* one fingerprint key per tenant (HMAC-SHA-256 of subjects' values; never destroyed by
  retention, it holds no personal data and is what lets a DPO find a person again);
* one key-encryption key (KEK) per period (:mod:`streams.core.key_periods`);
* one AES-256 data key per (tenant, subject, period), stored only wrapped by its period's KEK
  (AES-GCM, the key id as associated data);
* legal holds.

Destroying a key deletes its row with ``PRAGMA secure_delete`` (SQLite overwrites the freed
bytes with zeros) and then truncates the write-ahead log, so the key bytes are in no file
afterwards. Every change runs in a ``BEGIN IMMEDIATE`` transaction: runs in several processes at
once are safe, and each key is counted as destroyed by exactly one of them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.sqlite_files import open_wal_database
from streams.core.fingerprint import subject_fingerprint
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
CREATE TABLE IF NOT EXISTS keks (
    period_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, kek BLOB NOT NULL);
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


class SubjectHeldError(KeyStoreError):
    """An erasure was asked for a subject under legal hold."""


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
    def __init__(self, path: Path, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.clock = clock
        # one connection, shared by the worker's threads: transactions take turns
        self._lock = threading.RLock()
        self._tenant_keys: dict[str, bytes] = {}
        self._db = open_wal_database(path, busy_timeout_s)
        self._db.execute("PRAGMA secure_delete=ON")
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

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
        """The keys for values about each subject stored now (created on first use), in one
        transaction: a request naming five people costs one durable commit, not five."""
        period = period_for(self.clock(), retention_s)
        keys: dict[str, DataKey] = {}
        with self._transaction() as db:
            kek = self._kek(db, period)
            for subject in dict.fromkeys(subjects):
                row = db.execute("SELECT key_id, nonce, wrapped FROM data_keys WHERE tenant = ?"
                                 " AND subject = ? AND period_id = ?",
                                 (tenant, subject, period.period_id)).fetchone()
                if row is not None:
                    key_id = str(row[0])
                    keys[subject] = DataKey(key_id, AESGCM(kek).decrypt(row[1], row[2],
                                                                        key_id.encode()))
                    continue
                key_id = uuid.uuid4().hex
                key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
                db.execute("INSERT INTO data_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (key_id, tenant, subject, period.period_id, period.expires_at,
                            self.clock(), nonce,
                            AESGCM(kek).encrypt(nonce, key, key_id.encode())))
                keys[subject] = DataKey(key_id, key)
        return keys, period

    def _kek(self, db: sqlite3.Connection, period: KeyPeriod) -> bytes:
        row = db.execute("SELECT kek FROM keks WHERE period_id = ?",
                         (period.period_id,)).fetchone()
        if row is not None:
            return bytes(row[0])
        if period.expired(self.clock()):
            raise KeyStoreError(f"period {period.period_id} has already ended")
        kek = AESGCM.generate_key(bit_length=256)
        db.execute("INSERT INTO keks VALUES (?, ?, ?)", (period.period_id, period.expires_at, kek))
        return kek

    def unwrap(self, key_id: str) -> bytes | None:
        """The data key, or None once it (or its period's KEK) has been destroyed."""
        row = self._db.execute(
            "SELECT d.nonce, d.wrapped, k.kek FROM data_keys d JOIN keks k "
            "ON k.period_id = d.period_id WHERE d.key_id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        try:
            return AESGCM(bytes(row[2])).decrypt(row[0], row[1], key_id.encode())
        except InvalidTag:
            raise KeyStoreError(f"data key {key_id} does not unwrap: key store damaged") from None

    def live_key_ids(self) -> set[str]:
        return {str(r[0]) for r in self._db.execute("SELECT key_id FROM data_keys")}

    def keys_of(self, tenant: str, subject: str) -> list[KeyRef]:
        return [_ref(r) for r in self._db.execute(
            "SELECT key_id, tenant, subject, period_id FROM data_keys "
            "WHERE tenant = ? AND subject = ?", (tenant, subject))]

    # ------------------------------------------------------------------ destruction

    def destroy_expired(self) -> DestroyedKeys:
        now = self.clock()
        with self._transaction() as db:
            holds = [h.hold for h in self._holds(db)]
            expired = [_ref(r) for r in db.execute(
                "SELECT key_id, tenant, subject, period_id FROM data_keys WHERE expires_at <= ?",
                (now,))]
            doomed = destroyable(expired, now, holds)
            db.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k.key_id,) for k in doomed])
            # a KEK goes with the last data key of its ended period (held keys keep theirs)
            keks = [str(r[0]) for r in db.execute(
                "SELECT period_id FROM keks WHERE expires_at <= ? AND period_id NOT IN "
                "(SELECT period_id FROM data_keys)", (now,))]
            db.executemany("DELETE FROM keks WHERE period_id = ?", [(p,) for p in keks])
        self._wipe_wal()
        return DestroyedKeys(tuple(doomed), tuple(keks), len(expired) - len(doomed))

    def erase(self, tenant: str, subject: str) -> DestroyedKeys:
        """Destroy every data key of one subject, whatever its period (not under hold)."""
        with self._transaction() as db:
            if any(h.hold.covers(tenant, subject) for h in self._holds(db)):
                raise SubjectHeldError(
                    f"subject {subject[:16]}... of tenant {tenant} is under legal hold")
            keys = [_ref(r) for r in db.execute(
                "SELECT key_id, tenant, subject, period_id FROM data_keys "
                "WHERE tenant = ? AND subject = ?", (tenant, subject))]
            db.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k.key_id,) for k in keys])
        self._wipe_wal()
        return DestroyedKeys(tuple(keys), (), 0)

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

    def status(self) -> list[PeriodStatus]:
        holds = [h.hold for h in self.holds()]
        periods: dict[str, list[KeyRef]] = {}
        for row in self._db.execute("SELECT key_id, tenant, subject, period_id FROM data_keys"):
            ref = _ref(row)
            periods.setdefault(ref.period.period_id, []).append(ref)
        return [PeriodStatus(refs[0].period, len(refs),
                             sum(any(h.covers(k.tenant, k.subject) for h in holds) for k in refs),
                             len({(k.tenant, k.subject) for k in refs}))
                for _, refs in sorted(periods.items(), key=lambda p: p[1][0].period.expires_at)]


def _ref(row: tuple[object, ...]) -> KeyRef:
    return KeyRef(str(row[0]), str(row[1]), str(row[2]), parse_period_id(str(row[3])))
