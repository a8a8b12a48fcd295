"""The final responses kept for a redelivery, on real SQLite files: the exact bytes come back,
encrypted at rest, and crypto-shredding reaches them (the period's end, the erasure of anyone
the request named or the answer put back)."""

from __future__ import annotations

from pathlib import Path

import pytest
from stopped_clock import StoppedClock

from streams.adapters.personal_vault import NewValue, PersonalVault, ValueErasedError

HOUR = 3_600
JEANNE, PAUL = "Jeanne Martin", "Paul Durand"
RESPONSE = ('{"id":"req-1","status":"answered","messages":[{"role":"assistant",'
            f'"content":"Bonjour {JEANNE}"}}]}}').encode()


def test_the_exact_bytes_come_back_for_their_tenant_only(vault: PersonalVault) -> None:
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=[JEANNE], retention_s=HOUR)
    assert vault.kept_response("city-of-lyon", "req-1") == RESPONSE
    assert vault.kept_response("tax-office", "req-1") is None
    assert vault.kept_response("city-of-lyon", "req-2") is None


def test_the_response_is_not_in_the_files_in_clear(vault: PersonalVault,
                                                   tmp_path: Path) -> None:
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=[JEANNE], retention_s=HOUR)
    vault._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in tmp_path.glob("vault.sqlite3*"):
        assert JEANNE.encode() not in path.read_bytes()


def test_the_first_copy_kept_stays(vault: PersonalVault) -> None:
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=(), retention_s=HOUR)
    vault.keep_response("city-of-lyon", "req-1", b"other", values=(), retention_s=HOUR)
    assert vault.kept_response("city-of-lyon", "req-1") == RESPONSE
    assert vault.kept_response_count() == 1


def test_the_end_of_the_period_destroys_it_then_the_prune_deletes_it(
        vault: PersonalVault, clock: StoppedClock) -> None:
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=(), retention_s=HOUR)
    clock.now += HOUR - 1  # within the period (periods end on a boundary at least this far)
    vault.keys.destroy_expired()
    assert vault.kept_response("city-of-lyon", "req-1") == RESPONSE

    clock.now += 2 * HOUR
    assert vault.keys.destroy_expired().keys
    with pytest.raises(ValueErasedError, match="req-1"):
        vault.kept_response("city-of-lyon", "req-1")
    vault.prune(vault.keys.live_key_ids())
    assert vault.kept_response("city-of-lyon", "req-1") is None
    assert vault.kept_response_count() == 0
    assert vault._db.execute("SELECT count(*) FROM kept_response_keys").fetchone()[0] == 0


@pytest.mark.parametrize("how", ["put back in the answer", "named in the request"])
def test_erasing_a_person_of_the_request_destroys_it(vault: PersonalVault, how: str) -> None:
    if how == "named in the request":
        vault.put("city-of-lyon", JEANNE, kind="PERSON", retention_s=HOUR, request_id="req-1")
    values = [JEANNE] if how == "put back in the answer" else []
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=values, retention_s=HOUR)
    vault.keep_response("city-of-lyon", "req-2", b"{}", values=[PAUL], retention_s=HOUR)

    vault.keys.erase("city-of-lyon", vault.keys.fingerprint("city-of-lyon", JEANNE))

    with pytest.raises(ValueErasedError):
        vault.kept_response("city-of-lyon", "req-1")
    vault.prune(vault.keys.live_key_ids())
    assert vault.kept_response("city-of-lyon", "req-1") is None
    # another request's response, about somebody else, is untouched
    assert vault.kept_response("city-of-lyon", "req-2") == b"{}"


def test_a_kept_response_is_not_a_sighting_of_anyone(vault: PersonalVault) -> None:
    vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=[JEANNE], retention_s=HOUR)
    subject = vault.keys.fingerprint("city-of-lyon", JEANNE)
    assert vault.sightings("city-of-lyon", [subject]) == []
    assert vault.of_subject("city-of-lyon", subject) == []


def test_keeping_a_response_finds_the_requests_entries_by_its_index(
        vault: PersonalVault) -> None:
    """The request's entries are looked up by (tenant, request id), never by walking all of
    the tenant's entries: ``SELECT DISTINCT subject`` made SQLite walk the subject index of the
    whole tenant for every answer kept, a cost growing with the vault (issue 10)."""
    vault.put_many("city-of-lyon", [NewValue(JEANNE, "PERSON"), NewValue(PAUL, "PERSON")],
                   retention_s=HOUR, request_id="req-1")
    statements: list[str] = []
    vault._db.set_trace_callback(statements.append)  # one thread here: no deadlock risk
    try:
        vault.keep_response("city-of-lyon", "req-1", RESPONSE, values=[JEANNE],
                            retention_s=HOUR)
    finally:
        vault._db.set_trace_callback(None)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and "vault_entries" in s]
    assert reads, statements
    for statement in reads:
        plan = " ".join(str(row[3]) for row in vault._db.execute(
            "EXPLAIN QUERY PLAN " + statement))
        assert "vault_by_request (tenant=? AND request_id=?)" in plan, (statement, plan)
    # both people named by the request hold a key to the copy: erasing either destroys it
    vault.keys.erase("city-of-lyon", vault.keys.fingerprint("city-of-lyon", PAUL))
    with pytest.raises(ValueErasedError):
        vault.kept_response("city-of-lyon", "req-1")
