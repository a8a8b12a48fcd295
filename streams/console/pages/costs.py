"""Cost and dependence: the figures of ``douane report`` for the overview's period and tenant
(cost per provider, where the data went, the share of personal requests kept home, each
provider's share of traffic and spend with the concentration index, exit readiness, and the
signed checkpoint they were computed at), and the report itself to download as HTML, CSV or
JSON for the same period.

The figures come from ``streams.services.report.report_from_log``, as the command's do. They
read every record of the period (tens of seconds on a million records), so they are computed
when asked: the overview's button loads them into its section, never on every overview. They
hold no person-level data (codes, counts, amounts): every role may see and download them, and
neither is an audited action.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.config import Settings
from streams.console.accounts import READ
from streams.console.app import (
    Console,
    console_of,
    in_thread,
    language,
    protect,
    refusal,
    render,
    requires,
)
from streams.console.filters import FilterError, Filters, read_filters
from streams.console.i18n import zone
from streams.services.report import Period, report_from_log
from streams.services.report_formats import CSV_COLUMNS, csv_rows, percent, to_html

FORMATS = {"html": "text/html", "csv": "text/csv", "json": "application/json"}
CSV_ROWS_PER_WRITE = 500


def register(app: web.Application) -> None:
    app.router.add_get("/costs", costs_page)
    app.router.add_get("/costs/report", download)


def _filters(request: web.Request) -> Filters:
    params = dict(request.query)
    if not params.get("since"):
        params.setdefault("period", "7d")  # the overview's default
    return read_filters(params, zone(request.cookies.get("tz")))


def _period(filters: Filters) -> Period:
    return Period(filters.query.since, filters.query.until, filters.given.get("tenant"))


def _report(settings: Settings, period: Period) -> dict[str, Any] | None:
    if not audit_log_exists(settings):
        return None
    return report_from_log(settings, period)


def _tenants(console: Console) -> list[str]:
    if not audit_log_exists(console.settings):
        return []
    with open_audit_reader(console.settings) as reader:
        return console.tenants(reader.tenants, time.monotonic())


def download_links(period: Period) -> dict[str, str]:
    """The report of ``period`` in each format; a relative period ("7d") is fixed at the
    moment the figures were shown, so the file covers the same records' period."""
    fixed = {"since": period.since, "until": period.until, "tenant": period.tenant}
    return {form: "/costs/report?" + urlencode({"format": form, **{
        k: v for k, v in fixed.items() if v}}) for form in FORMATS}


def _amounts(cost: Mapping[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in cost.items())


def _shown(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report's figures as the page shows them (strings formatted as in the HTML report:
    amounts as recorded, shares in percent)."""
    overall = report["figures"]["overall"]
    dependence = overall["dependence"]
    currencies = sorted({c for p in dependence["providers"] for c in p["spend"]})
    spend_hhi = [{"currency": c, "index": dependence["spend_hhi"].get(c),
                  "reading": dependence["spend_concentration"].get(c)} for c in currencies]
    traffic = [{"label": p["provider"], "count": round(100 * (p["traffic_share"] or 0), 1),
                "link": ""} for p in dependence["providers"]]
    return {"usage": overall["usage"], "totals": overall["totals"],
            "requests": overall["requests"], "sent": overall["sent"],
            "personal": overall["personal"], "dependence": dependence,
            "currencies": currencies, "spend_hhi": spend_hhi,
            "exits": overall["exit_readiness"],
            "traffic_chart": json.dumps({"type": "bar",
                                         "labels": [r["label"] for r in traffic],
                                         "datasets": [{"label": "%",
                                                       "data": [r["count"] for r in traffic],
                                                       "links": []}]})}


@requires(READ)
async def costs_page(request: web.Request) -> web.StreamResponse:
    """The figures: the section's content when htmx asks for it, else a page of its own."""
    try:
        filters = _filters(request)
    except FilterError as problem:
        return refusal(request, 400, problem.diagnostics())
    console, period = console_of(request), _period(filters)
    report = await in_thread(_report, console.settings, period)
    partial = (request.headers.get("HX-Request")
               and not request.headers.get("HX-History-Restore-Request"))
    context: dict[str, Any] = {"filters": filters, "report": report, "percent": percent,
                               "amounts": _amounts}
    if report is not None:
        context |= {"shown": _shown(report), "downloads": download_links(period)}
    if partial:
        return render(request, "costs_figures.html", **context)
    return render(request, "costs.html", tenants=await in_thread(_tenants, console), **context)


def _chunks(report: Mapping[str, Any], form: str, lang: str) -> Iterator[str]:
    if form == "json":
        yield json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    elif form == "html":
        yield to_html(report, lang)
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for count, row in enumerate(csv_rows(report), 1):
            writer.writerow(row)
            if count % CSV_ROWS_PER_WRITE == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()


@requires(READ)
async def download(request: web.Request) -> web.StreamResponse:
    """``douane report --format F`` for the period, as a file (no person-level data)."""
    form = request.query.get("format", "html")
    if form not in FORMATS:
        return refusal(request, 400, "report format: html, csv or json")
    try:
        filters = read_filters(dict(request.query), zone(request.cookies.get("tz")))
    except FilterError as problem:
        return refusal(request, 400, problem.diagnostics())
    report = await in_thread(_report, console_of(request).settings, _period(filters))
    if report is None:
        return refusal(request, 404, "Not found")
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    response = web.StreamResponse(headers={
        "Content-Type": f"{FORMATS[form]}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="douane-report-{day}.{form}"'})
    protect(request, response)  # sent with the first chunk, before any middleware sees it
    await response.prepare(request)
    for chunk in _chunks(report, form, language(request)):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response
