"""``douane report``: the transparency and dependence report of a period (``docs/report.md``).

report --since D --until D [--tenant T] --format html|csv|json [--lang fr|en] --out FILE
report ... --verify-records       every record read whole: the reference for the fast path
report --bundle FILE [--keyring K] [--policy P] [--at-size N] ...   the same from evidence
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from streams.adapters.audit.open import audit_log_exists, describe
from streams.adapters.policy_files import load_policy_set
from streams.cli import Commands
from streams.cli.audit import moment, write_atomically
from streams.config import Settings
from streams.core.loaded_policy import LoadedPolicy
from streams.services.report import Period, report_from_bundle, report_from_log
from streams.services.report_formats import LANGUAGES, summary_lines, to_csv, to_html

FORMATS = ("html", "csv", "json")


def register(commands: Commands) -> None:
    report = commands.add_parser(
        "report", help="transparency report of a period: cost per provider, where data went, "
                       "dependence and exit readiness (HTML, CSV or JSON)",
        description="Requests, tokens and cost per provider, model, jurisdiction and hosting; "
                    "the share of personal requests kept in the home jurisdiction; each "
                    "provider's share of traffic and spend, their concentration index, and the "
                    "share of each provider's traffic the policy in force would send elsewhere "
                    "if it disappeared. Named by the signed checkpoint it was computed at.")
    report.add_argument("--since", type=moment,
                        help="from this time, inclusive (RFC 3339, a date, or today, 7d...)")
    report.add_argument("--until", type=moment, help="up to this time, exclusive")
    report.add_argument("--tenant", help="one tenant only (default: every tenant and overall)")
    report.add_argument("--format", choices=FORMATS, help="default: from --out's suffix, else "
                        "html")
    report.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="language of the HTML page (en, fr)")
    report.add_argument("--out", type=Path, help="write the report here (default: print it)")
    report.add_argument("--bundle", type=Path, help="compute it from this evidence bundle "
                        "(douane audit export) instead of the audit log; checked first")
    report.add_argument("--keyring", type=Path, help="with --bundle: the log's keyring to "
                        "trust (default: the bundle's own keys, with a warning)")
    report.add_argument("--policy", type=Path, help="with --bundle: the policy set the log's "
                        "report names (hosting, home jurisdiction, exit readiness)")
    report.add_argument("--at-size", type=int, metavar="N", help="with --bundle: only records "
                        "1 to N, as at the checkpoint of N records a report names")
    report.add_argument("--verify-records", action="store_true",
                        help="read every record of the period whole (parsed and checked "
                        "against the period) instead of the report's facts stored with each "
                        "record (derived, not evidence): the same figures, several times "
                        "slower")
    report.set_defaults(run=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.out.suffix.lower().lstrip(".") if args.out else ""
    return suffix if suffix in FORMATS else "html"


def _progress(count: int) -> None:
    print(f"report: {count:,} records read...", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    period = Period(args.since, args.until, args.tenant)
    if args.bundle is None:
        for option in ("keyring", "policy", "at_size"):
            if getattr(args, option) is not None:
                print(f"report: --{option.replace('_', '-')} goes with --bundle only (from the "
                      "log, the policy is the set in force)", file=sys.stderr)
                return 2
        if not audit_log_exists(settings):
            print(f"report: no audit log at {describe(settings)}", file=sys.stderr)
            return 2
        report = report_from_log(settings, period, _progress, args.verify_records)
        print(f"report: {report['policy']['note']}", file=sys.stderr)
    else:
        if args.verify_records:
            print("report: --verify-records is for the log; from a bundle every record is "
                  "read whole and checked anyway", file=sys.stderr)
            return 2
        policy: LoadedPolicy | None = None
        if args.policy is not None:
            policy = load_policy_set(args.policy)  # a PolicyError is printed by main
        report, verified = report_from_bundle(
            args.bundle, period if (args.since or args.until) else Period(None, None,
                                                                          args.tenant),
            policy, args.keyring, args.at_size, _progress)
        print(f"report: evidence checked -\n{verified}", file=sys.stderr)
    _write(report, _format(args), args.lang, args.out)
    disagreeing = report["figures"]["cost_disagreements"]
    if disagreeing:
        print(f"report: {len(disagreeing)} answer(s) record a cost that differs from their own "
              "usage and price (listed in the report): run 'douane audit verify'",
              file=sys.stderr)
    return 0


def _write(report: dict[str, Any], form: str, language: str, out: Path | None) -> None:
    text = (to_html(report, language) if form == "html" else to_csv(report) if form == "csv"
            else json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    if out is None:
        sys.stdout.write(text)
        return
    write_atomically(out, text)
    checkpoint = report["checkpoint"]
    print("\n".join(summary_lines(report)))
    print(f"report ({form}) -> {out}; computed at "
          + (f"the signed checkpoint of {checkpoint['size']} records"
             if checkpoint else "no signed checkpoint (none could be signed)"))
