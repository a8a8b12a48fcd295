"""The console's pages on a log of a million records: how long a signed-in reader waits.

    python benchmarks/console_pages.py --dir PATH [--repeat 5]

``PATH`` holds a log made by ``benchmarks/audit_million.py --dir PATH`` (its
``audit.sqlite3``, the keyring beside it). The console is served on 127.0.0.1 as ``douane
console`` serves it (the real application, a real HTTP server, accounts in a temporary
``DOUANE_HOME``); an HTTP client signs in, then asks each page (median of ``--repeat`` runs,
the whole answer: the service's query, the template, the HTTP exchange): the overview of
everything, of one tenant for one month; searches by tenant and decision, entity type,
provider, request id, and with no filter; a next page; one record's page (its fields and
signature) and its inclusion proof, which the page loads after it is shown (it opens the log
for writing and reads every leaf, as ``douane audit prove`` does); the cost and dependence
figures the overview's button loads (``douane report``'s, for one tenant and one month, then
for everything: once, it reads every record).

The load average is printed first: the figures depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from argon2 import PasswordHasher

from streams.adapters.audit.protocols import AuditQuery
from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.config import load_settings
from streams.console.accounts import AccountStore, accounts_path
from streams.console.app import create_app

PASSWORD = "benchmark password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def median_ms(session: aiohttp.ClientSession, url: str, repeat: int,
                    headers: dict[str, str] | None = None) -> tuple[float, str]:
    times, text = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        async with session.get(url, headers=headers) as answer:
            text = await answer.text()
            if answer.status != 200:
                raise SystemExit(f"{url}: HTTP {answer.status}")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), text


async def run(directory: Path, repeat: int) -> None:
    audit_db = directory / "audit.sqlite3"
    if not audit_db.exists():
        raise SystemExit(f"no {audit_db}: make it with benchmarks/audit_million.py --dir "
                         f"{directory}")
    with open_sqlite_reader(audit_db) as reader:
        size = reader.size()
        some = next(iter(reader.query(AuditQuery(kinds=("answered",),
                                                 tenants=("city-of-gap",)))))
    print(f"log: {size:,} records ({audit_db})")
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"DOUANE_HOME": home, "DOUANE_AUDIT_DB": str(audit_db),
                                  "DOUANE_KEYS_DIR": str(directory / "console-keys")})
        # a cheap Argon2id: the sign-in is not what is measured
        accounts = AccountStore(accounts_path(settings.home),
                                hasher=PasswordHasher(time_cost=1, memory_cost=8192,
                                                      parallelism=1))
        accounts.add("bench", "dpo", PASSWORD)
        runner = web.AppRunner(create_app(settings, accounts, secure_cookies=False),
                                       access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        try:
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                async with session.get(f"{base}/login") as form:
                    found = CSRF.search(await form.text())
                assert found is not None
                async with session.post(f"{base}/login", data={
                        "name": "bench", "password": PASSWORD, "csrf": found.group(1)}) as a:
                    assert "bench" in await a.text()
                pages = [
                    ("overview, everything", "/?period=all"),
                    ("overview, one tenant, one month",
                     "/?tenant=city-of-lyon&since=2026-07-01T00:00Z&until=2026-08-01T00:00Z"),
                    ("search, tenant + decision", "/search?tenant=caf-paris&decision=block"),
                    ("search, entity type", "/search?entity_type=IBAN_CODE"),
                    ("search, provider", "/search?provider=openai-us"),
                    ("search, request id", f"/search?request_id={some.request_id}"),
                    ("search, no filter", "/search"),
                ]
                for name, path in pages:
                    ms, text = await median_ms(session, base + path, repeat)
                    count = re.search(r'id="(?:result-count|total)">(\d+)<', text)
                    what = "match" if "search" in name else "requests"
                    print(f"{name}: {ms:,.0f} ms"
                          + (f" ({int(count.group(1)):,} {what})" if count else ""))
                _, first = await median_ms(session, f"{base}/search?tenant=ministry-interior",
                                           1)
                following = re.search(r'id="next-page" href="([^"]+)"', first)
                if following:
                    link = following.group(1).replace("&amp;", "&")
                    ms, _ = await median_ms(session, base + link, repeat)
                    print(f"search, tenant, next page: {ms:,.0f} ms")
                ms, _ = await median_ms(session, f"{base}/record?id={some.record_id}", repeat)
                print(f"a record's page (fields, signature): {ms:,.0f} ms")
                ms, _ = await median_ms(session, f"{base}/record/proof?id={some.record_id}",
                                        repeat)
                print(f"its inclusion proof (loaded after the page): {ms:,.0f} ms")
                # the figures of douane report, loaded by the overview's button (htmx)
                for name, path, times in (
                        ("cost and dependence, one tenant, one month",
                         "/costs?tenant=city-of-lyon&since=2026-07-01T00:00Z"
                         "&until=2026-08-01T00:00Z", repeat),
                        ("cost and dependence, everything", "/costs?period=all", 1)):
                    ms, text = await median_ms(session, base + path, times,
                                               {"HX-Request": "true"})
                    read = re.search(r'id="cost-records">(\d+)<', text)
                    print(f"{name}: {ms:,.0f} ms"
                          + (f" ({int(read.group(1)):,} records read)" if read else ""))
        finally:
            await runner.cleanup()
            accounts.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores",
          file=sys.stdout)
    asyncio.run(run(args.dir, args.repeat))


if __name__ == "__main__":
    main()
