"""``douane kafka start|stop|status|users``: the local development broker (``streams/devtools``)."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    kafka = commands.add_parser(
        "kafka", help="manage the local development Kafka broker (SASL_SSL, ACLs)",
        description="start|stop|status the local broker; `users add|remove TENANT` and "
        "`users list` manage the principals of tenants added to the policy later")
    kafka.add_argument("action", choices=["start", "stop", "status", "users"])
    kafka.add_argument("verb", nargs="?", choices=["add", "list", "remove"],
                       help="for `users`: add, list or remove")
    kafka.add_argument("tenant", nargs="?", help="for `users add|remove`: the tenant id")
    kafka.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.kafka_broker import run_kafka_command, run_users_command

    if args.action == "users":
        return run_users_command(args.verb, args.tenant, settings)
    return run_kafka_command(args.action, settings)
