"""The ``douane`` command: one entry point for operators, DPOs and developers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from streams.config import load_settings
from streams.errors import DouaneError
from streams.logging_setup import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="douane",
        description="douane: a sovereign data-governance proxy for language models.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kafka = commands.add_parser("kafka", help="manage the local development Kafka broker")
    kafka.add_argument("action", choices=["start", "stop", "status"])

    commands.add_parser("worker", help="run the stream processors against the broker")

    policy = commands.add_parser("policy", help="validate, test, explain and diff policy sets")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True,
                                            metavar="ACTION")
    validate = policy_commands.add_parser(
        "validate", help="check a policy set: schema, references, unreachable rules")
    validate.add_argument("path", nargs="?", help="policy folder or file (default: DOUANE_POLICY)")
    test = policy_commands.add_parser("test", help="run the YAML test cases in PATH/tests/")
    test.add_argument("path", nargs="?", help="policy folder or file (default: DOUANE_POLICY)")
    explain = policy_commands.add_parser("explain", help="explain the decision for one request")
    explain.add_argument("request", help="a request as JSON (as on douane.requests), or a test "
                                         "case {request, entities, unavailable}")
    explain.add_argument("--policy", help="policy folder or file (default: DOUANE_POLICY)")
    diff = policy_commands.add_parser(
        "diff", help="which test cases and recorded decisions a new policy set would change")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--audit-db", help="audit database to replay (default: DOUANE_AUDIT_DB)")
    diff.add_argument("--no-audit", action="store_true", help="compare test cases only")
    diff.add_argument("--limit", type=int, default=50, help="changed records to list")

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

    audit = commands.add_parser("audit", help="inspect and verify the audit log")
    from streams.audit_cli import add_audit_commands

    add_audit_commands(audit)

    from streams.retention_cli import add_retention_commands

    add_retention_commands(commands)

    front = commands.add_parser("front-door", help="run the OpenAI-compatible HTTP endpoint")
    front.add_argument("--port", type=int, default=8080)
    front.add_argument("--host", default="127.0.0.1")
    front.add_argument("--timeout", type=float, default=None,
                       help="seconds to wait for an answer before 504 "
                            "(default DOUANE_FRONT_DOOR_TIMEOUT_S or 60)")

    keys = commands.add_parser("keys", help="API keys of the front door (stored hashed)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add_key = keys_commands.add_parser("add", help="create a key for a tenant; shown once")
    add_key.add_argument("--tenant", required=True)
    add_key.add_argument("--label", default="")
    keys_commands.add_parser("list", help="list key ids and tenants (never the keys)")

    stand_in = commands.add_parser("stand-in", help="run a stand-in provider (for tests/demos)")
    stand_in.add_argument("--kind", choices=["openai-chat", "anthropic", "gemini"],
                          required=True)
    stand_in.add_argument("--port", type=int, required=True)
    stand_in.add_argument("--model", action="append", required=True)
    stand_in.add_argument("--api-key", default=None)

    demo = commands.add_parser("demo", help="run the end-to-end demo (broker must be running)")
    demo.add_argument("--model-port", type=int, default=8088)

    redact = commands.add_parser(
        "redact", help="redact personal data in standard input (try the detector)")
    redact.add_argument("--language", help="language of the text (default: detected)")
    redact.add_argument("--policy", help="policy file (default: DOUANE_POLICY)")
    redact.add_argument("--tenant", help="apply the rules for this tenant")
    redact.add_argument("--classification", help="apply the rules for this classification")
    redact.add_argument("--jsonl", action="store_true",
                        help='read {"text", "language"} per line, write results with offsets')

    bench = commands.add_parser("bench", help="measure detection quality and speed")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    from streams.devtools.bench.pii import add_arguments as add_pii_bench_arguments

    add_pii_bench_arguments(bench_commands.add_parser(
        "pii", help="precision/recall/F2 per entity and language, prompts/s, p50/p99"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Every douane error that reaches the command is printed one way (``streams.errors``)."""
    try:
        return _run(argv)
    except DouaneError as error:
        print(f"douane: {error.diagnostics()}", file=sys.stderr)
        return 2


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()  # a SettingError is printed by main
    configure_logging(settings.log_format)
    if args.command == "kafka":
        from streams.devtools.kafka_broker import run_kafka_command

        return run_kafka_command(args.action, settings)
    if args.command == "policy":
        from pathlib import Path

        from streams import policy_cli

        default = settings.policy_path
        if args.policy_command == "validate":
            return policy_cli.run_validate(Path(args.path) if args.path else default)
        if args.policy_command == "test":
            return policy_cli.run_test(Path(args.path) if args.path else default)
        if args.policy_command == "explain":
            return policy_cli.run_explain(Path(args.request),
                                          Path(args.policy) if args.policy else default)
        audit_db = None if args.no_audit else (
            Path(args.audit_db) if args.audit_db else settings.audit_db)
        return policy_cli.run_diff(Path(args.old), Path(args.new), audit_db, args.limit)
    if args.command == "worker":
        from streams.worker import run_worker

        return run_worker(settings)
    if args.command == "model-server":
        from streams.devtools.model_server import audit_checker, serve

        checker = audit_checker(settings.audit_db, settings.public_key) if args.check_audit \
            else None
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.port, checker, host=args.host,
                              chunk_delay_s=args.chunk_delay_ms / 1000,
                              latency_s=args.latency_ms / 1000))
        return 0
    if args.command == "audit":
        from streams.audit_cli import run_audit

        return run_audit(args, settings)
    if args.command in ("retention", "erasure", "subject-access", "hold"):
        from streams.retention_cli import run_retention_command

        return run_retention_command(args, settings)
    if args.command in ("front-door", "keys", "stand-in"):
        from streams.front_door.cli import run_front_door_command

        return run_front_door_command(args, settings)
    if args.command == "demo":
        from streams.devtools.demo import run_demo

        return asyncio.run(run_demo(settings, model_port=args.model_port))
    if args.command == "redact":
        from streams.redact_cli import run_redact

        return run_redact(settings, language=args.language, policy_path=args.policy,
                          tenant=args.tenant, classification=args.classification,
                          jsonl=args.jsonl)
    if args.command == "bench":
        from streams.devtools.bench.pii import run_pii_bench

        return run_pii_bench(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
