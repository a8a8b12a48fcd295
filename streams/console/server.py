"""Serving the console until the process is stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import asyncio
import signal
import ssl

from aiohttp import web

from streams.config import Settings
from streams.console.accounts import AccountStore
from streams.console.app import create_app, is_loopback


async def run_server(settings: Settings, accounts: AccountStore, host: str, port: int,
                     tls: ssl.SSLContext | None = None) -> int:
    app = create_app(settings, accounts, secure_cookies=not is_loopback(host))
    runner = web.AppRunner(app, access_log=None)  # URLs stay out of the logs
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    scheme = "https" if tls else "http"
    print(f"douane console on {scheme}://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
