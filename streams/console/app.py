"""The console's web application: sessions, CSRF, roles, rendering, and the pages' routes.

Every page but sign-in needs a session (a cookie: HttpOnly, SameSite=Strict, Secure unless
the console listens on loopback). Every POST carries the session's CSRF token (a hidden
``csrf`` field, or the ``X-CSRF-Token`` header htmx sends) or is refused with 403 before any
page sees it. A page states the permission it needs (:func:`requires`); a role without it gets
403. Pages parse and render only: what they show or do comes from ``streams/services/``.

Nothing personal goes in a URL (subject lookups are POSTs) or in the logs: the access log is
off, and the console logs account names, actions and record ids only.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
import structlog
from aiohttp import web

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.config import Settings
from streams.console import assets, i18n
from streams.console.accounts import AccountStore, Session, same_token
from streams.core import audit_events
from streams.services.audit_log import append_record, open_writer

log = structlog.get_logger(__name__)

SESSION_COOKIE = "douane_session"
LOGIN_CSRF_COOKIE = "douane_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC_PREFIXES = ("/login", "/static/", "/lang/", "/healthz", "/favicon.ico")
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

TENANTS_KEPT_S = 60.0  # a new tenant shows in the filters' lists within a minute
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class VerificationJob:
    """The integrity page's full verification: at most one at a time, its result kept."""

    running: bool = False
    done: int = 0
    total: int = 0
    started_by: str | None = None
    started_at: float | None = None
    result: Any = None  # streams.services.verification.Verification of the last run
    finished_at: float | None = None


@dataclass
class Console:
    settings: Settings
    accounts: AccountStore
    secure_cookies: bool
    verification: VerificationJob = field(default_factory=VerificationJob)
    templates: jinja2.Environment = field(default_factory=lambda: jinja2.Environment(
        loader=jinja2.PackageLoader("streams.console", "templates"),
        autoescape=True))

    tenants_cache: tuple[float, list[str]] = (float("-inf"), [])
    _writer: GroupCommitLog | None = None
    _writer_lock: threading.Lock = field(default_factory=threading.Lock)

    def audit_writer(self) -> GroupCommitLog:
        """The process's one audit writer, signing with the DPO tools' key: opened on first
        use (in a store thread, never on the event loop), then shared by every action the
        console records or performs (appends from several threads share its group commits).
        It picks up a key another process rotated (``douane audit rotate-key``), as each
        action's own writer did."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = open_writer(self.settings, follow_rotation=True)
            return self._writer

    def close(self) -> None:
        """Close the audit writer, if one was opened."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def tenants(self, read: Callable[[], list[str]], now: float) -> list[str]:
        """The tenants the log names, for the filters' lists: read again after
        :data:`TENANTS_KEPT_S` (a scan of the tenant column, 0.2 s at a million records)."""
        read_at, tenants = self.tenants_cache
        if now - read_at >= TENANTS_KEPT_S:
            tenants = read()
            self.tenants_cache = (now, tenants)
        return tenants

    def record(self, session: Session, action: str, tenant: str | None,
               about: Mapping[str, Any]) -> str:
        """A ``console_access`` audit record of ``session``'s account doing ``action``."""
        record_id = append_record(self.audit_writer(), functools.partial(
            audit_events.console_access, session.account.name, session.account.role,
            action, tenant, about))
        log.info("console action", account=session.account.name, action=action,
                 audit_record=record_id)
        return record_id


CONSOLE: web.AppKey[Console] = web.AppKey("console", Console)
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- rendering


def language(request: web.Request) -> str:
    return i18n.pick_language(request.cookies.get("lang"),
                              request.headers.get("Accept-Language"))


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    console = console_of(request)
    lang = language(request)
    where = i18n.zone(request.cookies.get("tz"))
    session = request.get(SESSION)
    text = console.templates.get_template(template).render(
        _=functools.partial(i18n.translate, lang), lang=lang,
        when=functools.partial(i18n.local_time, where=where), zone=str(where),
        session=session, csrf=session.csrf if session else "", path=request.path,
        may=(lambda permission: session is not None and session.account.may(permission)),
        **context)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def refusal(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "refused.html", status=status, message=message)


# --------------------------------------------------------------------------- middlewares


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    protect(request, response)
    return response


def protect(request: web.Request, response: web.StreamResponse) -> None:
    """The security headers of every answer; a streamed answer sets them itself before it
    starts (its headers are sent by then)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def sessions_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    console = console_of(request)
    session = console.accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        request[SESSION] = session
    public = request.path == "/login" or request.path.startswith(PUBLIC_PREFIXES[1:])
    if request.method == "POST":
        form = await request.post()
        given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        token = given if isinstance(given, str) else None
        expected = (session.csrf if session is not None and request.path != "/login"
                    else request.cookies.get(LOGIN_CSRF_COOKIE))
        if expected is None or not same_token(token, expected):
            log.warning("console form refused: no valid CSRF token", path=request.path,
                        account=session.account.name if session else None)
            return refusal(request, 403, "This form was not sent by a page of this console "
                           "(its security token is missing or out of date). Nothing was done. "
                           "Reload the page and try again.")
    if session is None and not public:
        if request.headers.get("HX-Request"):
            return web.Response(status=401, headers={"HX-Redirect": "/login"})
        raise web.HTTPSeeOther("/login")
    return await handler(request)


def requires(permission: str) -> Callable[[Handler], Handler]:
    """The page needs ``permission`` (``streams.console.accounts.PERMISSIONS``): 403 else."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            session = request.get(SESSION)
            if session is None or not session.account.may(permission):
                return refusal(request, 403, "Your role does not allow this page.")
            return await handler(request)
        return checked
    return wrap


def session_of(request: web.Request) -> Session:
    return request[SESSION]


async def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Stores are blocking: their work runs off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


# --------------------------------------------------------------------------- assembly


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def set_language(request: web.Request) -> web.Response:
    chosen = request.match_info["lang"]
    response = web.HTTPSeeOther(_same_site(request.headers.get("Referer")) or "/")
    if chosen in i18n.LANGUAGES:
        response.set_cookie("lang", chosen, max_age=365 * 86400, httponly=True,
                            samesite="Strict", secure=console_of(request).secure_cookies)
    raise response


def _same_site(referer: str | None) -> str | None:
    """The path of a referring page of this console (never another site)."""
    from urllib.parse import urlsplit

    if not referer:
        return None
    parts = urlsplit(referer)
    return (parts.path + (f"?{parts.query}" if parts.query else "")) or None


def create_app(settings: Settings, accounts: AccountStore, *,
               secure_cookies: bool) -> web.Application:
    from streams.console.pages import PAGES

    app = web.Application(middlewares=[security_headers, sessions_and_csrf])
    console = Console(settings, accounts, secure_cookies)
    app[CONSOLE] = console

    async def close_writer(_: web.Application) -> None:
        await asyncio.to_thread(console.close)

    app.on_cleanup.append(close_writer)
    app.router.add_get("/healthz", health)
    app.router.add_get("/lang/{lang}", set_language)
    assets.register(app)
    for page in PAGES:
        page.register(app)
    return app
