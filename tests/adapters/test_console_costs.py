"""The console's cost and dependence figures, with the real application served on 127.0.0.1 on
a real signed SQLite log holding the hand-computed log of ``tests/transparency_log.py``: what
the page shows is what ``douane report --format json`` says of the same period, every role sees
it, and the report downloads in each format as the command writes it."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from transparency_log import LOG, POLICY_TEXT

from streams import cli
from streams.adapters.policy_files import parse_policy
from streams.config import Settings, load_settings
from streams.console.accounts import AccountStore, accounts_path
from streams.console.app import CONTENT_SECURITY_POLICY, create_app
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.services.audit_log import open_writer
from streams.services.report_formats import CSV_COLUMNS, percent

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
START = datetime(2026, 11, 10, 9, tzinfo=UTC)
SINCE, UNTIL = "2026-11-01", "2026-12-01"
PERIOD = f"since={SINCE}&until={UNTIL}"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home, policy_file = tmp_path / "home", tmp_path / "policy.yaml"
    policy_file.write_text(POLICY_TEXT)
    reference = parse_policy(POLICY_TEXT, str(policy_file)).reference
    # the command reads its settings from the environment; the console is given the same
    monkeypatch.setenv("DOUANE_HOME", str(home))
    monkeypatch.setenv("DOUANE_POLICY", str(policy_file))
    settings = load_settings({"DOUANE_HOME": str(home), "DOUANE_POLICY": str(policy_file)})
    outside = {"kind": "answered", "request_id": "old", "tenant": "city",
               "details": {"provider": "virginia", "model": "gpt", "usage": None, "cost": None}}
    with open_writer(settings, WORKER) as log:
        log.append(AuditEvent("old/answered", "answered", "old", "city",  # before the period
                              datetime(2026, 10, 5, tzinfo=UTC), outside["details"]))
        for i, payload in enumerate(LOG):
            details = payload["details"]
            if payload["kind"] == "policy_changed":  # the worker's record of the set it runs
                details = {"event": "loaded", "policy": reference, "source": str(policy_file)}
            log.append(AuditEvent(payload["record_id"], payload["kind"], payload["request_id"],
                                  payload["tenant"], START + timedelta(minutes=i), details))
    yield settings
    structlog.reset_defaults()


@pytest.fixture
def accounts(settings: Settings) -> Iterator[AccountStore]:
    store = AccountStore(accounts_path(settings.home), time.time,
                         PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for name, role in (("dora", "dpo"), ("aude", "auditor"), ("sami", "security")):
        store.add(name, role, PASSWORD)
    yield store
    store.close()


@pytest_asyncio.fixture
async def client(settings: Settings, accounts: AccountStore
                 ) -> AsyncIterator[TestClient[object, object]]:
    client: TestClient[object, object] = TestClient(TestServer(
        create_app(settings, accounts, secure_cookies=False), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def sign_in(client: TestClient[object, object], name: str) -> None:
    form = await client.get("/login")
    token = CSRF.search(await form.text())
    assert token is not None
    answer = await client.post("/login", data={"name": name, "password": PASSWORD,
                                               "csrf": token.group(1)})
    assert answer.status == 200


def douane_report(capsys: pytest.CaptureFixture[str], form: str, *args: str) -> str:
    capsys.readouterr()
    assert cli.main(["report", "--since", SINCE, "--until", UNTIL, "--format", form,
                     *args]) == 0
    return capsys.readouterr().out


class Tables(HTMLParser):
    """The text of each cell of each element with an id holding a table (or a paragraph)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._open: list[tuple[str, str]] = []  # (tag, id) of the elements with an id

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id")
        if ident:
            self._open.append((tag, ident))
            self.texts[ident] = ""
            if tag == "table":
                self._table, self.tables[ident] = ident, []
        if self._table and tag == "tr":
            self.tables[self._table].append([])
        if self._table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._table and tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if self._open and self._open[-1][0] == tag:
            _, ident = self._open.pop()
            if ident == self._table:
                self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, ident in self._open:
            self.texts[ident] += data


def shown(page: str) -> Tables:
    parsed = Tables()
    parsed.feed(page)
    return parsed


def amounts(cost: dict[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in cost.items()) or "-"


async def test_the_figures_shown_are_those_of_douane_report(
        client: TestClient[object, object], capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(douane_report(capsys, "json"))
    overall = report["figures"]["overall"]
    await sign_in(client, "sami")  # the role that sees the least: no person-level data here
    answer = await client.get(f"/costs?{PERIOD}", headers=HTMX)
    assert answer.status == 200
    page = shown(await answer.text())
    # computed from the same records, at the same signed checkpoint
    checkpoint = report["checkpoint"]
    assert f"{checkpoint['origin']}, {checkpoint['size']} records, root hash " \
           f"{checkpoint['root_hash']}" == " ".join(page.texts["cost-checkpoint"].split())
    assert page.texts["cost-records"] == str(report["figures"]["records_read"])
    assert report["policy"]["reference"]["sha256"] in page.texts["cost-policy"]

    assert page.tables["cost-usage"][1:] == [
        [u["provider"], u["model"], u["jurisdiction"], u["hosting"], str(u["answers"]),
         str(u["input_tokens"]), str(u["output_tokens"]), str(u["estimated"]),
         str(u["unpriced"]), amounts(u["cost"])] for u in overall["usage"]]
    assert amounts(overall["totals"]["cost"]) in page.texts["cost-totals"]
    assert page.tables["cost-sent"][1:] == [
        [s["provider"], s["jurisdiction"], str(s["requests"])] for s in overall["sent"]]
    personal = overall["personal"]
    assert page.tables["cost-personal"][1:] == [[
        personal["home_jurisdiction"], str(personal["requests"]), str(personal["not_sent"]),
        str(personal["sent_home_only"]), str(personal["sent_elsewhere"]),
        percent(personal["stayed_home_share"])]]
    dependence = overall["dependence"]
    currencies = sorted({c for p in dependence["providers"] for c in p["spend"]})
    assert page.tables["cost-dependence"][1:] == [
        [p["provider"], str(p["answers"]), percent(p["traffic_share"]),
         *[cell for c in currencies for cell in (
             (p["spend"][c]["amount"], percent(p["spend"][c]["share"])) if c in p["spend"]
             else ("-", "-"))]]
        for p in dependence["providers"]]
    assert f"(traffic): {dependence['traffic_hhi']} / 10 000 · " \
           f"{dependence['traffic_concentration']}" in " ".join(
               page.texts["traffic-hhi"].split())
    assert sorted(dependence["spend_hhi"]) == ["EUR", "USD"]
    for currency, index in dependence["spend_hhi"].items():
        assert f"(spend, {currency}): {index} / 10 000 · " \
               f"{dependence['spend_concentration'][currency]}" in " ".join(
                   page.texts[f"spend-hhi-{currency}"].split())
    assert page.tables["cost-exit"][1:] == [
        [e["provider"], str(e["routed"]), str(e["still_allowed"]), percent(e["share"]),
         ", ".join(f"{p}: {n}" for p, n in e["alternatives"].items()) or "none"]
        for e in overall["exit_readiness"]]
    # the hand-computed figures of test_transparency.py, so that the comparison is not empty
    assert ["virginia", "gpt", "US", "public-cloud", "3", "5000", "1500", "0", "1",
            "0.021000 USD"] in page.tables["cost-usage"]
    assert percent(personal["stayed_home_share"]) == "75.0 %"
    assert dependence["traffic_hhi"] == 4400.0


async def test_one_tenant_shows_that_tenants_figures(
        client: TestClient[object, object], capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(douane_report(capsys, "json", "--tenant", "tax"))
    await sign_in(client, "aude")
    page = shown(await (await client.get(f"/costs?{PERIOD}&tenant=tax", headers=HTMX)).text())
    assert page.tables["cost-sent"][1:] == [
        [s["provider"], s["jurisdiction"], str(s["requests"])]
        for s in report["figures"]["overall"]["sent"]]
    assert [row[0] for row in page.tables["cost-usage"][1:]] == ["local", "paris", "virginia"]


@pytest.mark.parametrize("name", ["dora", "aude", "sami"])
async def test_every_role_sees_the_page_linked_from_the_overview_and_the_navigation(
        client: TestClient[object, object], name: str) -> None:
    await sign_in(client, name)
    overview = await (await client.get(f"/?{PERIOD}")).text()
    # computed when asked, for the overview's own period and tenant
    assert 'hx-get="/costs?since=2026-11-01&amp;until=2026-12-01&amp;period=7d"' in overview
    assert 'id="cost-usage"' not in overview
    assert '<a href="/costs"' in overview  # the navigation
    page = await client.get(f"/costs?{PERIOD}")
    assert page.status == 200
    assert '<h1>Cost and dependence</h1>' in (text := await page.text())
    assert 'id="cost-usage"' in text
    assert re.search(r"<option\s*>city</option>", text)  # the filter's tenants


async def test_the_report_downloads_in_each_format_as_the_command_writes_it(
        client: TestClient[object, object], capsys: pytest.CaptureFixture[str]) -> None:
    command_json = json.loads(douane_report(capsys, "json"))
    command_csv = douane_report(capsys, "csv")
    await sign_in(client, "sami")
    figures = await (await client.get(f"/costs?{PERIOD}", headers=HTMX)).text()
    links = dict(re.findall(r'href="(/costs/report\?[^"]+)" download id="report-(\w+)"',
                            figures))
    links = {form: link.replace("&amp;", "&") for link, form in links.items()}
    assert sorted(links) == ["csv", "html", "json"]

    as_json = await client.get(links["json"])
    assert as_json.status == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert 'attachment; filename="douane-report-' in as_json.headers["Content-Disposition"]
    assert as_json.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    downloaded = json.loads(await as_json.text())
    assert downloaded["figures"] == command_json["figures"]
    assert downloaded["period"] == command_json["period"]
    assert downloaded["checkpoint"]["root_hash"] == command_json["checkpoint"]["root_hash"]

    as_csv = await client.get(links["csv"])
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    body = await as_csv.text()
    assert body == command_csv
    assert tuple(next(csv.reader(io.StringIO(body)))) == CSV_COLUMNS

    as_html = await client.get(links["html"])
    assert as_html.headers["Content-Type"].startswith("text/html")
    page = await as_html.text()
    assert page.startswith("<!DOCTYPE html>") and "Transparency report" in page
    assert "4400.0" in page
    await client.get("/lang/fr")
    assert "Rapport de transparence" in await (await client.get(links["html"])).text()


async def test_a_wrong_format_or_period_is_named(client: TestClient[object, object]) -> None:
    await sign_in(client, "sami")
    wrong = await client.get("/costs/report?format=pdf")
    assert wrong.status == 400 and "report format: html, csv or json" in await wrong.text()
    bad_period = await client.get("/costs/report?format=csv&since=yesterday-ish")
    assert bad_period.status == 400 and "filter since" in await bad_period.text()
    assert (await client.get("/costs?period=forever")).status == 400


async def test_the_figures_speak_french(client: TestClient[object, object]) -> None:
    await sign_in(client, "dora")
    await client.get("/lang/fr")
    page = await (await client.get(f"/costs?{PERIOD}", headers=HTMX)).text()
    assert "Part du trafic" in page and "Capacité de sortie" in page
    assert "forte" in shown(page).texts["traffic-hhi"]

