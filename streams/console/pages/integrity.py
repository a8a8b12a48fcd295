"""Integrity: the latest signed checkpoint, its witness cosignatures and age; a full
verification of the log started here (auditor, dpo), its progress polled by the page, its
result kept for the next visitor and recorded in the audit log."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from streams.console.accounts import READ, VERIFY, Session
from streams.console.app import (
    Console,
    console_of,
    in_thread,
    render,
    requires,
    session_of,
)
from streams.services.verification import age_s, checkpoint_state, verify_log

BACKGROUND: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("verifications", set)


def register(app: web.Application) -> None:
    app[BACKGROUND] = set()
    app.router.add_get("/integrity", integrity_page)
    app.router.add_get("/integrity/progress", progress)
    app.router.add_post("/integrity/verify", start_verification)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d"


@requires(READ)
async def integrity_page(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    state = await in_thread(checkpoint_state, console.settings)
    return render(request, "integrity.html", state=state,
                  age=_age(age_s(state.issued_at)) if state else None,
                  job=console.verification)


@requires(READ)
async def progress(request: web.Request) -> web.StreamResponse:
    return render(request, "integrity_progress.html", job=console_of(request).verification)


def _run(console: Console, session: Session) -> None:
    job = console.verification

    def told(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        result = verify_log(console.settings, told)
        # recorded before it is shown: whoever sees the result can find its record
        console.record(session, "verify", None, {
            "ok": result.ok, "records_checked": result.records_checked,
            "checkpoints_checked": result.checkpoints_checked, "problem": result.problem})
        job.result, job.finished_at = result, time.time()
    finally:
        job.running = False


@requires(VERIFY)
async def start_verification(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    job = console.verification
    if not job.running:
        job.running, job.done, job.total = True, 0, 0
        job.started_by, job.started_at = session_of(request).account.name, time.time()
        task = asyncio.create_task(asyncio.to_thread(_run, console, session_of(request)))
        request.app[BACKGROUND].add(task)
        task.add_done_callback(request.app[BACKGROUND].discard)
    if request.headers.get("HX-Request"):
        return render(request, "integrity_progress.html", job=job)
    raise web.HTTPSeeOther("/integrity")
