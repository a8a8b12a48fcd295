"""``douane worker``: the stream processors (``streams/worker.py`` assembles them)."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    worker = commands.add_parser("worker", help="run the stream processors against the broker")
    worker.set_defaults(run=run)


def run(_: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import run_worker

    return run_worker(settings)
