"""``douane bench pii``: detection quality and speed (``streams/devtools/bench/``)."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    from streams.devtools.bench.pii import add_arguments

    bench = commands.add_parser("bench", help="measure detection quality and speed")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    pii = bench_commands.add_parser(
        "pii", help="precision/recall/F2 per entity and language, prompts/s, p50/p99")
    add_arguments(pii)
    pii.set_defaults(run=run_pii)


def run_pii(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.bench.pii import run_pii_bench

    return run_pii_bench(args, settings)
