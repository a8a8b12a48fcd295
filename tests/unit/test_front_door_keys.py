"""Revoking and expiring front-door keys (issue 12, item 6): a key store that is kept open, as
the running front door keeps it, sees ``douane keys revoke`` and an expiry at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from streams.cli import main
from streams.front_door.keys import Caller, KeyFileError, KeyRefusal, KeyStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _plain_logging() -> object:
    yield None
    structlog.reset_defaults()


def test_a_revoked_key_is_refused_by_a_store_already_open(tmp_path: Path) -> None:
    running = KeyStore(tmp_path / "keys.json")  # the front door's, opened at its start
    key, entry = KeyStore(tmp_path / "keys.json").add("city-of-lyon", "portal")
    other, _ = KeyStore(tmp_path / "keys.json").add("city-of-lyon", "intranet")
    assert running.caller(key) == Caller(entry.key_id, "city-of-lyon")  # added: seen at once

    assert [e.key_id for e in KeyStore(tmp_path / "keys.json").revoke(entry.key_id)] == [
        entry.key_id]
    assert running.caller(key) == KeyRefusal("revoked", entry.key_id)
    assert isinstance(running.caller(other), Caller)  # the other key still works
    assert KeyStore(tmp_path / "keys.json").revoke("nothere") == []


def test_a_key_stops_working_when_it_expires(tmp_path: Path) -> None:
    clock = Clock()
    store = KeyStore(tmp_path / "keys.json", clock)
    key, entry = store.add("tax-office", expires_in=timedelta(days=90))
    assert entry.expires_at == "2026-05-30T09:00:00Z"
    clock.now += timedelta(days=90) - timedelta(seconds=1)
    assert isinstance(store.caller(key), Caller)
    clock.now += timedelta(seconds=1)
    assert store.caller(key) == KeyRefusal("expired", entry.key_id)
    assert store.caller("dk-unknown") == KeyRefusal("unknown")


def test_a_key_file_from_before_expiry_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    key, entry = store.add("tax-office")
    old = {"keys": [{k: v for k, v in entry.__dict__.items()
                     if k not in ("expires_at", "revoked_at")}]}
    path.write_text(json.dumps(old))
    assert KeyStore(path).caller(key) == Caller(entry.key_id, "tax-office")


def test_an_unreadable_key_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    store.add("tax-office")
    path.write_text('{"keys": [{"key_id": 1}]}')
    with pytest.raises(KeyFileError, match=r"keys\.json: not a douane key file"):
        store.caller("dk-anything")


def test_the_keys_command_adds_lists_and_revokes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOUANE_HOME", str(tmp_path))
    monkeypatch.setenv("DOUANE_FRONT_DOOR_KEYS", str(tmp_path / "keys.json"))
    assert main(["keys", "add", "--tenant", "tax-office", "--expires-in", "30d"]) == 0
    key = capsys.readouterr().out.splitlines()[0]
    running = KeyStore(tmp_path / "keys.json")
    found = running.caller(key)
    assert isinstance(found, Caller)

    assert main(["keys", "revoke", found.key_id]) == 0
    assert f"key {found.key_id} of tenant tax-office revoked" in capsys.readouterr().out
    assert running.caller(key) == KeyRefusal("revoked", found.key_id)
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", "00000000"]) == 2
    assert "no key with id '00000000'" in capsys.readouterr().out
    assert main(["keys", "add", "--tenant", "tax-office", "--expires-in", "soon"]) == 2
    assert "--expires-in: 'soon' is not a duration" in capsys.readouterr().out
