"""``douane kafka start|stop|status``: the local development broker (``streams/devtools``)."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    kafka = commands.add_parser("kafka", help="manage the local development Kafka broker")
    kafka.add_argument("action", choices=["start", "stop", "status"])
    kafka.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.kafka_broker import run_kafka_command

    return run_kafka_command(args.action, settings)
