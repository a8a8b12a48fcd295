"""The vault of personal values douane keeps (to restore placeholders, to answer a subject-access
request): SQLite (``$DOUANE_HOME/vault.sqlite3``, ``DOUANE_VAULT_DB``), every value AES-256-GCM
encrypted under its subject's data key for the current period (:mod:`streams.adapters.key_store`).

A row holds the tenant, the subject's keyed fingerprint, the data key id, dates, what kind of
value it is and which request it came from: never the value in clear. The ciphertext is bound
to its entry id, tenant and subject (associated data), so a row copied elsewhere does not
decrypt. Once the data key is destroyed the row is unreadable; :meth:`PersonalVault.prune` then
deletes it (zero-overwritten, write-ahead log truncated).

The values behind a conversation's placeholders live here too, one entry per placeholder
(``conversation`` and ``placeholder`` columns, see :mod:`streams.adapters.placeholder_vault`), so
an erasure or the end of a retention period reaches them like any other value.

Which identifiers are one person's is read from the rows themselves: the values kept from one
request carry its id, so :meth:`PersonalVault.sightings` gives the core's linking rule
(:mod:`streams.core.persons`) what it needs, and the links end with the rows (retention,
erasure). A DPO's decisions on two identifiers (one person's, or not) are kept in
``person_links``: fingerprints, a case reference and a time, never a value; a decision goes
once either identifier has nothing left in the vault.

The final response of each answered request is kept too (``kept_responses``), so that a worker
killed after recording the answer but before Kafka acknowledged the response can publish it
again, identical, when the forward message is redelivered. Its content key is derived from
several data keys at once: the tenant's key for responses of the period (``RESPONSES_SUBJECT``)
and the key of every person the request named or the answer had put back. Destroying any one
of them (the period's end, or one person's erasure) makes the copy unreadable, and
:meth:`PersonalVault.prune` deletes it. These rows are not values of a person: they are not
sightings, and subject access does not list them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streams.adapters.grouped_writes import GroupedWrites
from streams.adapters.key_store import KeyStore
from streams.adapters.sqlite_files import open_wal_database
from streams.core.persons import LinkDecision, Sighting
from streams.errors import DouaneError

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vault_entries ("
    " entry_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT NOT NULL,"
    " key_id TEXT NOT NULL, kind TEXT NOT NULL, request_id TEXT, stored_at REAL NOT NULL,"
    " expires_at INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS vault_by_subject ON vault_entries (tenant, subject)",
    "CREATE INDEX IF NOT EXISTS vault_by_key ON vault_entries (key_id)",
    "CREATE INDEX IF NOT EXISTS vault_by_request ON vault_entries (tenant, request_id)",
    "CREATE TABLE IF NOT EXISTS person_links ("
    " tenant TEXT NOT NULL, first TEXT NOT NULL, second TEXT NOT NULL,"
    " same_person INTEGER NOT NULL, case_ref TEXT NOT NULL, decided_at REAL NOT NULL,"
    " PRIMARY KEY (tenant, first, second))",
)
# The final responses kept for a redelivery, each under a key derived from all of ``key_ids``
# (listed one per row in kept_response_keys, so that a destroyed key finds its responses).
RESPONSE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kept_responses ("
    " request_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, stored_at REAL NOT NULL,"
    " expires_at INTEGER NOT NULL, salt BLOB NOT NULL, nonce BLOB NOT NULL,"
    " ciphertext BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kept_response_keys ("
    " request_id TEXT NOT NULL, key_id TEXT NOT NULL, PRIMARY KEY (request_id, key_id))",
    "CREATE INDEX IF NOT EXISTS kept_response_by_key ON kept_response_keys (key_id)",
)
# the subject of a tenant's key for kept responses, one per period: never a fingerprint (those
# are hexadecimal), so no person's erasure or linking ever meets it
RESPONSES_SUBJECT = "douane:responses"
# identifiers looked up per statement (SQLite's default limit on parameters is far above)
_BATCH = 400
# A value that stands behind a conversation's placeholder (``<PERSON_1>``) names both; one
# placeholder of a conversation has one value. Added columns, so older files gain them in place.
PLACEHOLDER_COLUMNS = {"conversation": "TEXT", "placeholder": "TEXT"}
# The subjects of one request's entries, looked up by ``vault_by_request``. Not ``SELECT
# DISTINCT``: with it SQLite walked the tenant's whole ``vault_by_subject`` index (already in
# subject order) and fetched every row to test its request id, for every answer kept: a cost that
# grew with the vault (136 ms at 100,000 entries against 0.01; issue 10, docs/benchmarks.md
# "workercpu2"). The caller removes duplicates.
REQUEST_SUBJECTS = "SELECT subject FROM vault_entries WHERE tenant = ? AND request_id = ?"
PLACEHOLDER_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS vault_by_placeholder"
                     " ON vault_entries (tenant, conversation, placeholder)"
                     " WHERE conversation IS NOT NULL")


class ValueErasedError(DouaneError, LookupError):
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
class ConversationPlaceholder:
    conversation: str  # the producer's conversation id, within one tenant
    label: str  # e.g. "<PERSON_1>"


@dataclass(frozen=True)
class NewValue:
    """A value to keep: what it is, whom it is about (None: its own fingerprint), and the
    conversation placeholder it stands behind, if any."""

    value: str
    kind: str
    subject: str | None = None
    placeholder: ConversationPlaceholder | None = None


@dataclass(frozen=True)
class SubjectValue:
    entry: VaultEntry
    value: str | None  # None when the key is gone


class PersonalVault:
    def __init__(self, path: Path, keys: KeyStore, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.keys = keys
        self._lock = threading.Lock()
        self._db = open_wal_database(path, busy_timeout_s)
        self._db.execute("PRAGMA secure_delete=ON")
        for statement in SCHEMA:
            self._db.execute(statement)
        present = {str(r[1]) for r in self._db.execute("PRAGMA table_info(vault_entries)")}
        for column, sql_type in PLACEHOLDER_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE vault_entries ADD COLUMN {column} {sql_type}")
        self._db.execute(PLACEHOLDER_INDEX)
        for statement in RESPONSE_SCHEMA:
            self._db.execute(statement)
        # the values and responses kept by requests in flight at once: one commit for all
        self._writes = GroupedWrites(self._db, self._lock)

    def close(self) -> None:
        self._db.close()

    def put(self, tenant: str, value: str, *, kind: str, retention_s: int,
            subject: str | None = None, request_id: str | None = None,
            placeholder: ConversationPlaceholder | None = None) -> VaultEntry:
        """Keep ``value`` for ``retention_s``; the subject defaults to the value's fingerprint.

        With ``placeholder``, the value is the one behind that placeholder of that conversation;
        a placeholder already taken there keeps its first value (the call changes nothing)."""
        return self.put_many(tenant, [NewValue(value, kind, subject, placeholder)],
                             retention_s=retention_s, request_id=request_id)[0]

    def put_many(self, tenant: str, values: Sequence[NewValue], *, retention_s: int,
                 request_id: str | None = None) -> list[VaultEntry]:
        """Keep several values of one request: one commit for their keys, one for the values,
        each shared with the writes of other requests at the same moment (``GroupedWrites``)."""
        subjects = [v.subject or self.keys.fingerprint(tenant, v.value) for v in values]
        data_keys, period = self.keys.data_keys(tenant, subjects, retention_s)
        rows, entries = [], []
        for new, subject in zip(values, subjects, strict=True):
            data_key = data_keys[subject]
            entry_id, nonce = uuid.uuid4().hex, os.urandom(12)
            ciphertext = AESGCM(data_key.key).encrypt(nonce, new.value.encode("utf-8"),
                                                      _bound_to(entry_id, tenant, subject))
            stored_at = self.keys.clock()
            # the data key's period decides when the value goes
            rows.append((entry_id, tenant, subject, data_key.key_id, new.kind, request_id,
                         stored_at, period.expires_at, nonce, ciphertext,
                         new.placeholder.conversation if new.placeholder else None,
                         new.placeholder.label if new.placeholder else None))
            entries.append(VaultEntry(entry_id, tenant, subject, data_key.key_id, new.kind,
                                      request_id, stored_at, period.expires_at,
                                      hashlib.sha256(ciphertext).hexdigest()))
        self._writes.run(functools.partial(_insert_entries, rows=rows))
        return entries

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # one connection shared by the worker's threads: transactions take turns
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def placeholder_labels(self, tenant: str, conversation: str) -> set[str]:
        """The placeholders a conversation already has kept (no decryption)."""
        return {str(r[0]) for r in self._db.execute(
            "SELECT placeholder FROM vault_entries WHERE tenant = ? AND conversation = ?",
            (tenant, conversation))}

    def placeholders_of(self, tenant: str, conversation: str) -> dict[str, str | None]:
        """The conversation's placeholders and their values; None for a value whose data key is
        gone (erased, or its retention ended) while the entry is not yet pruned."""
        rows = self._db.execute(
            _SELECT + ", placeholder FROM vault_entries"
            " WHERE tenant = ? AND conversation = ? ORDER BY stored_at",
            (tenant, conversation)).fetchall()
        # the rows' data keys in one statement, not one per value (issue 10, "storejobs2")
        keys = self.keys.unwrap_many(str(r[3]) for r in rows)
        return {str(r[10]): self._open(r, keys) for r in rows}

    def read(self, entry_id: str) -> str:
        row = self._db.execute(_SELECT + " FROM vault_entries WHERE entry_id = ?",
                               (entry_id,)).fetchone()
        if row is None:
            raise ValueErasedError(f"vault entry {entry_id} is gone (erased or expired)")
        value = self._open(row)
        if value is None:
            raise ValueErasedError(f"vault entry {entry_id}: its data key was destroyed")
        return value

    def of_subject(self, tenant: str, subject: str) -> list[SubjectValue]:
        rows = self._db.execute(_SELECT + " FROM vault_entries"
                                " WHERE tenant = ? AND subject = ? ORDER BY stored_at",
                                (tenant, subject)).fetchall()
        keys = self.keys.unwrap_many(str(r[3]) for r in rows)
        return [SubjectValue(_entry(r), self._open(r, keys)) for r in rows]

    def of_subjects(self, tenant: str, subjects: Iterable[str]) -> list[SubjectValue]:
        """The values of several subjects (one person's identifiers), oldest first."""
        found: list[SubjectValue] = []
        for subject in dict.fromkeys(subjects):
            found += self.of_subject(tenant, subject)
        return sorted(found, key=lambda v: v.entry.stored_at)

    def entries_of(self, tenant: str, subjects: Iterable[str]) -> list[VaultEntry]:
        """The entries of several subjects, without decrypting anything."""
        found: list[VaultEntry] = []
        for chunk in _chunks(list(dict.fromkeys(subjects))):
            found += [_entry(r) for r in self._db.execute(
                _SELECT + " FROM vault_entries WHERE tenant = ? AND subject IN"
                f" ({', '.join('?' for _ in chunk)}) ORDER BY stored_at", (tenant, *chunk))]
        return sorted(found, key=lambda e: e.stored_at)

    def sightings(self, tenant: str, subjects: Iterable[str]) -> list[Sighting]:
        """Every identifier kept from the requests where one of ``subjects`` was kept."""
        found: set[Sighting] = set()
        for chunk in _chunks(list(dict.fromkeys(subjects))):
            marks = ", ".join("?" for _ in chunk)
            found |= {Sighting(str(r[0]), str(r[1]), str(r[2])) for r in self._db.execute(
                "SELECT DISTINCT request_id, subject, kind FROM vault_entries"
                " WHERE tenant = ? AND request_id IN (SELECT request_id FROM vault_entries"
                f" WHERE tenant = ? AND subject IN ({marks}) AND request_id IS NOT NULL)",
                (tenant, tenant, *chunk))}
        return sorted(found, key=lambda s: (s.request_id, s.subject, s.kind))

    def decide_link(self, tenant: str, first: str, second: str, *, same_person: bool,
                    case: str, decided_at: float) -> None:
        """Keep a DPO's decision on two identifiers (replacing an earlier one on the pair)."""
        a, b = sorted((first, second))
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO person_links VALUES (?, ?, ?, ?, ?, ?)",
                             (tenant, a, b, int(same_person), case, decided_at))

    def link_decisions(self, tenant: str, subjects: Iterable[str]) -> list[LinkDecision]:
        """The DPO's decisions that involve any of ``subjects``."""
        found: set[LinkDecision] = set()
        for chunk in _chunks(list(dict.fromkeys(subjects))):
            marks = ", ".join("?" for _ in chunk)
            found |= {LinkDecision(str(r[0]), str(r[1]), bool(r[2]), str(r[3]), float(r[4]))
                      for r in self._db.execute(
                          "SELECT first, second, same_person, case_ref, decided_at"
                          f" FROM person_links WHERE tenant = ? AND (first IN ({marks})"
                          f" OR second IN ({marks}))", (tenant, *chunk, *chunk))}
        return sorted(found, key=lambda d: d.decided_at)

    def keep_response(self, tenant: str, request_id: str, response: bytes, *,
                      values: Iterable[str], retention_s: int) -> None:
        """Keep a request's final response (the exact bytes published) for a redelivery,
        encrypted under a key that needs the tenant's response key of the period and the key
        of every person the request named (its entries here) or whose value the answer holds
        (``values``, e.g. the placeholders put back). The first copy kept for an id stays."""
        named = {str(r[0]) for r in self._db.execute(REQUEST_SUBJECTS, (tenant, request_id))}
        subjects = [RESPONSES_SUBJECT, *sorted(
            named | {self.keys.fingerprint(tenant, v) for v in values})]
        data_keys, period = self.keys.data_keys(tenant, subjects, retention_s)
        keys = sorted(data_keys.values(), key=lambda k: k.key_id)
        salt, nonce = os.urandom(16), os.urandom(12)
        content_key = _response_key(tenant, request_id, [(k.key_id, k.key) for k in keys], salt)
        ciphertext = AESGCM(content_key).encrypt(nonce, response,
                                                 _response_bound_to(tenant, request_id))
        self._writes.run(functools.partial(
            _insert_response, row=(request_id, tenant, self.keys.clock(), period.expires_at,
                                   salt, nonce, ciphertext),
            key_ids=[k.key_id for k in keys]))

    def kept_response(self, tenant: str, request_id: str) -> bytes | None:
        """The response kept for ``request_id``; None if none is kept (never kept, or pruned
        after one of its keys was destroyed); ValueErasedError while one of its keys is
        destroyed and the row not yet pruned."""
        row = self._db.execute(
            "SELECT salt, nonce, ciphertext FROM kept_responses WHERE request_id = ?"
            " AND tenant = ?", (request_id, tenant)).fetchone()
        if row is None:
            return None
        key_ids = sorted(str(r[0]) for r in self._db.execute(
            "SELECT key_id FROM kept_response_keys WHERE request_id = ?", (request_id,)))
        keys = []
        unwrapped = self.keys.unwrap_many(key_ids)
        for key_id in key_ids:
            key = unwrapped[key_id]
            if key is None:
                raise ValueErasedError(f"the response kept for request {request_id}: data key "
                                       f"{key_id} was destroyed")
            keys.append((key_id, key))
        content_key = _response_key(tenant, request_id, keys, _bytes(row[0]))
        return AESGCM(content_key).decrypt(_bytes(row[1]), _bytes(row[2]),
                                           _response_bound_to(tenant, request_id))

    def kept_response_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM kept_responses").fetchone()[0])

    def count_for_keys(self, key_ids: Iterable[str]) -> int:
        """How many entries these data keys encrypt (what destroying them would prune)."""
        total = 0
        for chunk in _chunks(list(dict.fromkeys(key_ids))):
            total += int(self._db.execute(
                "SELECT count(*) FROM vault_entries WHERE key_id IN"
                f" ({', '.join('?' for _ in chunk)})", chunk).fetchone()[0])
        return total

    def _open(self, row: tuple[object, ...],
              keys: Mapping[str, bytes | None] | None = None) -> str | None:
        """The row's value; None once its data key is gone. ``keys``: data keys already
        unwrapped (``KeyStore.unwrap_many``), else the row's is read."""
        key = self.keys.unwrap(str(row[3])) if keys is None else keys[str(row[3])]
        if key is None:
            return None
        plain = AESGCM(key).decrypt(_bytes(row[8]), _bytes(row[9]),
                                    _bound_to(str(row[0]), str(row[1]), str(row[2])))
        return plain.decode("utf-8")

    def prune(self, live_key_ids: Iterable[str]) -> int:
        """Delete entries whose data key is gone; returns how many."""
        live = set(live_key_ids)
        with self._transaction():
            # one look per data key (indexed), not per entry
            dead = [(key_id,) for (key_id,) in self._db.execute(
                "SELECT DISTINCT key_id FROM vault_entries") if key_id not in live]
            before = self._db.total_changes
            self._db.executemany("DELETE FROM vault_entries WHERE key_id = ?", dead)
            pruned = self._db.total_changes - before
            # a kept response goes with the first of its keys to go
            gone = [(key_id,) for (key_id,) in self._db.execute(
                "SELECT DISTINCT key_id FROM kept_response_keys") if key_id not in live]
            self._db.executemany(
                "DELETE FROM kept_responses WHERE request_id IN"
                " (SELECT request_id FROM kept_response_keys WHERE key_id = ?)", gone)
            self._db.execute(
                "DELETE FROM kept_response_keys WHERE request_id NOT IN"
                " (SELECT request_id FROM kept_responses)")
            # a decision about an identifier the vault no longer holds has nothing to decide
            self._db.execute(
                "DELETE FROM person_links WHERE NOT EXISTS (SELECT 1 FROM vault_entries v"
                " WHERE v.tenant = person_links.tenant AND v.subject = person_links.first)"
                " OR NOT EXISTS (SELECT 1 FROM vault_entries v WHERE v.tenant ="
                " person_links.tenant AND v.subject = person_links.second)")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return pruned

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM vault_entries").fetchone()[0])


def _insert_entries(db: sqlite3.Connection, *, rows: Sequence[tuple[object, ...]]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO vault_entries (entry_id, tenant, subject, key_id, kind,"
        " request_id, stored_at, expires_at, nonce, ciphertext, conversation,"
        " placeholder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _insert_response(db: sqlite3.Connection, *, row: tuple[object, ...],
                     key_ids: list[str]) -> None:
    """The first copy kept for an id stays (and its keys with it)."""
    kept = db.execute(
        "INSERT OR IGNORE INTO kept_responses (request_id, tenant, stored_at,"
        " expires_at, salt, nonce, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?)", row).rowcount
    if kept:
        db.executemany("INSERT INTO kept_response_keys (request_id, key_id) VALUES (?, ?)",
                       [(row[0], key_id) for key_id in key_ids])


_SELECT = ("SELECT entry_id, tenant, subject, key_id, kind, request_id, stored_at, expires_at,"
           " nonce, ciphertext")


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value


def _entry(row: tuple[object, ...]) -> VaultEntry:
    return VaultEntry(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                      None if row[5] is None else str(row[5]), float(str(row[6])),
                      int(str(row[7])), hashlib.sha256(_bytes(row[9])).hexdigest())


def _response_key(tenant: str, request_id: str, keys: Sequence[tuple[str, bytes]],
                  salt: bytes) -> bytes:
    """The content key of a kept response: derived from every one of ``keys`` (sorted by
    id), so that losing any one of them loses it."""
    info = "\0".join(["douane-kept-response", tenant, request_id, *(i for i, _ in keys)])
    return HKDF(hashes.SHA256(), 32, salt, info.encode()).derive(b"".join(k for _, k in keys))


def _response_bound_to(tenant: str, request_id: str) -> bytes:
    return f"douane-response\0{tenant}\0{request_id}".encode()


def _bound_to(entry_id: str, tenant: str, subject: str) -> bytes:
    return f"douane-vault\0{entry_id}\0{tenant}\0{subject}".encode()
