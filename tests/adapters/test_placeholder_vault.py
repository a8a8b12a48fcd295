"""The placeholder vault on a real SQLite file: encrypted at rest, bound to its tenant and
conversation, gone after its retention."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from streams.adapters.placeholder_vault import PlaceholderVault, load_or_create_key
from streams.core.placeholders import PlaceholderMap


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def conversation() -> PlaceholderMap:
    mapping = PlaceholderMap()
    mapping.placeholder_for("PERSON", "Jeanne Martin")
    return mapping


def test_a_mapping_comes_back_for_its_conversation_only(tmp_path: Path) -> None:
    vault = PlaceholderVault(tmp_path / "vault.sqlite3", load_or_create_key(tmp_path / "k"))
    vault.save("city-of-lyon", "conv-1", conversation(), retention_s=3600)
    assert vault.load("city-of-lyon", "conv-1").restore("<PERSON_1>") == "Jeanne Martin"
    assert vault.load("city-of-lyon", "conv-2").values == {}
    assert vault.load("tax-office", "conv-1").values == {}


def test_values_are_not_stored_in_clear(tmp_path: Path) -> None:
    database = tmp_path / "vault.sqlite3"
    vault = PlaceholderVault(database, load_or_create_key(tmp_path / "k"))
    vault.save("city-of-lyon", "conv-1", conversation(), retention_s=3600)
    vault.close()
    assert b"Jeanne" not in database.read_bytes()
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600


def test_a_mapping_moved_to_another_tenant_does_not_decrypt(tmp_path: Path) -> None:
    database = tmp_path / "vault.sqlite3"
    vault = PlaceholderVault(database, load_or_create_key(tmp_path / "k"))
    vault.save("city-of-lyon", "conv-1", conversation(), retention_s=3600)
    with sqlite3.connect(database) as db:
        db.execute("UPDATE placeholder_maps SET tenant = 'tax-office'")
    with pytest.raises(InvalidTag):
        vault.load("tax-office", "conv-1")


def test_an_expired_mapping_is_unreadable_then_purged(tmp_path: Path) -> None:
    clock = Clock()
    vault = PlaceholderVault(tmp_path / "vault.sqlite3", load_or_create_key(tmp_path / "k"),
                             clock=clock)
    vault.save("city-of-lyon", "conv-1", conversation(), retention_s=60)
    clock.now += 61
    assert vault.load("city-of-lyon", "conv-1").values == {}
    assert vault.purge_expired() == 1


def test_writing_a_mapping_deletes_the_expired_ones(tmp_path: Path) -> None:
    clock = Clock()
    database = tmp_path / "vault.sqlite3"
    vault = PlaceholderVault(database, load_or_create_key(tmp_path / "k"), clock=clock)
    old = PlaceholderMap()
    old.placeholder_for("PERSON", "Jeanne Martin")
    vault.save("city-of-lyon", "case-1", old, retention_s=60)
    clock.now += 61
    vault.save("city-of-lyon", "case-2", PlaceholderMap(), retention_s=60)
    assert vault.purge_expired() == 0  # already gone
    rows = sqlite3.connect(database).execute("SELECT conversation FROM placeholder_maps").fetchall()
    vault.close()
    assert rows == [("case-2",)]
