"""The DPO console in a real Chromium, against ``douane console`` on the stores the real worker
fills from the real broker: sign in, the overview and a search, a record's evidence, a full
verification, an erasure end to end, an evidence bundle that the standalone verifier accepts,
and an auditor who can neither open the people page nor erase with a forged form.

With ``DOUANE_CONSOLE_SCREENSHOTS=docs/console`` the test also saves the main pages there (the
screenshots in docs/console.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from browser import chromium, missing
from stack import KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.config import project_root
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(missing() is not None, reason=str(missing()))]
TENANT = "city-of-lyon"
PASSWORD = "a long console password"
WAIT_S = 120  # generous: a loaded 2-core machine; no outcome depends on it
SCREENSHOTS = os.environ.get("DOUANE_CONSOLE_SCREENSHOTS")


def douane_cli(stack: Stack, *args: str, stdin: str | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=stack.env,
                          input=stdin, capture_output=True, text=True, timeout=120)


@pytest_asyncio.fixture(scope="module")
async def console(douane: Stack) -> AsyncIterator[tuple[str, str, str]]:
    """The console on the session's stores, requests answered through the worker first:
    (base URL, the request id of a person's request, the person's name)."""
    run = uuid.uuid4().hex[:8]
    name = "Léopoldine Castagnier"
    request_id = f"console-{run}"
    async with KafkaClient(douane.settings) as client:
        await client.publish(request(request_id, f"Rédige une lettre pour {name}.", TENANT,
                                     conversation=f"console-{run}"))
        await client.publish(request(f"{request_id}-nir", "Mon NIR est 2 84 05 75 112 233 04",
                                     TENANT, classification="sensitive"))
        answers = await client.responses({request_id, f"{request_id}-nir"}, timeout_s=180)
    assert answers[request_id][0]["status"] == "answered"
    for account, role in (("dora", "dpo"), ("aude", "auditor")):
        added = douane_cli(douane, "console", "users", "add", account, "--role", role,
                           "--password-file", "-", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    port = free_port()
    douane.start("console", "console", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    await wait_http(f"{base}/healthz")
    yield base, request_id, name
    douane.stop("console")


def until(driver: Any, condition: Callable[[Any], Any]) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # an element found on the page a click is replacing goes stale: look again at the next poll
    return WebDriverWait(driver, WAIT_S,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return until(driver, lambda d: d.find_element(By.ID, element_id))


def sign_in(driver: Any, base: str, account: str) -> None:
    driver.get(f"{base}/login")
    by_id(driver, "name").send_keys(account)
    by_id(driver, "password").send_keys(PASSWORD)
    by_id(driver, "password").submit()
    assert by_id(driver, "account").text == account


def shoot(driver: Any, name: str) -> None:
    if SCREENSHOTS:
        folder = project_root() / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)  # the charts' first frame; only the picture depends on it
        driver.save_screenshot(str(folder / f"{name}.png"))


def console_actions(stack: Stack) -> list[dict[str, Any]]:
    store = open_sqlite_reader(stack.settings.audit_db)
    try:
        return [r.payload["details"] for r in store.iter_records()
                if r.kind == "console_access"]
    finally:
        store.close()


async def test_a_dpo_searches_verifies_erases_and_exports_evidence(
        douane: Stack, console: tuple[str, str, str], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    base, request_id, name = console
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(zone="Europe/Paris", downloads=downloads) as driver:
        sign_in(driver, base, "dora")
        assert int(by_id(driver, "total").text) >= 2
        assert "answered" in by_id(driver, "by-day").text
        shoot(driver, "overview")

        # search by request id, then the record's evidence
        driver.get(f"{base}/search")
        by_id(driver, "f-request_id").send_keys(request_id)
        by_id(driver, "search-button").click()
        until(driver, lambda d: d.find_element(By.ID, "result-count").text == "3")
        assert "/search?" in driver.current_url and name not in driver.current_url
        shoot(driver, "search")
        driver.find_element(By.CSS_SELECTOR, "#result-table tbody tr:last-child a").click()
        assert by_id(driver, "record-id").text == f"{request_id}/admitted"
        assert by_id(driver, "signature").text.startswith("valid")
        assert by_id(driver, "inclusion").text.startswith("valid")
        assert by_id(driver, "policy").text.split()[0] == "national-administration"
        assert by_id(driver, "rules").text != "-"
        assert "CET" in driver.page_source or "CEST" in driver.page_source  # local time
        shoot(driver, "record")

        # a full verification from the integrity page, its progress then its result
        driver.get(f"{base}/integrity")
        by_id(driver, "verify-button").click()
        outcome = by_id(driver, "verify-outcome")
        assert outcome.text == "passed", driver.page_source[-2000:]
        shoot(driver, "integrity")

        # subject access (a POST: the name never enters a URL), then the erasure
        driver.get(f"{base}/people")
        by_id(driver, "a-value").send_keys(name)
        by_id(driver, "access-button").click()
        assert name in by_id(driver, "values").text
        assert name not in driver.current_url
        shoot(driver, "people")
        by_id(driver, "erase-button").click()
        assert int(by_id(driver, "plan-keys").text) >= 1
        shoot(driver, "erasure")
        by_id(driver, "case").send_keys(f"DPO-{request_id}")
        by_id(driver, "confirm-erasure").click()
        assert by_id(driver, "erasure-outcome").text.startswith("Erased")
        driver.get(f"{base}/people")
        by_id(driver, "a-value").send_keys(name)
        by_id(driver, "access-button").click()
        assert f"DPO-{request_id}" in by_id(driver, "erasures").text
        assert not driver.find_elements(By.ID, "values")

        # the evidence bundle, downloaded as a DPO would, checked by the standalone verifier
        driver.get(f"{base}/evidence")
        shoot(driver, "evidence")
        by_id(driver, "bundle-button").click()
        bundle = downloads / "douane-evidence.json"
        until(driver, lambda d: bundle.exists() and bundle.stat().st_size > 0
              and not list(downloads.glob("*.crdownload")))
        driver.get(f"{base}/policies")
        assert "national-administration" in by_id(driver, "in-force").text
        shoot(driver, "policies")

    keyring = douane.settings.audit_db.with_suffix(".keyring.json")
    checked = subprocess.run(
        [sys.executable, str(project_root() / "streams" / "offline_verifier.py"), str(bundle),
         "--keyring", str(keyring)], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    records = json.loads(bundle.read_text())["records"]
    assert records

    actions = [(a["account"], a["action"]) for a in console_actions(douane)]
    for wanted in ("verify", "subject-access", "erasure", "evidence-bundle"):
        assert ("dora", wanted) in actions
    assert name not in json.dumps(console_actions(douane), ensure_ascii=False)
    assert name not in douane.log_text("console")


async def test_an_auditor_cannot_erase_even_with_a_forged_form(
        douane: Stack, console: tuple[str, str, str]) -> None:
    from selenium.webdriver.common.by import By

    base, _, _ = console
    before = console_actions(douane)
    with chromium() as driver:
        sign_in(driver, base, "aude")
        assert not driver.find_elements(By.CSS_SELECTOR, "nav a[href='/people']")
        driver.get(f"{base}/people")
        assert "Your role does not allow this page." in by_id(driver, "refusal").text
        forge = """
            const form = document.createElement('form');
            form.method = 'post'; form.action = '/people/erasure';
            for (const [k, v] of Object.entries(arguments[0])) {
                const input = document.createElement('input');
                input.name = k; input.value = v; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();"""
        fields = {"tenant": TENANT, "subject": "ab" * 32, "reason": "forged"}
        # without the session's token: refused before any page sees it
        driver.get(f"{base}/search")
        driver.execute_script(forge, fields)
        assert "security token is missing" in by_id(driver, "refusal").text
        # with it, the role still may not erase
        driver.get(f"{base}/search")
        token = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        driver.execute_script(forge, {**fields, "csrf": token})
        assert "Your role does not allow this page." in by_id(driver, "refusal").text
    assert console_actions(douane) == before
