"""What budgets add to a request (issue 17): the decision with and without the tenant's budgets,
the ledger read the admit stage makes for a tenant that has budgets, and the ledger write the
audit store makes in the transaction of each group commit holding answered records.

    .venv/bin/python benchmarks/budgets.py [--rounds 5000] [--appends 2000]

The store figures use a throwaway SQLite audit log in a temporary folder (the default store; the
PostgreSQL ledger is the same statements over the network). Prints the machine's load average,
since the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import yaml
from _timing import per_call_us

from streams.adapters.audit import group_commit
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.policy_files import parse_policy, policy_document
from streams.adapters.signer import load_or_create_signer
from streams.config import project_root
from streams.core import audit_events
from streams.core.audit import AuditEvent
from streams.core.budgets import MonthSpend
from streams.core.decision import decide
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, GovernedRequest

CPU_PER_ANSWER_MS = 57.7  # docs/benchmarks.md, the concurrency table's CPU per answer
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)
TENANT = "city-of-lyon"


def with_budgets() -> tuple[LoadedPolicy, LoadedPolicy]:
    """The shipped policy set, and the same set with two budgets for city-of-lyon (EUR only:
    its rules reach the EUR-priced doors)."""
    document = policy_document(project_root() / "policies")
    plain = parse_policy(yaml.safe_dump(document, sort_keys=False), "shipped.yaml")
    document["budgets"] = [
        {"id": "lyon", "tenant": TENANT, "monthly": 5000, "currency": "EUR",
         "when_exhausted": "route"},
        {"id": "lyon-casework", "tenant": TENANT, "purpose": "casework", "monthly": 500,
         "currency": "EUR", "when_exhausted": "block"}]
    return plain, parse_policy(yaml.safe_dump(document, sort_keys=False), "budgets.yaml")


def answered(n: int, purpose: str) -> AuditEvent:
    return audit_events.answered(
        f"bench-{n}", TENANT, AT + timedelta(microseconds=n), provider="secnumcloud-mistral",
        model="mistral-small-2501", choices=1, failed_over_from=(), streamed=False,
        answer_entities={}, answer_operators={}, blocked_after_streaming=(),
        placeholders_restored=False,
        usage={"input_tokens": 1117, "output_tokens": 46, "estimated": False},
        cost={"amount": "0.000377", "currency": "EUR", "price": {
            "valid_from": "2025-01-01", "currency": "EUR", "input_per_million": "0.30",
            "output_per_million": "0.90"}},
        policy={"name": "bench", "version": 1, "sha256": "ab" * 32}, purpose=purpose)


def append_ms(folder: Path, appends: int, ledger: bool) -> float:
    """Milliseconds per answered record appended one at a time (a commit each: the worst case
    for the ledger's share), with or without the ledger's write."""
    folder.mkdir()
    signer = load_or_create_signer(folder / "k.pem", folder / "k.pub.pem")
    store = open_sqlite_log(folder / f"audit-{ledger}.sqlite3", signer, checkpoint_every=0,
                             checkpoint_interval_s=0)
    skipped = mock.patch.object(group_commit, "add_spend", lambda *_: None)
    try:
        with skipped if not ledger else contextlib.nullcontext():
            start = time.perf_counter()
            for n in range(appends):
                store.append(answered(n, "casework"))
            return (time.perf_counter() - start) / appends * 1000
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    plain, budgeted = with_budgets()
    request = GovernedRequest(id="req-1", tenant=TENANT, purpose="casework", messages=(
        ChatMessage("user", "Résumez la note de service du 3 mars en trois lignes."),))
    detection = Detection("fr", "ner+patterns", ())
    spend = MonthSpend.at(TENANT, AT, {("casework", "EUR"): Decimal("123.456789"),
                                       ("", "EUR"): Decimal("42")})
    steps: dict[str, Callable[[], object]] = {
        "decide, no budgets": lambda: decide(request, detection, plain),
        "decide, two budgets": lambda: decide(request, detection, budgeted, spend=spend),
    }
    print(f"{'step':<34} {'µs':>10}")
    figures = {name: per_call_us(step, args.rounds) for name, step in steps.items()}
    for name, figure in figures.items():
        print(f"{name:<34} {figure:>10.2f}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        signer = load_or_create_signer(root / "r.pem", root / "r.pub.pem")
        store = open_sqlite_log(root / "read.sqlite3", signer, checkpoint_every=0,
                                 checkpoint_interval_s=0)
        store.append_many([answered(n, "casework") for n in range(2000)])
        read = per_call_us(lambda: store.month_spend(TENANT, "2026-11"), args.rounds)
        store.close()
        print(f"{'ledger read (SQLite, per request)':<34} {read:>10.2f}")
        # alternated, each on a new log, median of three: the disk's own noise is larger
        # than the difference looked for
        pairs = [(append_ms(root / f"{n}-off", args.appends, ledger=False),
                  append_ms(root / f"{n}-on", args.appends, ledger=True)) for n in range(3)]
        without = statistics.median(p[0] for p in pairs)
        with_ledger = statistics.median(p[1] for p in pairs)
    print(f"{'append answered, no ledger':<34} {without * 1000:>10.1f}")
    print(f"{'append answered, with ledger':<34} {with_ledger * 1000:>10.1f}")
    added = figures["decide, two budgets"] - figures["decide, no budgets"] + read
    print(f"admit stage adds {added:.1f} µs = {added / (CPU_PER_ANSWER_MS * 1000) * 100:.3f} % "
          f"of the {CPU_PER_ANSWER_MS} ms of CPU one answer costs the worker")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
