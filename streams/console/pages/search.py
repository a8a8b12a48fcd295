"""Search: the audit query's filters, results newest first a page at a time, a record's detail
(fields, signature, inclusion proof, the policy and rules that decided it), and the results
exported as CSV or JSON lines (``export``: dpo; an audited action)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from aiohttp import web

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.config import Settings
from streams.console.accounts import EXPORT, READ
from streams.console.app import (
    Console,
    console_of,
    in_thread,
    refusal,
    render,
    requires,
    session_of,
)
from streams.console.filters import FilterError, Filters, read_filters
from streams.console.i18n import zone
from streams.core.audit import AUDIT_KINDS
from streams.services.audit_search import DEFAULT_PAGE, SearchPage, search
from streams.services.verification import record_proof, record_view

EXPORT_LIMIT = 100_000  # records in one export; narrow the filters for more
CSV_COLUMNS = ("seq", "time", "record_id", "kind", "tenant", "request_id", "decision",
               "provider", "jurisdiction", "entity_types", "reason_codes", "policy_hash")


def register(app: web.Application) -> None:
    app.router.add_get("/search", search_page)
    app.router.add_get("/record", record_page)
    app.router.add_get("/record/proof", proof_part)
    app.router.add_post("/search/export", export)


def _filters(request: web.Request, params: Any = None) -> Filters:
    return read_filters(dict(params if params is not None else request.query),
                        zone(request.cookies.get("tz")))


def _page(settings: Settings, filters: Filters, before: int | None) -> SearchPage | None:
    if not audit_log_exists(settings):
        return None
    with open_audit_reader(settings) as reader:
        return search(reader, filters.query, before_seq=before, limit=DEFAULT_PAGE)


@requires(READ)
async def search_page(request: web.Request) -> web.StreamResponse:
    try:
        filters = _filters(request)
        before = int(request.query["before"]) if request.query.get("before") else None
    except (FilterError, ValueError) as problem:
        message = (problem.diagnostics() if isinstance(problem, FilterError)
                   else "filter before: not a record number")
        return refusal(request, 400, message)
    page = await in_thread(_page, console_of(request).settings, filters, before)
    partial = (request.headers.get("HX-Request")
               and not request.headers.get("HX-History-Restore-Request"))
    template = "search_results.html" if partial else "search.html"
    return render(request, template, filters=filters, page=page, kinds=sorted(AUDIT_KINDS),
                  before=before)


@requires(READ)
async def record_page(request: web.Request) -> web.StreamResponse:
    record_id = request.query.get("id", "")
    found = (await in_thread(record_view, console_of(request).settings, record_id)
             if record_id else None)
    if found is None:
        return refusal(request, 404, "Not found")
    payload = found.record.payload
    details = payload.get("details") or {}
    policy = details.get("policy") if isinstance(details.get("policy"), dict) else None
    return render(request, "record.html", found=found, payload=payload, policy=policy,
                  rules=details.get("rules") or [],
                  fields=json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True))


def _proof(console: Console, record_id: str) -> tuple[dict[str, Any] | None, str | None]:
    if not audit_log_exists(console.settings):  # never create a log as a side effect
        return None, "no audit log"
    return record_proof(console.audit_writer(), record_id)


@requires(READ)
async def proof_part(request: web.Request) -> web.StreamResponse:
    """The inclusion proof, loaded by the record's page after it is shown (it reads the whole
    tree: seconds on a large log)."""
    proof, problem = await in_thread(_proof, console_of(request), request.query.get("id", ""))
    return render(request, "record_proof.html", proof=proof, problem=problem)


def _export(settings: Settings, filters: Filters, form: str) -> tuple[str, int]:
    rows = []
    if audit_log_exists(settings):
        with open_audit_reader(settings) as reader:
            for record in reader.query(filters.query):
                rows.append(record)
                if len(rows) >= EXPORT_LIMIT:
                    break
    if form == "json":
        return "".join(json.dumps(r.payload, ensure_ascii=False, sort_keys=True) + "\n"
                       for r in rows), len(rows)
    from streams.services.audit_search import summarise

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in rows:
        row = summarise(record.seq, record.payload)
        writer.writerow([row.seq, row.time, row.record_id, row.kind, row.tenant or "",
                         row.request_id or "", row.decision or "", row.provider or "",
                         row.jurisdiction or "", ";".join(row.entity_types),
                         ";".join(row.reason_codes), row.policy_hash or ""])
    return out.getvalue(), len(rows)


@requires(EXPORT)
async def export(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    fmt = str(form.get("format", "csv"))
    if fmt not in ("csv", "json"):
        return refusal(request, 400, "export format: csv or json")
    try:
        filters = _filters(request, {k: str(v) for k, v in form.items() if k != "csrf"})
    except FilterError as problem:
        return refusal(request, 400, problem.diagnostics())
    console = console_of(request)
    text, count = await in_thread(_export, console.settings, filters, fmt)
    await in_thread(console.record, session_of(request), f"export-{fmt}",
                    filters.given.get("tenant"), {"filters": filters.given, "records": count})
    name = f"douane-audit.{'jsonl' if fmt == 'json' else 'csv'}"
    return web.Response(text=text, content_type="application/x-ndjson" if fmt == "json"
                        else "text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
