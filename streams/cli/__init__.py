"""The ``douane`` command: one entry point for operators, DPOs and developers.

One module per command group, each registering its subcommands (``register(commands)``) and
the function that runs them (``set_defaults(run=...)``); ``main`` assembles them. The modules
parse and print; the work is done by ``streams/services/``, the runtime and the devtools.

kafka        douane kafka start|stop|status|users     (the local broker: devtools)
worker       douane worker
front_door   douane front-door, douane keys add|list
policy       douane policy validate|test|explain|diff
audit        douane audit verify|query|prove|export|checkpoint|rotate-key  (+ witness)
witness      douane audit witness init, douane audit cosign, verify's quorum options
report       douane report (transparency: cost, where data went, dependence)
retention    douane retention run|status, erasure request, subject-access, subject, hold
redact       douane redact
console      douane console, douane console users add|list|remove
stand_ins    douane model-server, douane stand-in     (devtools)
demo         douane demo                              (devtools)
bench        douane bench pii                         (devtools)
models       douane models fetch corenlp, build en-web-ner  (opt-in tiers' model files)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from streams.config import Settings, load_settings
from streams.errors import DouaneError
from streams.logging_setup import configure_logging

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Run: TypeAlias = Callable[[argparse.Namespace, Settings], int]


def _parser() -> argparse.ArgumentParser:
    from streams.cli import (
        audit,
        bench,
        console,
        demo,
        front_door,
        kafka,
        models,
        policy,
        redact,
        report,
        retention,
        stand_ins,
        worker,
    )

    parser = argparse.ArgumentParser(
        prog="douane",
        description="douane: a sovereign data-governance proxy for language models.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (kafka, worker, policy, stand_ins, audit, report, retention, front_door, console,
                  demo, redact, bench, models):
        group.register(commands)
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
    run: Run = args.run
    return run(args, settings)
