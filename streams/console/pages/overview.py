"""The overview: requests by day and status, redacted entity types, where the data went (by
provider and jurisdiction), top reasons for no answer, requests by tenant; each figure links
to the search that lists its records."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.console.accounts import READ
from streams.console.app import Console, console_of, in_thread, refusal, render, requires
from streams.console.filters import FilterError, Filters, read_filters
from streams.console.i18n import zone
from streams.services.audit_search import STATUSES, Overview, overview

STATUS_COLOURS = {"answered": "#2e7d32", "blocked": "#c62828", "rejected": "#6d4c41",
                  "failed": "#ef6c00"}
TOP = 10


def register(app: web.Application) -> None:
    app.router.add_get("/", overview_page)


def figures(console: Console, filters: Filters) -> tuple[Overview | None, list[str]]:
    if not audit_log_exists(console.settings):
        return None, []
    with open_audit_reader(console.settings) as reader:
        return (overview(reader, filters.query),
                console.tenants(reader.tenants, time.monotonic()))


def _ranked(counts: dict[str, int], link: str, filters: Filters,
            **also: str) -> list[dict[str, Any]]:
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{"label": name, "count": count,
             "link": "/search?" + filters.link(**{link: name}, **also)} for name, count in top]


def _chart(rows: list[dict[str, Any]], label: str) -> str:
    return json.dumps({"type": "bar", "labels": [r["label"] for r in rows],
                       "datasets": [{"label": label, "data": [r["count"] for r in rows],
                                     "links": [r["link"] for r in rows]}]})


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _by_day(found: Overview, filters: Filters) -> tuple[list[dict[str, Any]], str]:
    days = sorted({day for day, _ in found.by_day_and_status})
    counts = [{s: found.by_day_and_status.get((day, s), 0) for s in STATUSES} for day in days]
    links = [{s: "/search?" + filters.link(kind=s, since=f"{day}T00:00:00Z",
                                           until=f"{_next_day(day)}T00:00:00Z", period=None)
              for s in STATUSES} for day in days]
    rows = [{"day": day, "counts": c, "links": li}
            for day, c, li in zip(days, counts, links, strict=True)]
    chart = {"type": "stacked", "labels": days,
             "datasets": [{"label": s, "colour": STATUS_COLOURS[s],
                           "data": [c[s] for c in counts],
                           "links": [li[s] for li in links]} for s in STATUSES]}
    return rows, json.dumps(chart)


@requires(READ)
async def overview_page(request: web.Request) -> web.StreamResponse:
    params = dict(request.query)
    params.setdefault("period", "7d")
    try:
        filters = read_filters(params, zone(request.cookies.get("tz")))
    except FilterError as problem:
        return refusal(request, 400, problem.diagnostics())
    found, tenants = await in_thread(figures, console_of(request), filters)
    context: dict[str, Any] = {"filters": filters, "tenants": tenants, "found": found,
                               "statuses": STATUSES}
    if found is not None:
        days, day_chart = _by_day(found, filters)
        context |= {"days": days, "day_chart": day_chart}
        for name, counts, link in (("entities", found.by_entity_type, "entity_type"),
                                   ("providers", found.by_provider, "provider"),
                                   ("jurisdictions", found.by_jurisdiction, "jurisdiction"),
                                   ("reasons", found.by_reason, "reason"),
                                   ("by_tenant", found.by_tenant, "tenant")):
            # where the data went: the records of what was sent
            also = {"kind": "forwarded"} if name in ("providers", "jurisdictions") else {}
            rows = _ranked(counts, link, filters, **also)
            context[name] = rows
            context[f"{name}_chart"] = _chart(rows, name)
    return render(request, "overview.html", **context)
