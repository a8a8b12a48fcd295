"""How long ``douane report`` takes over a large audit log (issue 17: under 10 s for a million
records).

    python benchmarks/report_million.py [--records 1000000] [--dir PATH]

Writes a log of about ``--records`` records into ``--dir`` (default: a fresh temporary folder)
through the real append path (signed, chained, committed by the group-commit writer, a
checkpoint every 1 000 records, as a worker does), unless ``--dir`` already holds one that
large: generating a million records takes minutes, measuring the report does not. The traffic
is the shipped policy's (``policies/``): its tenants, classifications public to sensitive, 0 to
3 findings of its entity types at random places, prompts of 20 to 6 000 characters, each
request decided by the policy (so the recorded provider and fallbacks are the policy's), then
forwarded and answered with usage and cost (a blocked request writes one record, a forwarded
one three).

Prints, each timed on its own: reading the records whole (``query``, JSON: the reference
path), reading what the report reads (the report facts stored at append as plain columns;
of records without them, the fields picked out by SQLite), the figures from them, the
whole report from the log (``douane report``: fields, figures, exit-readiness replays, the
checkpoint), the same with every record read whole (``--verify-records``) and whether both
give the same figures (it stops if not), and writing it as JSON, CSV and HTML, each in
wall-clock and CPU seconds (and CPU seconds per million records); the load average first
(the machine is shared: the wall clock varies with it). ``--fast-only`` skips the whole
records. ``--fill-facts`` first times a writer opening the log: on a log written before the
report's facts were stored (a copy of one), it fills them in.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.adapters.audit.open import open_audit_reader
from streams.adapters.audit.protocols import AuditQuery
from streams.adapters.policy_files import load_policy_set
from streams.config import Settings, load_settings, project_root
from streams.core.audit import AuditEvent
from streams.core.decision import evaluate
from streams.core.keyring import WORKER
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import Finding
from streams.core.pricing import usage_and_cost
from streams.core.transparency import (
    DETAIL_FIELDS,
    MISSING,
    NAMED_KINDS,
    PRESENCE_MATTERS,
    tally_report,
)
from streams.core.usage import TokenUsage
from streams.services.audit_log import open_writer
from streams.services.report import Period, report_from_log
from streams.services.report_formats import to_csv, to_html

BATCH = 512
START = datetime(2026, 10, 1, tzinfo=UTC)
CLASSES = ("public", "internal", "personal", "sensitive")


def request_events(loaded: LoadedPolicy, n: int, rng: random.Random) -> list[AuditEvent]:
    tenant = rng.choice(sorted(loaded.tenants))
    chars = rng.randint(20, 6000)
    types = sorted(loaded.policy.entity_types)
    findings = []
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        start = rng.randint(0, max(0, chars - 20))
        findings.append(Finding(0, rng.choice(types), start, start + rng.randint(3, 19),
                                round(rng.uniform(0.3, 1.0), 3)))
    classification = rng.choice(CLASSES)
    verdict = evaluate(loaded, tenant=tenant, purpose=None, classification=classification,
                       model=None, prompt_chars=chars, detection_method="ner+patterns",
                       language="fr", findings=findings, keys_available=True)
    at = START + timedelta(seconds=n * 2)
    rid = f"req-{n}"
    provider = verdict.provider
    details: dict[str, Any] = {
        "decision": verdict.outcome, "classification": verdict.classification,
        "requested_classification": classification, "purpose": None,
        "policy": loaded.reference, "provider": provider.id if provider else None,
        "provider_jurisdiction": provider.jurisdiction if provider else None,
        "fallbacks": [p.id for p in verdict.fallbacks], "model": verdict.model,
        "requested_model": None, "language": "fr", "detection": "ner+patterns",
        "prompt_chars": chars,
        "entities": {f.entity_type: 1 for f in verdict.findings},
        "findings": [{"message": f.message_index, "type": f.entity_type, "start": f.start,
                      "end": f.end, "score": f.score} for f in findings],
        "reasons": [r.as_json() for r in verdict.reasons]}
    if provider is None:
        return [AuditEvent(f"{rid}/blocked", "blocked", rid, tenant, at, details)]
    usage = TokenUsage(chars // 4, rng.randint(20, 800))
    return [
        AuditEvent(f"{rid}/admitted", "admitted", rid, tenant, at, details),
        AuditEvent(f"{rid}/forwarded/{provider.id}", "forwarded", rid, tenant, at,
                   {"provider": provider.id, "jurisdiction": provider.jurisdiction,
                    "model": verdict.model, "admitted_record": f"{rid}/admitted"}),
        AuditEvent(f"{rid}/answered", "answered", rid, tenant, at + timedelta(seconds=1),
                   {"provider": provider.id, "model": verdict.model,
                    **usage_and_cost(provider, verdict.model, usage, at)}),
    ]


def generate(settings: Settings, loaded: LoadedPolicy, records: int) -> None:
    rng = random.Random(17)
    started, written, n = time.perf_counter(), 0, 0
    with open_writer(settings, WORKER) as log:
        written = log.size()
        if written >= records:
            print(f"the log already holds {written:,} records: used as it is")
            return
        while written < records:
            batch: list[AuditEvent] = []
            while len(batch) < BATCH:
                batch.extend(request_events(loaded, n, rng))
                n += 1
            log.append_many(batch)
            written += len(batch)
            if written % 100_000 < len(batch):
                print(f"  {written:,} records written ({time.perf_counter() - started:.0f} s)",
                      flush=True)
    print(f"generated {written:,} records in {time.perf_counter() - started:.0f} s")


def timed(label: str, records: int, action: Any) -> Any:
    """Wall clock and this process's CPU time: on a shared machine the CPU time is what the
    work costs, the wall clock what waiting for the cores adds."""
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<50} wall {elapsed:7.2f} s, CPU {used:7.2f} s "
          f"({used * 1_000_000 / records:6.1f} s CPU per million records)", flush=True)
    return result


def fill_facts(settings: Settings, size: int) -> None:
    """Time a writer opening a log written before the report's facts were stored: it fills
    them in (``GroupCommitLog.catch_up_report_facts``) before it appends."""
    def open_and_close() -> None:
        with open_writer(settings, WORKER):
            pass
    timed("a writer opens the log (filling the report's facts)", size, open_and_close)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--fast-only", action="store_true",
                        help="skip reading every record whole (the slow reference)")
    parser.add_argument("--fill-facts", action="store_true",
                        help="first time a writer opening the log (on a log written before "
                             "the report's facts were stored: filling them in)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="douane-report-"))
    policy_path = project_root() / "policies"
    settings = load_settings({**os.environ, "DOUANE_HOME": str(folder),
                              "DOUANE_KEYS_DIR": str(folder / "keys"),
                              "DOUANE_POLICY": str(policy_path)})
    loaded = load_policy_set(policy_path)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; log in {folder}")
    if args.fill_facts:
        with open_audit_reader(settings) as reader:
            fill_facts(settings, reader.size())
    generate(settings, loaded, args.records)
    with open_audit_reader(settings) as reader:
        size = reader.size()
        if not args.fast_only:
            timed("reading the records whole (query, JSON)", size,
                  lambda: sum(1 for _ in reader.query(AuditQuery())))
        stored = reader.report_facts_stored()
        print(f"  the report's facts are stored for records 1..{stored:,} of {size:,}")

        def read_all() -> int:
            rows = reader.read_report(DETAIL_FIELDS, PRESENCE_MATTERS, None, None, None,
                                      MISSING, NAMED_KINDS)
            return sum(1 for _ in rows.facts) + sum(1 for _ in rows.records)

        def tally_all() -> Any:
            rows = reader.read_report(DETAIL_FIELDS, PRESENCE_MATTERS, None, None, None,
                                      MISSING, NAMED_KINDS)
            return tally_report(rows.facts, rows.records, loaded, whole=rows.whole)

        timed("reading the report's facts (plain columns)", size, read_all)
        tally = timed("reading the facts and the figures (no checkpoint)", size, tally_all)
    print(f"  {tally.replayed:,} replays for "
          f"{sum(e.routed for e in tally.scopes['overall'].exits.values()):,} decisions routed")
    report = timed("the report from the log (douane report)", size,
                   lambda: report_from_log(settings, Period(None, None)))
    if not args.fast_only:
        whole = timed("the report, records read whole (--verify-records)", size,
                      lambda: report_from_log(settings, Period(None, None),
                                              verify_records=True))
        same = whole["figures"] == report["figures"]
        print(f"  the same figures both ways: {same}")
        if not same:
            raise SystemExit("the fast path's figures differ from the records'")
    timed("written as JSON", size, lambda: json.dumps(report, indent=1))
    timed("written as CSV", size, lambda: to_csv(report))
    timed("written as HTML", size, lambda: to_html(report))
    figures = report["figures"]
    print(f"records read {figures['records_read']:,}; requests decided "
          f"{figures['overall']['requests']['decided']:,}; checkpoint "
          f"{report['checkpoint']['size']:,}; exit readiness "
          + ", ".join(f"{e['provider']} {e['share']}"
                      for e in figures["overall"]["exit_readiness"]))


if __name__ == "__main__":
    main()
