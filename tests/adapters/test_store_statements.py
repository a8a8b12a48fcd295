"""A request's data keys read in one statement, not one per person (issue 10,
docs/benchmarks.md "storejobs2"): the key store's reads by subject and by key id, and the vault's
reads that use them, on real SQLite files; each key still the one of its own subject, and a
destroyed key still unreadable (crypto-shredding)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from streams.adapters.personal_vault import PersonalVault, ValueErasedError
from streams.adapters.placeholder_vault import PlaceholderVault
from streams.core.placeholders import PlaceholderMap

HOUR = 3_600
TENANT = "city-of-lyon"
NAMES = ("Jeanne Martin", "Paul Durand", "Anne Roux", "Louis Petit", "Marie Leroy")


class Statements:
    """The statements run on one connection, literals folded (SQLite's trace callback)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        self.db.set_trace_callback(self.seen.append)
        return self

    def __exit__(self, *_: object) -> None:
        self.db.set_trace_callback(None)

    def reading(self, table: str) -> list[str]:
        return [s for s in self.seen
                if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]


def mapping_of(*names: str) -> PlaceholderMap:
    mapping = PlaceholderMap()
    for name in names:
        mapping.placeholder_for("PERSON", name)
    return mapping


def test_the_keys_of_several_people_are_read_in_one_statement_each_its_own(
        vault: PersonalVault) -> None:
    keys = vault.keys
    subjects = [keys.fingerprint(TENANT, name) for name in NAMES]
    one_by_one = {s: keys.data_key(TENANT, s, HOUR) for s in subjects}  # created here
    with Statements(keys._db) as statements:
        together, _ = keys.data_keys(TENANT, [*reversed(subjects), subjects[0]], HOUR)
    assert together == one_by_one  # each subject gets its own key, whatever the order
    assert len(statements.reading("data_keys")) == 1, statements.seen
    assert not [s for s in statements.seen if re.match(r"\s*(BEGIN|INSERT)", s)]


def test_keys_missing_among_existing_ones_are_created_once_and_the_others_kept(
        vault: PersonalVault) -> None:
    keys = vault.keys
    subjects = [keys.fingerprint(TENANT, name) for name in NAMES]
    existing = keys.data_key(TENANT, subjects[0], HOUR)
    with Statements(keys._db) as statements:
        found, _ = keys.data_keys(TENANT, subjects, HOUR)
    assert found[subjects[0]] == existing
    assert len({k.key_id for k in found.values()}) == len(NAMES)
    assert len([s for s in statements.seen if s.lstrip().startswith("INSERT")]) == 4
    # read before the write transaction, and again inside it: one statement each time
    assert len(statements.reading("data_keys")) == 2, statements.seen
    assert keys.data_keys(TENANT, subjects, HOUR)[0] == found


def test_unwrap_many_gives_each_key_and_none_for_a_destroyed_or_unknown_one(
        vault: PersonalVault) -> None:
    keys = vault.keys
    subjects = [keys.fingerprint(TENANT, name) for name in NAMES[:3]]
    made, _ = keys.data_keys(TENANT, subjects, HOUR)
    keys.erase(TENANT, subjects[1])
    ids = [made[s].key_id for s in subjects]
    with Statements(keys._db) as statements:
        found = keys.unwrap_many([*ids, "no-such-key", ids[0]])
    assert found == {ids[0]: made[subjects[0]].key, ids[1]: None,
                     ids[2]: made[subjects[2]].key, "no-such-key": None}
    assert found == {i: keys.unwrap(i) for i in [*ids, "no-such-key"]}
    assert len(statements.reading("data_keys")) == 1, statements.seen


def test_a_conversations_placeholders_are_opened_with_one_read_of_their_keys(
        vault: PersonalVault) -> None:
    placeholders = PlaceholderVault(vault)
    placeholders.save(TENANT, "conv-1", mapping_of(*NAMES), retention_s=HOUR)
    # one person erased: withheld, the others still put back (crypto-shredding)
    vault.keys.erase(TENANT, vault.keys.fingerprint(TENANT, NAMES[2]))
    with Statements(vault.keys._db) as statements:
        loaded = placeholders.load(TENANT, "conv-1")
    assert loaded.values == {f"<PERSON_{n}>": name for n, name in enumerate(NAMES, 1)
                             if name != NAMES[2]}
    assert loaded.withheld == {"<PERSON_3>"}
    assert len(statements.reading("data_keys")) == 1, statements.seen


def test_a_kept_response_reads_its_keys_in_one_statement_and_dies_with_any_of_them(
        vault: PersonalVault) -> None:
    for name in NAMES:
        vault.put(TENANT, name, kind="PERSON", retention_s=HOUR, request_id="r-1")
    vault.keep_response(TENANT, "r-1", b"the response", values=(), retention_s=HOUR)
    with Statements(vault.keys._db) as statements:
        assert vault.kept_response(TENANT, "r-1") == b"the response"
    assert len(statements.reading("data_keys")) == 1, statements.seen
    vault.keys.erase(TENANT, vault.keys.fingerprint(TENANT, NAMES[3]))
    with pytest.raises(ValueErasedError):
        vault.kept_response(TENANT, "r-1")
