"""Where a conversation's placeholder mapping is kept between turns: SQLite, each mapping
encrypted with AES-256-GCM under a key file, and only until its retention ends.

The ciphertext is bound to its tenant and conversation (associated data), so a mapping copied
to another row does not decrypt: placeholders are never shared between conversations or
tenants. Expired mappings are unreadable at once and deleted by ``purge_expired``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.core.placeholders import PlaceholderMap

SCHEMA = """
CREATE TABLE IF NOT EXISTS placeholder_maps (
    tenant TEXT NOT NULL,
    conversation TEXT NOT NULL,
    expires_at REAL NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (tenant, conversation)
)
"""


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{path}: a placeholder vault key is 32 bytes, found {len(key)}")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key


class PlaceholderVault:
    def __init__(self, database: Path, key: bytes,
                 clock: Callable[[], float] = time.time) -> None:
        self._aead = AESGCM(key)
        self._clock = clock
        self._db = sqlite3.connect(database, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._db.commit()

    def load(self, tenant: str, conversation: str) -> PlaceholderMap:
        """The conversation's mapping; an empty one if none is kept or it has expired."""
        row = self._db.execute(
            "SELECT expires_at, nonce, ciphertext FROM placeholder_maps "
            "WHERE tenant = ? AND conversation = ?", (tenant, conversation)).fetchone()
        if row is None or row[0] <= self._clock():
            return PlaceholderMap()
        plain = self._aead.decrypt(row[1], row[2], _bound_to(tenant, conversation))
        return PlaceholderMap.from_json(json.loads(plain))

    def save(self, tenant: str, conversation: str, mapping: PlaceholderMap,
             retention_s: float) -> None:
        nonce = os.urandom(12)
        plain = json.dumps(mapping.as_json(), ensure_ascii=False).encode()
        ciphertext = self._aead.encrypt(nonce, plain, _bound_to(tenant, conversation))
        self._db.execute(
            "INSERT INTO placeholder_maps VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant, conversation) DO UPDATE SET expires_at = excluded.expires_at,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext",
            (tenant, conversation, self._clock() + retention_s, nonce, ciphertext))
        # expired mappings go as soon as anyone writes, not only when retention runs
        self._db.execute("DELETE FROM placeholder_maps WHERE expires_at <= ?", (self._clock(),))
        self._db.commit()

    def purge_expired(self) -> int:
        cursor = self._db.execute("DELETE FROM placeholder_maps WHERE expires_at <= ?",
                                  (self._clock(),))
        self._db.commit()
        return int(cursor.rowcount)

    def close(self) -> None:
        self._db.close()


def _bound_to(tenant: str, conversation: str) -> bytes:
    return f"douane-placeholders\0{tenant}\0{conversation}".encode()
