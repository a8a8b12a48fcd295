"""The conversation placeholders on real SQLite files, under per-person data keys: encrypted at
rest, bound to their tenant and conversation, withheld once their person is erased or their
retention ended, and listed to a DPO's subject-access request."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from stopped_clock import StoppedClock

from streams.adapters.kek_store import FileKekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import ConversationPlaceholder, PersonalVault
from streams.adapters.placeholder_vault import PlaceholderVault
from streams.core.placeholders import PlaceholderMap

HOUR = 3_600
JEANNE, PAUL, ANNE = "Jeanne Martin", "Paul Durand", "Anne Roux"


@pytest.fixture
def placeholders(vault: PersonalVault) -> PlaceholderVault:
    return PlaceholderVault(vault)


def mapping_of(*names: str) -> PlaceholderMap:
    mapping = PlaceholderMap()
    for name in names:
        mapping.placeholder_for("PERSON", name)
    return mapping


def test_a_mapping_comes_back_for_its_conversation_only(placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR)
    assert placeholders.load("city-of-lyon", "conv-1").restore("<PERSON_1>") == JEANNE
    assert placeholders.load("city-of-lyon", "conv-2").values == {}
    assert placeholders.load("tax-office", "conv-1").values == {}


def test_a_later_turn_adds_placeholders_and_keeps_the_first_ones(
        placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR,
                      request_id="turn-1")
    second = placeholders.load("city-of-lyon", "conv-1")
    assert second.placeholder_for("PERSON", PAUL) == "<PERSON_2>"
    assert second.placeholder_for("PERSON", JEANNE) == "<PERSON_1>"
    placeholders.save("city-of-lyon", "conv-1", second, retention_s=HOUR, request_id="turn-2")
    assert placeholders.load("city-of-lyon", "conv-1").values == {
        "<PERSON_1>": JEANNE, "<PERSON_2>": PAUL}
    assert placeholders.vault.count() == 2  # each value once, not once per turn


def test_a_placeholder_taken_keeps_its_first_value(placeholders: PlaceholderVault) -> None:
    """Two workers racing on one conversation: the first value of <PERSON_1> stays."""
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR)
    placeholders.vault.put("city-of-lyon", PAUL, kind="PERSON", retention_s=HOUR,
                           placeholder=ConversationPlaceholder("conv-1", "<PERSON_1>"))
    assert placeholders.load("city-of-lyon", "conv-1").values == {"<PERSON_1>": JEANNE}


def test_values_are_not_stored_in_clear(tmp_path: Path, placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR)
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert files and all(JEANNE.encode() not in p.read_bytes() for p in files)


def test_a_value_moved_to_another_tenant_does_not_decrypt(
        tmp_path: Path, placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR)
    with sqlite3.connect(tmp_path / "vault.sqlite3") as db:
        db.execute("UPDATE vault_entries SET tenant = 'tax-office'")
    with pytest.raises(InvalidTag):
        placeholders.load("tax-office", "conv-1")


def test_an_erased_person_is_withheld_and_their_number_not_reused(
        placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE, PAUL), retention_s=HOUR)
    keys = placeholders.vault.keys
    keys.erase("city-of-lyon", keys.fingerprint("city-of-lyon", JEANNE))

    after = placeholders.load("city-of-lyon", "conv-1")
    assert after.values == {"<PERSON_2>": PAUL}  # the other person is still restored
    assert after.withheld == {"<PERSON_1>"}
    assert after.restore("<PERSON_1> et <PERSON_2>") == f"<PERSON_1> et {PAUL}"
    assert after.placeholder_for("PERSON", ANNE) == "<PERSON_3>"

    assert placeholders.vault.prune(keys.live_key_ids()) == 1
    assert placeholders.load("city-of-lyon", "conv-1").values == {"<PERSON_2>": PAUL}


def test_retention_ends_the_mapping_with_its_keys(
        clock: StoppedClock, placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR)
    clock.now += 3 * HOUR
    keys = placeholders.vault.keys
    assert len(keys.destroy_expired().keys) == 1
    assert placeholders.load("city-of-lyon", "conv-1").values == {}
    assert placeholders.vault.prune(keys.live_key_ids()) == 1
    assert placeholders.vault.count() == 0


def test_subject_access_lists_placeholder_values_with_their_request(
        placeholders: PlaceholderVault) -> None:
    placeholders.save("city-of-lyon", "conv-1", mapping_of(JEANNE), retention_s=HOUR,
                      request_id="turn-1")
    keys = placeholders.vault.keys
    held = placeholders.vault.of_subject("city-of-lyon", keys.fingerprint("city-of-lyon", JEANNE))
    assert [(v.value, v.entry.kind, v.entry.request_id) for v in held] == [
        (JEANNE, "PERSON", "turn-1")]


def test_an_older_vault_file_gains_the_placeholder_columns(
        tmp_path: Path, clock: StoppedClock) -> None:
    path = tmp_path / "old-vault.sqlite3"
    with sqlite3.connect(path) as db:  # the layout before placeholders moved into the vault
        db.execute("CREATE TABLE vault_entries (entry_id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
                   " subject TEXT NOT NULL, key_id TEXT NOT NULL, kind TEXT NOT NULL,"
                   " request_id TEXT, stored_at REAL NOT NULL, expires_at INTEGER NOT NULL,"
                   " nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)")
    keys = KeyStore(tmp_path / "keys.sqlite3", FileKekStore(tmp_path / "kek"), clock)
    vault = PersonalVault(path, keys)
    try:
        PlaceholderVault(vault).save("city-of-lyon", "c", mapping_of(JEANNE), retention_s=HOUR)
        assert PlaceholderVault(vault).load("city-of-lyon", "c").values == {"<PERSON_1>": JEANNE}
    finally:
        vault.close()
        keys.close()

