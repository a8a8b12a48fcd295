"""Key-encryption keys are kept apart from the data keys they wrap (issue 12, item 5): a copy of
the data key database (a backup) cannot undo a retention run, and a database written by an
older version, with its KEKs inside, gives them up when opened. The clock is driven."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.kek_store import FileKekStore, KekStoreError
from streams.adapters.key_store import KeyStore
from streams.config import Settings, load_settings
from streams.core.key_periods import KeyPeriod, period_for
from streams.services.stores import keys_path, open_stores

HOUR = 3_600
T0 = 1_764_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now



def backup_of(database: Path, to: Path) -> Path:
    """A consistent copy, as a backup tool using SQLite's online backup would take it."""
    with sqlite3.connect(database) as source, sqlite3.connect(to) as copy:
        source.backup(copy)
    return to


def bytes_on_disk(database: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (database, database.with_name(database.name + "-wal"))
                    if p.exists())


def test_a_backup_of_the_key_database_does_not_undo_a_retention_run(
        settings: Settings, tmp_path: Path) -> None:
    clock = Clock()
    with open_stores(settings, clock) as (keys, _vault):
        key = keys.data_key("lyon", "subject-a", retention_s=HOUR)
        backup = backup_of(keys_path(settings), tmp_path / "backup.sqlite3")
        clock.now = period_for(T0, HOUR).expires_at
        destroyed = keys.destroy_expired()
        assert [k.key_id for k in destroyed.keys] == [key.key_id]
        assert len(destroyed.keks) == 1
        assert keys.unwrap(key.key_id) is None
    # the attacker restores the backup next to the live installation: the wrapped key is back,
    # but the KEK that unwraps it was destroyed where it lived
    with open_stores(load_settings({"DOUANE_HOME": str(settings.home),
                                    "DOUANE_KEYS_DB": str(backup)}), clock) as (restored, _):
        assert restored.live_key_ids() == {key.key_id}
        assert restored.unwrap(key.key_id) is None


def test_the_keks_are_outside_the_data_folder_and_private(settings: Settings) -> None:
    with open_stores(settings, Clock()) as (keys, _vault):
        key = keys.data_key("lyon", "subject-a", retention_s=HOUR)
        kek_folder = Path(settings.kek_store)
        [kek_file] = kek_folder.glob("*.kek")
        kek = kek_file.read_bytes()
        assert keys.unwrap(key.key_id) == key.key
    assert not kek_folder.is_relative_to(settings.home)
    assert kek not in bytes_on_disk(keys_path(settings))
    assert stat.S_IMODE(kek_folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600


LEGACY_SCHEMA = """
CREATE TABLE tenant_keys (tenant TEXT PRIMARY KEY, fingerprint_key BLOB NOT NULL);
CREATE TABLE keks (period_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, kek BLOB NOT NULL);
CREATE TABLE data_keys (
    key_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT NOT NULL,
    period_id TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at REAL NOT NULL,
    nonce BLOB NOT NULL, wrapped BLOB NOT NULL, UNIQUE (tenant, subject, period_id));
CREATE TABLE holds (hold_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject TEXT,
    reason TEXT NOT NULL, placed_at REAL NOT NULL);
"""


@pytest.fixture
def legacy_database(tmp_path: Path) -> Iterator[tuple[Path, str, bytes, bytes]]:
    """A key database as versions before the KEK store wrote it: KEK and wrapped key together."""
    path = tmp_path / "home" / "keys.sqlite3"
    path.parent.mkdir()
    period = period_for(T0, HOUR)
    kek, data_key, key_id = AESGCM.generate_key(bit_length=256), os.urandom(32), "k" * 32
    write_legacy_database(path, period, kek, key_id, data_key, "subject-a")
    yield path, key_id, kek, data_key


def write_legacy_database(path: Path, period: KeyPeriod, kek: bytes, key_id: str,
                          data_key: bytes, subject: str) -> None:
    """A key database in the layout before the KEK store: ``kek`` of ``period`` stored beside
    ``data_key`` (of tenant lyon, ``subject``), which it wraps."""
    nonce = os.urandom(12)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(LEGACY_SCHEMA)
        db.execute("INSERT INTO keks VALUES (?, ?, ?)", (period.period_id, period.expires_at, kek))
        db.execute("INSERT INTO data_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (key_id, "lyon", subject, period.period_id, period.expires_at, T0, nonce,
                    AESGCM(kek).encrypt(nonce, data_key, key_id.encode())))


def test_an_older_database_gives_up_its_keks_when_opened(
        legacy_database: tuple[Path, str, bytes, bytes], tmp_path: Path) -> None:
    path, key_id, kek, data_key = legacy_database
    assert kek in bytes_on_disk(path)
    clock = Clock()
    keks = FileKekStore(tmp_path / "keys" / "kek")
    store = KeyStore(path, keks, clock)
    try:
        assert store.unwrap(key_id) == data_key  # still readable: the KEK moved, not lost
        tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master")}
        assert "keks" not in tables
        assert keks.period_ids() == {period_for(T0, HOUR).period_id}
        # the KEK's bytes are gone from the database file and its write-ahead log
        assert kek not in bytes_on_disk(path)
        clock.now = period_for(T0, HOUR).expires_at
        assert len(store.destroy_expired().keks) == 1
        assert keks.period_ids() == set()
    finally:
        store.close()
    reopened = KeyStore(path, keks, clock)  # opening again is harmless
    try:
        assert reopened.unwrap(key_id) is None
    finally:
        reopened.close()


def test_a_migration_never_replaces_a_different_kek(
        legacy_database: tuple[Path, str, bytes, bytes], tmp_path: Path) -> None:
    path, _key_id, kek, _data_key = legacy_database
    keks = FileKekStore(tmp_path / "kek")
    keks.adopt(period_for(T0, HOUR).period_id, os.urandom(32))
    with pytest.raises(KekStoreError, match="different KEK"):
        KeyStore(path, keks, Clock())
    assert kek in bytes_on_disk(path)  # nothing deleted: the old KEK is still where it was


def test_the_keys_folder_defaults_beside_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings({"DOUANE_HOME": str(tmp_path / "data")})
    assert settings.keys_dir == tmp_path / "data-keys"
    assert Path(settings.kek_store) == tmp_path / "data-keys" / "kek"
    moved = load_settings({"DOUANE_HOME": str(tmp_path / "data"),
                           "DOUANE_KEK_STORE": str(tmp_path / "vault" / "kek")})
    assert Path(moved.kek_store) == tmp_path / "vault" / "kek"


def destroy_in_another_process(folder: Path, period_id: str) -> None:
    """What ``douane retention`` or another worker does to a period: in a process of its own,
    so nothing this process keeps in memory is touched."""
    subprocess.run([sys.executable, "-c",
                    "import sys; from pathlib import Path; "
                    "from streams.adapters.kek_store import FileKekStore; "
                    "assert FileKekStore(Path(sys.argv[1])).destroy(sys.argv[2])",
                    str(folder), period_id], check=True)


def test_a_kek_destroyed_by_another_process_is_destroyed_here_too(tmp_path: Path) -> None:
    keks = FileKekStore(tmp_path / "kek")
    period = period_for(T0, HOUR)
    data_key = os.urandom(32)
    nonce, wrapped = keks.wrap(period, "k" * 32, data_key)
    for _ in range(3):  # used again and again, as by the ~19 wraps and unwraps of a request
        assert keks.unwrap(period.period_id, "k" * 32, nonce, wrapped) == data_key
    destroy_in_another_process(tmp_path / "kek", period.period_id)
    assert keks.unwrap(period.period_id, "k" * 32, nonce, wrapped) is None


def test_a_kek_file_made_again_under_the_same_name_is_read_again(tmp_path: Path) -> None:
    keks = FileKekStore(tmp_path / "kek")
    period = period_for(T0, HOUR)
    keks.wrap(period, "k" * 32, os.urandom(32))
    destroy_in_another_process(tmp_path / "kek", period.period_id)
    # another process makes the period's file again, with another KEK (the same inode number
    # may well be reused): what this store wraps from now on must open with that KEK
    FileKekStore(tmp_path / "kek").adopt(period.period_id, replacement := os.urandom(32))
    data_key = os.urandom(32)
    nonce, wrapped = keks.wrap(period, "k" * 32, data_key)
    assert AESGCM(replacement).decrypt(nonce, wrapped, b"k" * 32) == data_key


def test_a_damaged_kek_file_is_an_error_that_names_the_file(tmp_path: Path) -> None:
    keks = FileKekStore(tmp_path / "kek")
    period = period_for(T0, HOUR)
    nonce, wrapped = keks.wrap(period, "k" * 32, os.urandom(32))
    (damaged,) = (tmp_path / "kek").glob("*.kek")
    os.chmod(damaged, 0o600)
    damaged.write_bytes(damaged.read_bytes()[:31])  # cut short, as by a full disk
    named = re.escape(f"{damaged.name}: not a 32-byte key (31 bytes)")
    with pytest.raises(KekStoreError, match=named):
        keks.unwrap(period.period_id, "k" * 32, nonce, wrapped)
    with pytest.raises(KekStoreError, match="KEK store damaged"):  # a store opened afresh too
        FileKekStore(tmp_path / "kek").unwrap(period.period_id, "k" * 32, nonce, wrapped)
