"""People (dpo only): subject access (a POST: the value typed never enters a URL), erasure
with a confirmation that shows what will be destroyed, legal holds, retention status.

The value a DPO types is fingerprinted at once; pages and forms carry fingerprints after that.
Every lookup and change is a ``console_access`` audit record naming the account (the erasure
and hold records also name it as who asked); none holds a personal value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.key_store import KeyStore, SubjectHeldError
from streams.config import Settings
from streams.console.accounts import PEOPLE, Session
from streams.console.app import (
    Console,
    console_of,
    in_thread,
    refusal,
    render,
    requires,
    session_of,
)
from streams.core.fingerprint import FINGERPRINT
from streams.services.erasure import (
    ErasurePlan,
    ErasureRefusedError,
    beyond_reach,
    erase_person,
    plan_erasure,
)
from streams.services.persons import known_fingerprints, person_holds
from streams.services.policy_in_force import policy_in_force
from streams.services.retention import place_hold, release_hold, unknown_tenant
from streams.services.stores import open_stores
from streams.services.subject_access import subject_access

MAX_FIELD = 512


def register(app: web.Application) -> None:
    app.router.add_get("/people", people_page)
    app.router.add_post("/people/access", access)
    app.router.add_post("/people/erasure/plan", erasure_plan)
    app.router.add_post("/people/erasure", erasure)
    app.router.add_post("/people/holds", add_hold)
    app.router.add_post("/people/holds/release", remove_hold)


def by(session: Session) -> str:
    """Who asked, for the records of the services: the console's account."""
    return f"{session.account.name} (douane console)"


@dataclass(frozen=True)
class Status:
    tenants: list[str]
    holds: list[Any]
    periods: list[Any]


def _status(settings: Settings) -> Status:
    policy = policy_in_force(settings)
    with open_stores(settings) as (keys, vault):
        tenants = set(keys.tenants()) | (set(policy.loaded.policy.tenant_ids)
                                         if policy.loaded else set())
        return Status(sorted(tenants), keys.holds(), keys.status(person_holds(keys, vault)))


async def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    found = await in_thread(_status, console_of(request).settings)
    return render(request, "people.html", status=status, tenants=found.tenants,
                  holds=found.holds, periods=found.periods, **context)


@requires(PEOPLE)
async def people_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _field(form: Any, name: str, required: bool = True) -> str:
    value = str(form.get(name, "")).strip()
    if (required and not value) or len(value) > MAX_FIELD:
        raise ValueError(name)
    return value


def _known_tenant(settings: Settings, keys: KeyStore, tenant: str) -> str | None:
    return unknown_tenant(policy_in_force(settings).loaded, keys, tenant)


# --------------------------------------------------------------------------- subject access


def _access(settings: Settings, tenant: str, value: str) -> dict[str, Any] | str:
    with open_stores(settings) as (keys, vault):
        problem = _known_tenant(settings, keys, tenant)
        if problem is not None:
            return problem
        asked = known_fingerprints(keys, vault, tenant, value)
        if audit_log_exists(settings):
            with open_audit_reader(settings) as reader:
                return subject_access(vault, reader, tenant, asked, holds=keys.holds())
        return subject_access(vault, None, tenant, asked, holds=keys.holds())


@requires(PEOPLE)
async def access(request: web.Request) -> web.StreamResponse:
    console, form = console_of(request), await request.post()
    try:
        tenant, value = _field(form, "tenant"), _field(form, "value")
    except ValueError as missing:
        return refusal(request, 400, f"subject access: the field {missing} is missing or "
                                     "too long")
    found = await in_thread(_access, console.settings, tenant, value)
    if isinstance(found, str):
        return await _page(request, 400, problem=found)
    await in_thread(console.record, session_of(request), "subject-access", tenant, {
        "subject_fingerprint": found["subject_fingerprint"],
        "values_shown": len(found["values"]), "decisions_shown": len(found["decisions"])})
    fingerprints = [i["subject_fingerprint"] for i in found["person"]["identifiers"]
                    if i["link"] == "asked"]
    return await _page(request, access=found, tenant=tenant, fingerprints=fingerprints)


# --------------------------------------------------------------------------- erasure


def _fingerprints(form: Any) -> list[str]:
    given = [str(v) for v in form.getall("subject", [])]
    if not given or not all(FINGERPRINT.fullmatch(v) for v in given):
        raise ValueError("subject")
    return given


def _plan(settings: Settings, tenant: str, asked: list[str]
          ) -> tuple[ErasurePlan, list[str]] | str:
    policy = policy_in_force(settings)
    with open_stores(settings) as (keys, vault):
        problem = _known_tenant(settings, keys, tenant)
        if problem is not None:
            return problem
        plan = plan_erasure(keys, vault, tenant, asked)
        return plan, beyond_reach(policy.loaded, tenant, settings.topic_layout,
                                  plan.last_stored_at)


@requires(PEOPLE)
async def erasure_plan(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        tenant, asked = _field(form, "tenant"), _fingerprints(form)
    except ValueError as missing:
        return refusal(request, 400, f"erasure: the field {missing} is missing or not a "
                                     "fingerprint")
    planned = await in_thread(_plan, console_of(request).settings, tenant, asked)
    if isinstance(planned, str):
        return await _page(request, 400, problem=planned)
    plan, reach = planned
    return render(request, "erasure.html", plan=plan, reach=reach, tenant=tenant, asked=asked)


def _erase(console: Console, session: Session, tenant: str, asked: list[str], reason: str,
           case: str | None) -> dict[str, Any]:
    settings, audit = console.settings, console.audit_writer()
    policy = policy_in_force(settings)
    with open_stores(settings) as (keys, vault):
        plan = plan_erasure(keys, vault, tenant, asked)
        try:
            report = erase_person(keys, vault, audit, plan, reason, case=case,
                                  requested_by=by(session), policy=policy.reference)
        except (SubjectHeldError, ErasureRefusedError) as refused:
            return {"refused": refused.diagnostics()}
        return {"keys": len(report.destroyed.keys), "pruned": report.pruned,
                "record_id": report.record_id, "identifiers": len(report.subjects) or 1}


@requires(PEOPLE)
async def erasure(request: web.Request) -> web.StreamResponse:
    console, form = console_of(request), await request.post()
    try:
        tenant, asked = _field(form, "tenant"), _fingerprints(form)
        reason = _field(form, "reason")
        case = _field(form, "case", required=False) or None
    except ValueError as missing:
        return refusal(request, 400, f"erasure: the field {missing} is missing or wrong")
    done = await in_thread(_erase, console, session_of(request), tenant, asked, reason, case)
    await in_thread(console.record, session_of(request), "erasure", tenant, {
        "subject_fingerprint": asked[0], "case": case,
        "outcome": "refused" if "refused" in done else done["record_id"]})
    return render(request, "erased.html", done=done, tenant=tenant)


# --------------------------------------------------------------------------- holds


def _hold(console: Console, tenant: str, value: str | None,
          reason: str) -> tuple[str | None, str | None]:
    """(the new hold's id, None) or (None, why not)."""
    settings, audit = console.settings, console.audit_writer()
    with open_stores(settings) as (keys, vault):
        problem = _known_tenant(settings, keys, tenant)
        if problem is not None:
            return None, problem
        subject = known_fingerprints(keys, vault, tenant, value)[0] if value else None
        return place_hold(keys, audit, tenant, subject, reason).hold_id, None


@requires(PEOPLE)
async def add_hold(request: web.Request) -> web.StreamResponse:
    console, form = console_of(request), await request.post()
    try:
        tenant, reason = _field(form, "tenant"), _field(form, "reason")
        value = _field(form, "value", required=False) or None
    except ValueError as missing:
        return refusal(request, 400, f"hold: the field {missing} is missing or too long")
    hold_id, problem = await in_thread(_hold, console, tenant, value, reason)
    if hold_id is None:
        return await _page(request, 400, problem=problem)
    await in_thread(console.record, session_of(request), "hold-placed", tenant,
                    {"hold_id": hold_id, "reason": reason})
    raise web.HTTPSeeOther("/people")


def _release(console: Console, hold_id: str) -> bool:
    audit = console.audit_writer()
    with open_stores(console.settings) as (keys, _vault):
        return release_hold(keys, audit, hold_id) is not None


@requires(PEOPLE)
async def remove_hold(request: web.Request) -> web.StreamResponse:
    console, form = console_of(request), await request.post()
    hold_id = str(form.get("hold_id", ""))[:64]
    if await in_thread(_release, console, hold_id):
        await in_thread(console.record, session_of(request), "hold-released", None,
                        {"hold_id": hold_id})
    raise web.HTTPSeeOther("/people")

