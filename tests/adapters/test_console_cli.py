"""``douane console users``: accounts added with a password read from a file or standard input
(never an argument), listed without their hash, removed; bad input named clearly."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import structlog

from streams import cli
from streams.config import load_settings
from streams.console.accounts import AccountStore, accounts_path


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DOUANE_HOME", str(home))
    yield home
    structlog.reset_defaults()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["console", "users", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_account_added_from_standard_input_signs_in(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    code, out, _ = run(capsys, "add", "dora", "--role", "dpo", "--password-file", "-")
    assert code == 0 and "account dora (dpo) added" in out
    store = AccountStore(accounts_path(load_settings().home))
    try:
        assert store.sign_in("dora", "a long enough password").token is not None
        assert store.sign_in("dora", "a long enough password\n").token is None
    finally:
        store.close()
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.split()[:2] == ["dora", "dpo"] and "argon2" not in out


def test_a_password_file_and_its_problems(home: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret"
    secret.write_text("short\n")
    code, _, err = run(capsys, "add", "aude", "--role", "auditor", "--password-file",
                       str(secret))
    assert code == 2 and "at least 12" in err and "short" not in err
    secret.write_text("")
    code, _, err = run(capsys, "add", "aude", "--role", "auditor", "--password-file",
                       str(secret))
    assert code == 2 and "no password given" in err
    secret.write_text("twelve chars and more\n")
    assert run(capsys, "add", "Aude!", "--role", "auditor", "--password-file",
               str(secret))[2].count("account name 'Aude!'") == 1
    assert run(capsys, "add", "aude", "--role", "auditor", "--password-file",
               str(secret))[0] == 0
    code, _, err = run(capsys, "add", "aude", "--role", "dpo", "--password-file", str(secret))
    assert code == 2 and "exists already" in err


def test_removing_an_account(home: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret"
    secret.write_text("twelve chars and more\n")
    run(capsys, "add", "sami", "--role", "security", "--password-file", str(secret))
    assert run(capsys, "remove", "sami")[0] == 0
    code, _, err = run(capsys, "remove", "sami")
    assert code == 1 and "no account 'sami'" in err
    assert "no account yet" in run(capsys, "list")[1]


def test_the_console_refuses_to_listen_beyond_loopback_without_https(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["console", "--host", "0.0.0.0", "--port", "1"])
    assert code == 2 and "needs HTTPS" in capsys.readouterr().err


def test_adding_and_removing_an_account_is_audited(home: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from streams.adapters.audit.sqlite import open_sqlite_reader

    secret = tmp_path / "secret"
    secret.write_text("twelve chars and more\n")
    run(capsys, "add", "sami", "--role", "security", "--password-file", str(secret))
    run(capsys, "remove", "sami")
    store = open_sqlite_reader(load_settings().audit_db)
    try:
        details = [r.payload["details"] for r in store.iter_records()
                   if r.kind == "console_access"]
    finally:
        store.close()
    assert [(d["action"], d["about"]) for d in details] == [
        ("account-added", {"account": "sami", "role": "security"}),
        ("account-removed", {"account": "sami"})]
    assert all(d["role"] == "operator" and "@" in d["account"] for d in details)
