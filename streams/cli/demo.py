"""``douane demo``: the end-to-end demo (``streams/devtools/demo.py``)."""

from __future__ import annotations

import argparse
import asyncio

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="run the end-to-end demo (broker must be running)")
    demo.add_argument("--model-port", type=int, default=8088)
    demo.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.demo import run_demo

    return asyncio.run(run_demo(settings, model_port=args.model_port))
