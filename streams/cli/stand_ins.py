"""``douane model-server`` and ``douane stand-in``: stand-in providers for tests and the demo
(``streams/devtools/``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    model = commands.add_parser("model-server", help="run the stand-in model provider")
    model.add_argument("--port", type=int, default=8088)
    model.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    model.add_argument("--check-audit", action="store_true",
                       help="refuse any request whose signed audit record is not already stored "
                            "(uses DOUANE_AUDIT_DB and its public key)")
    model.add_argument("--chunk-delay-ms", type=float, default=0.0,
                       help="pause between the pieces of a streamed answer")
    model.add_argument("--latency-ms", type=float, default=0.0,
                       help="wait before every answer (the first piece of a streamed one), "
                            "like a real model; many requests wait at once")
    model.set_defaults(run=run_model_server)

    stand_in = commands.add_parser("stand-in", help="run a stand-in provider (for tests/demos)")
    stand_in.add_argument("--kind", choices=["openai-chat", "anthropic", "gemini"],
                          required=True)
    stand_in.add_argument("--port", type=int, required=True)
    stand_in.add_argument("--model", action="append", required=True)
    stand_in.add_argument("--api-key", default=None)
    stand_in.set_defaults(run=run_stand_in)


def run_model_server(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.model_server import audit_checker, serve

    checker = audit_checker(settings.audit_db, settings.public_key) if args.check_audit \
        else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, checker, host=args.host,
                          chunk_delay_s=args.chunk_delay_ms / 1000,
                          latency_s=args.latency_ms / 1000))
    return 0


def run_stand_in(args: argparse.Namespace, _: Settings) -> int:
    from streams.devtools.stand_ins.server import serve

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.kind, args.port, tuple(args.model), args.api_key))
    return 0
