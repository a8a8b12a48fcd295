"""Evidence: the bundle the standalone verifier checks (``services.evidence.build_bundle``)
for a period, and the period's records as CSV or JSON lines. Each download is an audited
action: access to the evidence is evidence too."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from streams.console.accounts import EVIDENCE
from streams.console.app import (
    Console,
    console_of,
    in_thread,
    refusal,
    render,
    requires,
    session_of,
)
from streams.console.filters import FilterError, read_filters
from streams.console.i18n import zone
from streams.services.evidence import build_bundle


def register(app: web.Application) -> None:
    app.router.add_get("/evidence", evidence_page)
    app.router.add_post("/evidence/bundle", bundle)


@requires(EVIDENCE)
async def evidence_page(request: web.Request) -> web.StreamResponse:
    return render(request, "evidence.html")


def _bundle(console: Console, since: str | None, until: str | None,
            operator_check: str) -> dict[str, Any]:
    return build_bundle(console.audit_writer(), since, until, None, operator_check)


@requires(EVIDENCE)
async def bundle(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    try:
        filters = read_filters({k: str(form.get(k, "")) for k in ("since", "until")},
                               zone(request.cookies.get("tz")))
    except FilterError as problem:
        return refusal(request, 400, problem.diagnostics())
    last = console.verification.result
    # the bundle says whether douane's own check of the whole log passed: the console's last
    check = ("not run" if last is None else "passed" if last.ok
             else f"failed: {last.problem}")
    made = await in_thread(_bundle, console, filters.query.since, filters.query.until, check)
    await in_thread(console.record, session_of(request), "evidence-bundle", None, {
        "since": filters.query.since, "until": filters.query.until,
        "records": len(made["records"]), "operator_check": check})
    return web.Response(text=json.dumps(made, indent=1) + "\n", content_type="application/json",
                        headers={"Content-Disposition":
                                 'attachment; filename="douane-evidence.json"'})
