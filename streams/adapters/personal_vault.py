"""The vault of personal values douane keeps (to restore placeholders, to answer a subject-access
request): SQLite (``$DOUANE_HOME/vault.sqlite3``, ``DOUANE_VAULT_DB``), every value AES-256-GCM
encrypted under its subject's data key for the current period (:mod:`streams.adapters.key_store`).

A row holds the tenant, the subject's keyed fingerprint, the data key id, dates, what kind of
value it is and which request it came from: never the value in clear. The ciphertext is bound
to its entry id, tenant and subject (associated data), so a row copied elsewhere does not
decrypt. Once the data key is destroyed the row is unreadable; :meth:`PersonalVault.prune` then
deletes it (zero-overwritten, write-ahead log truncated).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.key_store import KeyStore
from streams.adapters.sqlite_files import open_wal_database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vault_entries ("
    " entry_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT NOT NULL,"
    " key_id TEXT NOT NULL, kind TEXT NOT NULL, request_id TEXT, stored_at REAL NOT NULL,"
    " expires_at INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS vault_by_subject ON vault_entries (tenant, subject)",
)


class ValueErasedError(LookupError):
    """The value's data key has been destroyed (retention or erasure): it cannot be read."""


@dataclass(frozen=True)
class VaultEntry:
    entry_id: str
    tenant: str
    subject: str  # keyed fingerprint
    key_id: str
    kind: str  # e.g. PERSON, placeholder-map, prompt
    request_id: str | None
    stored_at: float
    expires_at: int
    ciphertext_sha256: str  # what an audit record may cite: proves the entry, reveals nothing


@dataclass(frozen=True)
class SubjectValue:
    entry: VaultEntry
    value: str | None  # None when the key is gone


class PersonalVault:
    def __init__(self, path: Path, keys: KeyStore, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.keys = keys
        self._db = open_wal_database(path, busy_timeout_s)
        self._db.execute("PRAGMA secure_delete=ON")
        for statement in SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    def put(self, tenant: str, value: str, *, kind: str, retention_s: int,
            subject: str | None = None, request_id: str | None = None) -> VaultEntry:
        """Keep ``value`` for ``retention_s``; the subject defaults to the value's fingerprint."""
        subject = subject or self.keys.fingerprint(tenant, value)
        data_key = self.keys.data_key(tenant, subject, retention_s)
        # the data key's period decides when the value goes: read it back from the key
        ref = next(k for k in self.keys.keys_of(tenant, subject) if k.key_id == data_key.key_id)
        entry_id, nonce = uuid.uuid4().hex, os.urandom(12)
        ciphertext = AESGCM(data_key.key).encrypt(nonce, value.encode("utf-8"),
                                                  _bound_to(entry_id, tenant, subject))
        stored_at = self.keys.clock()
        self._db.execute("INSERT INTO vault_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (entry_id, tenant, subject, data_key.key_id, kind, request_id, stored_at,
                          ref.period.expires_at, nonce, ciphertext))
        return VaultEntry(entry_id, tenant, subject, data_key.key_id, kind, request_id, stored_at,
                          ref.period.expires_at, hashlib.sha256(ciphertext).hexdigest())

    def read(self, entry_id: str) -> str:
        row = self._db.execute(_SELECT + " WHERE entry_id = ?", (entry_id,)).fetchone()
        if row is None:
            raise ValueErasedError(f"vault entry {entry_id} is gone (erased or expired)")
        value = self._open(row)
        if value is None:
            raise ValueErasedError(f"vault entry {entry_id}: its data key was destroyed")
        return value

    def of_subject(self, tenant: str, subject: str) -> list[SubjectValue]:
        rows = self._db.execute(_SELECT + " WHERE tenant = ? AND subject = ? ORDER BY stored_at",
                                (tenant, subject)).fetchall()
        return [SubjectValue(_entry(r), self._open(r)) for r in rows]

    def _open(self, row: tuple[object, ...]) -> str | None:
        key = self.keys.unwrap(str(row[3]))
        if key is None:
            return None
        plain = AESGCM(key).decrypt(_bytes(row[8]), _bytes(row[9]),
                                    _bound_to(str(row[0]), str(row[1]), str(row[2])))
        return plain.decode("utf-8")

    def prune(self, live_key_ids: Iterable[str]) -> int:
        """Delete entries whose data key is gone; returns how many."""
        live = set(live_key_ids)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            doomed = [(str(r[0]),) for r in self._db.execute(
                "SELECT entry_id, key_id FROM vault_entries") if str(r[1]) not in live]
            self._db.executemany("DELETE FROM vault_entries WHERE entry_id = ?", doomed)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(doomed)

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM vault_entries").fetchone()[0])


_SELECT = ("SELECT entry_id, tenant, subject, key_id, kind, request_id, stored_at, expires_at,"
           " nonce, ciphertext FROM vault_entries")


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value


def _entry(row: tuple[object, ...]) -> VaultEntry:
    return VaultEntry(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                      None if row[5] is None else str(row[5]), float(str(row[6])),
                      int(str(row[7])), hashlib.sha256(_bytes(row[9])).hexdigest())


def _bound_to(entry_id: str, tenant: str, subject: str) -> bytes:
    return f"douane-vault\0{entry_id}\0{tenant}\0{subject}".encode()
