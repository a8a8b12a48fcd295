"""The console's doors, with the real application served on 127.0.0.1 and real stores (SQLite
accounts, a signed audit log): sign-in, lock-out (the clock is moved, nothing sleeps), the
session cookie's flags, CSRF on every form, each role's permissions, and the audit record that
every person-level read or change leaves."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.cli import main
from streams.config import Settings, load_settings
from streams.console.accounts import (
    LOCK_S,
    MAX_FAILURES,
    AccountError,
    AccountStore,
    accounts_path,
)
from streams.console.app import (
    CONSOLE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    TENANTS_KEPT_S,
    create_app,
)
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.services import audit_log
from streams.services.audit_log import open_writer

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = load_settings({"DOUANE_HOME": str(tmp_path / "home")})
    with open_writer(settings, WORKER) as log:
        log.append(AuditEvent("r-1/admitted", "admitted", "r-1", "city-of-lyon",
                              datetime(2026, 11, 24, 9, tzinfo=UTC),
                              {"decision": "forward", "provider": "sovereign-local",
                               "entities": {"PERSON": 1}, "reasons": []}))
    return settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(settings: Settings, clock: Clock) -> Iterator[AccountStore]:
    # Argon2id with a small memory cost: the tests sign in often on a 2-core machine
    store = AccountStore(accounts_path(settings.home), clock,
                         PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for name, role in (("dora", "dpo"), ("aude", "auditor"), ("sami", "security")):
        store.add(name, role, PASSWORD)
    yield store
    store.close()


async def _client(settings: Settings, accounts: AccountStore,
                  secure: bool = False) -> TestClient[object, object]:
    client: TestClient[object, object] = TestClient(TestServer(
        create_app(settings, accounts, secure_cookies=secure), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest_asyncio.fixture
async def client(settings: Settings, accounts: AccountStore
                 ) -> AsyncIterator[TestClient[object, object]]:
    client = await _client(settings, accounts)
    yield client
    await client.close()


async def sign_in(client: TestClient[object, object], name: str,
                  password: str = PASSWORD) -> tuple[int, str]:
    form = await client.get("/login")
    token = CSRF.search(await form.text())
    assert token is not None
    answer = await client.post("/login", data={"name": name, "password": password,
                                               "csrf": token.group(1)})
    return answer.status, await answer.text()


async def csrf_of(client: TestClient[object, object], path: str = "/search") -> str:
    page = await client.get(path)
    found = CSRF.search(await page.text())
    assert found is not None, path
    return found.group(1)


def records(settings: Settings, kind: str) -> list[dict[str, object]]:
    store = open_sqlite_reader(settings.audit_db)
    try:
        return [r.payload for r in store.iter_records() if r.kind == kind]
    finally:
        store.close()


async def test_a_page_needs_a_session_and_the_right_password_gives_one(
        client: TestClient[object, object]) -> None:
    first = await client.get("/", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/login"
    status, text = await sign_in(client, "dora", "not the password")
    assert status == 401 and "Wrong account or password." in text
    assert (await client.get("/", allow_redirects=False)).status == 303
    status, text = await sign_in(client, "dora")
    assert status == 200 and 'id="account">dora<' in text


async def test_an_unknown_account_is_answered_as_a_wrong_password(
        client: TestClient[object, object]) -> None:
    status, text = await sign_in(client, "nobody")
    assert status == 401 and "Wrong account or password." in text


async def test_five_failures_lock_the_account_for_fifteen_minutes(
        client: TestClient[object, object], clock: Clock) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert (await sign_in(client, "aude", "guess guess guess"))[0] == 401
    status, text = await sign_in(client, "aude", "guess guess guess")
    assert status == 429 and "locked until" in text
    clock.now += LOCK_S - 1
    assert (await sign_in(client, "aude"))[0] == 429  # even the right password
    clock.now += 2
    assert (await sign_in(client, "aude"))[0] == 200


async def test_a_success_resets_the_count_of_failures(
        client: TestClient[object, object]) -> None:
    for _ in range(MAX_FAILURES - 1):
        await sign_in(client, "sami", "guess guess guess")
    assert (await sign_in(client, "sami"))[0] == 200
    assert (await client.post("/logout", data={"csrf": await csrf_of(client)})).status == 200
    assert (await sign_in(client, "sami", "guess guess guess"))[0] == 401  # not locked


@pytest.mark.parametrize("secure", [False, True])
async def test_the_session_cookie_is_http_only_strict_and_secure_off_loopback(
        settings: Settings, accounts: AccountStore, secure: bool) -> None:
    client = await _client(settings, accounts, secure)
    try:
        form = await client.get("/login")
        token = CSRF.search(await form.text())
        assert token is not None
        # a Secure cookie is not sent back over plain HTTP: sent by hand here
        login_cookie = form.cookies[LOGIN_CSRF_COOKIE].value
        answer = await client.post("/login", allow_redirects=False, data={
            "name": "dora", "password": PASSWORD, "csrf": token.group(1)},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={login_cookie}"})
        cookie = next(v for v in answer.headers.getall("Set-Cookie")
                      if v.startswith(SESSION_COOKIE))
        flags = {part.strip().lower().split("=")[0] for part in cookie.split(";")}
        assert {"httponly", "samesite"} <= flags
        assert "samesite=strict" in cookie.lower()
        assert ("secure" in flags) is secure
    finally:
        await client.close()


async def test_a_form_without_the_sessions_token_is_refused_and_does_nothing(
        client: TestClient[object, object], settings: Settings) -> None:
    await sign_in(client, "dora")
    for data in ({}, {"csrf": "forged"}):
        refused = await client.post("/search/export", data={**data, "format": "csv"})
        assert refused.status == 403
        assert "security token is missing" in await refused.text()
        logout = await client.post("/logout", data=data)
        assert logout.status == 403
    assert records(settings, "console_access") == []
    assert (await client.get("/", allow_redirects=False)).status == 200  # still signed in
    # the same form with the token goes through
    token = await csrf_of(client)
    assert (await client.post("/search/export", data={"csrf": token,
                                                      "format": "csv"})).status == 200


async def test_the_sign_in_form_needs_its_own_token(client: TestClient[object, object]) -> None:
    forged = await client.post("/login", data={"name": "dora", "password": PASSWORD})
    assert forged.status == 403
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_another_sessions_token_is_refused(settings: Settings,
                                                 accounts: AccountStore) -> None:
    mine, theirs = await _client(settings, accounts), await _client(settings, accounts)
    try:
        await sign_in(mine, "dora")
        await sign_in(theirs, "dora")
        assert (await mine.post("/search/export", data={
            "csrf": await csrf_of(theirs), "format": "csv"})).status == 403
    finally:
        await mine.close()
        await theirs.close()


@pytest.mark.parametrize(("name", "allowed", "refused"), [
    ("dora", ["/", "/search", "/integrity", "/evidence", "/people", "/policies"], []),
    ("aude", ["/", "/search", "/integrity", "/evidence", "/policies"], ["/people"]),
    ("sami", ["/", "/search", "/integrity", "/policies"], ["/people", "/evidence"]),
])
async def test_each_role_sees_its_pages(client: TestClient[object, object], name: str,
                                        allowed: list[str], refused: list[str]) -> None:
    await sign_in(client, name)
    for path in allowed:
        assert (await client.get(path)).status == 200, path
    for path in refused:
        answer = await client.get(path)
        assert answer.status == 403, path
        assert "Your role does not allow this page." in await answer.text()


@pytest.mark.parametrize(("name", "path", "form"), [
    ("aude", "/people/erasure", {"tenant": "city-of-lyon", "subject": "ab" * 32,
                                 "reason": "r"}),
    ("aude", "/people/access", {"tenant": "city-of-lyon", "value": "Jeanne Martin"}),
    ("aude", "/people/holds", {"tenant": "city-of-lyon", "reason": "case 1"}),
    ("aude", "/search/export", {"format": "csv"}),
    ("sami", "/people/erasure", {"tenant": "city-of-lyon", "subject": "ab" * 32,
                                 "reason": "r"}),
    ("sami", "/integrity/verify", {}),
    ("sami", "/evidence/bundle", {}),
])
async def test_a_role_cannot_post_what_it_may_not_do(
        client: TestClient[object, object], settings: Settings, name: str, path: str,
        form: dict[str, str]) -> None:
    await sign_in(client, name)
    answer = await client.post(path, data={**form, "csrf": await csrf_of(client)})
    assert answer.status == 403
    assert records(settings, "erased") == [] and records(settings, "hold_placed") == []
    assert records(settings, "console_access") == []


async def test_person_level_reads_and_exports_are_audited_without_the_value(
        client: TestClient[object, object], settings: Settings) -> None:
    await sign_in(client, "dora")
    token = await csrf_of(client)
    looked_up = await client.post("/people/access", data={
        "csrf": token, "tenant": "city-of-lyon", "value": "Jeanne Martin"})
    assert looked_up.status == 200
    assert "douane holds nothing about this person." in await looked_up.text()
    assert (await client.post("/search/export", data={"csrf": token, "format": "json",
                                                      "tenant": "city-of-lyon"})).status == 200
    found = records(settings, "console_access")
    assert [(r["details"]["account"], r["details"]["action"]) for r in found] == [  # type: ignore[index]
        ("dora", "subject-access"), ("dora", "export-json")]
    raw = b"".join(f.read_bytes() for f in settings.audit_db.parent.glob("audit.sqlite3*"))
    assert b"Jeanne" not in raw and b"Martin" not in raw


def test_accounts_refuse_short_passwords_unknown_roles_and_twins(
        accounts: AccountStore) -> None:
    with pytest.raises(AccountError, match="at least 12"):
        accounts.add("eve", "dpo", "short")
    with pytest.raises(AccountError, match="role 'admin'"):
        accounts.add("eve", "admin", PASSWORD)
    with pytest.raises(AccountError, match="exists already"):
        accounts.add("dora", "dpo", PASSWORD)
    stored = b"".join(f.read_bytes() for f in accounts.path.parent.glob("console.sqlite3*"))
    assert PASSWORD.encode() not in stored and b"$argon2id$" in stored


async def test_removing_an_account_ends_its_sessions(
        client: TestClient[object, object], accounts: AccountStore) -> None:
    await sign_in(client, "sami")
    assert (await client.get("/", allow_redirects=False)).status == 200
    assert accounts.remove("sami")
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_verification_started_from_the_page_is_kept_and_recorded(
        client: TestClient[object, object], settings: Settings) -> None:
    await sign_in(client, "aude")
    started = await client.post("/integrity/verify", data={"csrf": await csrf_of(client)})
    assert started.status == 200
    for _ in range(600):  # until the background check ends; nothing here depends on its speed
        page = await (await client.get("/integrity/progress")).text()
        if 'id="verify-outcome"' in page:
            break
        await asyncio.sleep(0.1)
    assert re.search(r'id="verify-outcome">passed<', page), page
    assert "started by aude" in await (await client.get("/integrity")).text()
    [recorded] = records(settings, "console_access")
    assert recorded["details"]["action"] == "verify"  # type: ignore[index]
    assert recorded["details"]["about"]["ok"] is True  # type: ignore[index]


async def test_the_pages_speak_french_when_asked(client: TestClient[object, object]) -> None:
    await sign_in(client, "dora")
    switched = await client.get("/lang/fr", allow_redirects=False)
    assert switched.status == 303
    page = await (await client.get("/")).text()
    assert "Aucune requête sur cette période." in page and 'lang="fr"' in page


async def test_a_dpo_places_and_releases_a_hold_without_the_value_in_the_log(
        client: TestClient[object, object], settings: Settings) -> None:
    await sign_in(client, "dora")
    token = await csrf_of(client, "/people")
    placed = await client.post("/people/holds", data={
        "csrf": token, "tenant": "city-of-lyon", "value": "Jeanne Martin",
        "reason": "case TA-2025-117"})
    assert placed.status == 200
    page = await placed.text()
    assert "case TA-2025-117" in page and "Jeanne" not in page
    [hold] = records(settings, "hold_placed")
    hold_id = hold["details"]["hold_id"]  # type: ignore[index]
    released = await client.post("/people/holds/release", data={"csrf": token,
                                                                 "hold_id": hold_id})
    assert released.status == 200 and "No hold in force." in await released.text()
    assert len(records(settings, "hold_released")) == 1
    assert [r["details"]["action"] for r in records(settings, "console_access")] == [  # type: ignore[index]
        "hold-placed", "hold-released"]
    raw = b"".join(f.read_bytes() for f in settings.audit_db.parent.glob("audit.sqlite3*"))
    assert b"Jeanne" not in raw


async def test_an_unknown_tenant_is_named_and_nothing_is_done(
        client: TestClient[object, object], settings: Settings) -> None:
    await sign_in(client, "dora")
    answer = await client.post("/people/access", data={
        "csrf": await csrf_of(client, "/people"), "tenant": "nowhere", "value": "Jeanne"})
    assert answer.status == 400 and "unknown tenant &#39;nowhere&#39;" in await answer.text()
    assert records(settings, "console_access") == []


def test_the_tenant_list_is_read_again_after_a_minute(settings: Settings,
                                                      accounts: AccountStore) -> None:
    console = create_app(settings, accounts, secure_cookies=False)[CONSOLE]
    reads: list[list[str]] = [["a"], ["a", "b"]]
    assert console.tenants(lambda: reads.pop(0), now=100.0) == ["a"]
    assert console.tenants(lambda: reads.pop(0), now=100.0 + TENANTS_KEPT_S - 1) == ["a"]
    assert console.tenants(lambda: reads.pop(0), now=100.0 + TENANTS_KEPT_S) == ["a", "b"]


async def test_the_console_appends_through_one_writer_for_its_life(
        settings: Settings, accounts: AccountStore, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_open = audit_log.open_audit_log

    def counted(*args: Any, **kwargs: Any) -> GroupCommitLog:
        opened.append(kwargs.get("role", WORKER))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(audit_log, "open_audit_log", counted)
    client = await _client(settings, accounts)
    try:
        await sign_in(client, "dora")
        token = await csrf_of(client, "/people")
        await client.post("/people/access", data={
            "csrf": token, "tenant": "city-of-lyon", "value": "Jeanne Martin"})
        await client.post("/people/holds", data={
            "csrf": token, "tenant": "city-of-lyon", "value": "Jeanne Martin",
            "reason": "case TA-2025-117"})
        [hold] = records(settings, "hold_placed")
        await client.post("/people/holds/release", data={
            "csrf": token, "hold_id": hold["details"]["hold_id"]})  # type: ignore[index]
        console = client.server.app[CONSOLE]
    finally:
        await client.close()
    assert [r["details"]["action"] for r in records(settings, "console_access")] == [  # type: ignore[index]
        "subject-access", "hold-placed", "hold-released"]
    assert len(records(settings, "hold_released")) == 1
    assert opened == ["dpo"]  # six records, one writer
    assert console._writer is None  # closed with the application


async def test_a_dpo_key_rotated_while_the_console_runs_is_taken_up(
        client: TestClient[object, object], settings: Settings,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        restore_logging: None) -> None:
    await sign_in(client, "dora")
    token = await csrf_of(client, "/people")
    for value in ("Jeanne Martin", "Paul Durand"):
        answer = await client.post("/people/access", data={
            "csrf": token, "tenant": "city-of-lyon", "value": value})
        assert answer.status == 200
        if value == "Jeanne Martin":  # the console's writer is open: another process rotates
            monkeypatch.setenv("DOUANE_HOME", str(settings.home))
            assert await asyncio.to_thread(main, ["audit", "rotate-key", "--role", "dpo"]) == 0
    capsys.readouterr()
    with open_sqlite_reader(settings.audit_db) as reader:
        keys = [r.key_id for r in reader.iter_records() if r.kind == "console_access"]
    assert len(keys) == 2 and keys[0] != keys[1]  # the second signed with the new key
