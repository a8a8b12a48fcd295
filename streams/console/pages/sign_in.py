"""Sign in and out. A failed sign-in never says whether the account exists."""

from __future__ import annotations

import secrets

from aiohttp import web

from streams.console.accounts import SESSION_S, SignIn
from streams.console.app import (
    LOGIN_CSRF_COOKIE,
    SESSION,
    SESSION_COOKIE,
    console_of,
    in_thread,
    render,
)


def register(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


def _login_form(request: web.Request, status: int = 200, problem: str | None = None,
                locked_until: float | None = None) -> web.Response:
    # kept while the browser has one: a second tab (or a favicon fetched through the sign-in
    # redirect) must not invalidate the form already shown
    kept = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = kept if len(kept) == 43 and kept.isascii() else secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, login_csrf=token, problem=problem,
                      locked_until=locked_until)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        secure=console_of(request).secure_cookies, path="/login")
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if request.get(SESSION) is not None:
        raise web.HTTPSeeOther("/")
    return _login_form(request)


async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    outcome: SignIn = await in_thread(console.accounts.sign_in, name, password)
    if outcome.token is None:
        if outcome.locked_until is not None:
            return _login_form(request, 429, "Too many failed attempts: this account is "
                               "locked until", outcome.locked_until)
        return _login_form(request, 401, "Wrong account or password.")
    response = web.HTTPSeeOther("/")
    response.set_cookie(SESSION_COOKIE, outcome.token, httponly=True, samesite="Strict",
                        secure=console.secure_cookies, max_age=SESSION_S, path="/")
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await in_thread(console_of(request).accounts.sign_out, token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
