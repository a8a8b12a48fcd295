"""Policies: the set in force (name, version, hash, since when, as the audit log records it),
the history of ``policy_changed`` records, and two recorded versions compared file by file."""

from __future__ import annotations

from aiohttp import web

from streams.config import Settings
from streams.console.accounts import READ
from streams.console.app import console_of, in_thread, render, requires
from streams.services.policy_in_force import (
    PolicyChange,
    PolicyInForce,
    compare_files,
    policy_changes,
    policy_in_force,
)


def register(app: web.Application) -> None:
    app.router.add_get("/policies", policies_page)


def _read(settings: Settings) -> tuple[PolicyInForce, list[PolicyChange]]:
    return policy_in_force(settings), policy_changes(settings)


@requires(READ)
async def policies_page(request: web.Request) -> web.StreamResponse:
    in_force, history = await in_thread(_read, console_of(request).settings)
    by_id = {change.record_id: change for change in history}
    older, newer = by_id.get(request.query.get("a", "")), by_id.get(request.query.get("b", ""))
    differences = None
    if older is not None and newer is not None:
        differences = compare_files(older, newer)
    return render(request, "policies.html", in_force=in_force, history=history,
                  older=older, newer=newer, differences=differences)
