"""The audit log at a million records: how fast the console's overview and search answer.

    python benchmarks/audit_million.py [--records 1000000] [--dir PATH] [--reindex]
                                       [--scan] [--repeat 5]
    python benchmarks/audit_million.py --postgres DSN [--records N] ...

Makes a log of ``--records`` realistic records through the real append path
(``GroupCommitLog.append_many``, 1,000 records per call, signed and durable like the worker's):
90 days of requests from a dozen tenants of very different sizes, most answered (admitted,
forwarded, answered), some blocked, rejected or failed, a few still in flight, over five
providers in four jurisdictions, with the entity types, reason codes and policy versions a
real deployment records; progress is printed every few seconds. ``--dir`` keeps the log
(``audit.sqlite3`` there) and reuses it on the next run if it holds enough records.

Then it times, from a read-only reader as the console opens it (median of ``--repeat`` runs):
the overview of everything, of one tenant for one month, and of the last 7 days (not whole
days: the ends are read from the records); searches (first page of 50 and the total) by
tenant and decision, entity type, provider, request id, policy hash, no filter at all; a
deep page (keyset, below the first tenth of the log). ``--reindex`` also times rebuilding the
whole index from the signed records (what opening an older log costs once); ``--scan`` the
overview by reading every record instead (what it cost before the index).

With ``--postgres`` (a server's DSN, e.g. ``scripts/postgres.sh start``'s) the log is made in a
fresh database there (kept as ``douane_million_N`` for the next run; drop it by hand).

The load average is printed first: the figures depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.protocols import AuditQuery
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.signer import load_or_create_signer
from streams.core.audit import AuditEvent, AuditKind
from streams.services.audit_search import overview, scan_overview, search

START = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 90
BATCH = 1000
# tenants with very different traffic (a large ministry, small agencies)
TENANTS = [("ministry-interior", 30), ("city-of-lyon", 18), ("caf-paris", 12),
           ("region-bretagne", 9), ("pole-emploi-idf", 8), ("hospital-nantes", 7),
           ("city-of-lille", 5), ("prefecture-nord", 4), ("dgfip-audit", 3),
           ("tribunal-rennes", 2), ("museum-louvre", 1), ("city-of-gap", 1)]
# (id, jurisdiction, weight): where data may go
PROVIDERS = [("mistral-la-plateforme", "FR", 35), ("ovh-ai-endpoints", "FR", 20),
             ("local-vllm", "FR", 25), ("azure-openai-sweden", "SE", 12),
             ("openai-us", "US", 8)]
ENTITIES = [("PERSON", 55), ("EMAIL_ADDRESS", 25), ("PHONE_NUMBER", 20), ("LOCATION", 30),
            ("DATE_TIME", 30), ("FR_NIR", 6), ("IBAN_CODE", 4), ("FR_PASSPORT", 1),
            ("MEDICAL_CONDITION", 3), ("IP_ADDRESS", 2)]
CLASSIFICATIONS = [("public", 30), ("internal", 45), ("confidential", 20), ("sensitive", 5)]
PURPOSES = [("citizen-correspondence", 40), ("case-summary", 25), ("translation", 15),
            ("code-assistant", 10), ("research", 10)]
BLOCK_REASONS = [("sensitive-data-to-foreign-provider", 50), ("no-allowed-provider", 25),
                 ("classification-too-high", 15), ("detector-failed", 5),
                 ("tenant-budget-exhausted", 5)]
REJECT_REASONS = [("invalid-json", 30), ("schema-violation", 40), ("undeclared-purpose", 20),
                  ("message-too-large", 10)]
FAIL_REASONS = [("provider-unavailable", 60), ("provider-timeout", 30),
                ("delivery-uncertain", 10)]
# the policy set in force changes three times over the period
POLICIES = [(f"{n}" * 64, f"2026.{n}") for n in "1234"]
# of 100 requests: answered, blocked, rejected, failed, still in flight
OUTCOMES = [("answered", 78), ("blocked", 12), ("rejected", 4), ("failed", 5), ("open", 1)]


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def pick_provider(rng: random.Random) -> tuple[str, str]:
    found = rng.choices(PROVIDERS, [p[2] for p in PROVIDERS])[0]
    return found[0], found[1]


class Requests:
    """Audit events of requests spread over DAYS days, in time order."""

    def __init__(self, records: int, seed: int = 18) -> None:
        self.rng = random.Random(seed)
        self.records = records
        self.step = timedelta(days=DAYS) / max(records, 1)  # per record, on average

    def policy_at(self, moment: datetime) -> tuple[str, str]:
        return POLICIES[min(int((moment - START) / timedelta(days=DAYS) * 4), 3)]

    def __iter__(self) -> Iterator[AuditEvent]:
        rng = self.rng
        made = 0
        n = 0
        while made < self.records:
            n += 1
            moment = START + self.step * made
            tenant = pick(rng, TENANTS)
            outcome = pick(rng, OUTCOMES)
            sha, version = self.policy_at(moment)
            policy = {"name": "douane-public-sector", "version": version, "sha256": sha}
            request_id = f"req-{n:08d}-{rng.getrandbits(32):08x}"
            source = {"topic": "llm.requests", "partition": n % 12, "offset": n}
            if outcome == "rejected":
                details = {"reasons": [{"code": pick(rng, REJECT_REASONS),
                                        "message": "the request does not follow the schema"}],
                           "path": "/messages/0", "byte_offset": 17, "size": 912,
                           "source": source, "policy": policy}
                events = [AuditEvent(f"{request_id}/rejected", "rejected", request_id, tenant,
                                     moment, details)]
            else:
                entities: dict[str, int] = {}
                for name, weight in ENTITIES:
                    if rng.random() * 100 < weight:
                        entities[name] = rng.randint(1, 4)
                provider, jurisdiction = pick_provider(rng)
                blocked = outcome == "blocked"
                decision = {
                    "decision": "block" if blocked else "forward",
                    "classification": pick(rng, CLASSIFICATIONS),
                    "requested_classification": None,
                    "purpose": pick(rng, PURPOSES), "policy": policy,
                    "rules": ["redact-national-ids", "route-by-classification"],
                    "provider": None if blocked else provider,
                    "provider_jurisdiction": None if blocked else jurisdiction,
                    "fallbacks": [], "model": None if blocked else "small",
                    "requested_model": None, "language": rng.choice(["fr", "fr", "en"]),
                    "detection": "presidio", "prompt_chars": rng.randint(40, 4000),
                    "entities": entities,
                    "operators": {name: "replace" for name in entities},
                    "findings": [{"message": 0, "type": name, "start": 10 * i, "end": 10 * i + 7,
                                  "score": 0.85} for i, name in enumerate(entities)],
                    "reasons": ([{"code": pick(rng, BLOCK_REASONS),
                                  "message": "the policy does not allow it"}] if blocked
                                else [{"code": "routed-by-classification",
                                       "message": "the first allowed provider"}]),
                    "source": source,
                }
                kind: AuditKind = "blocked" if blocked else "admitted"
                events = [AuditEvent(f"{request_id}/{kind}", kind, request_id, tenant, moment,
                                     decision)]
                if not blocked:
                    later = moment + timedelta(milliseconds=40)
                    events.append(AuditEvent(
                        f"{request_id}/forwarded/{provider}", "forwarded", request_id, tenant,
                        later, {"provider": provider, "endpoint": f"https://{provider}.example",
                                "jurisdiction": jurisdiction, "model": "small",
                                "forwarded_sha256": "ab" * 32,
                                "admitted_record": f"{request_id}/admitted", "policy": policy,
                                "source": source}))
                    done = moment + timedelta(milliseconds=rng.randint(300, 9000))
                    if outcome == "answered":
                        events.append(AuditEvent(
                            f"{request_id}/answered", "answered", request_id, tenant, done,
                            {"provider": provider, "model": "small", "choices": 1,
                             "failed_over_from": [], "streamed": rng.random() < 0.6,
                             "answer_entities": {}, "answer_operators": {},
                             "answer_blocked_after_streaming": [],
                             "placeholders_restored": bool(entities),
                             "usage": {"input_tokens": rng.randint(20, 2000),
                                       "output_tokens": rng.randint(20, 800)},
                             "cost": None, "policy": policy}))
                    elif outcome == "failed":
                        events.append(AuditEvent(
                            f"{request_id}/failed", "failed", request_id, tenant, done,
                            {"provider": provider,
                             "reasons": [{"code": pick(rng, FAIL_REASONS),
                                          "message": "no answer"}], "policy": policy}))
            events = events[:self.records - made]
            made += len(events)
            yield from events


def generate(log: GroupCommitLog, records: int) -> float:
    """Append ``records`` events in batches; returns the seconds it took."""
    started = last = time.perf_counter()
    batch: list[AuditEvent] = []
    done = 0
    for event in Requests(records):
        batch.append(event)
        if len(batch) == BATCH:
            log.append_many(batch)
            done += len(batch)
            batch = []
            now = time.perf_counter()
            if now - last >= 5:
                last = now
                rate = done / (now - started)
                print(f"  {done:,} of {records:,} records appended ({rate:,.0f}/s, about "
                      f"{(records - done) / rate:.0f} s left)", file=sys.stderr, flush=True)
    if batch:
        log.append_many(batch)
    return time.perf_counter() - started


def timed(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """Median milliseconds of ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def measure(reader: SqlRecords, repeat: int, scan: bool) -> None:
    size = reader.size()
    month_since, month_until = "2026-07-01T00:00:00.000000Z", "2026-08-01T00:00:00.000000Z"
    week_since = (START + timedelta(days=DAYS - 7, hours=9, minutes=17)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    overviews = [
        ("overview, everything", AuditQuery()),
        ("overview, one tenant, one month", AuditQuery(tenants=("city-of-lyon",),
                                                       since=month_since, until=month_until)),
        ("overview, the last 7 days (from 09:17)", AuditQuery(since=week_since)),
    ]
    for name, filters in overviews:
        ms, found = timed(repeat, functools.partial(overview, reader, filters))
        print(f"{name}: {ms:,.0f} ms ({found.total_requests:,} requests)")
    some = next(iter(reader.query(AuditQuery(kinds=("answered",), tenants=("city-of-gap",)))))
    searches = [
        ("search, tenant + decision", AuditQuery(tenants=("caf-paris",), decisions=("block",))),
        ("search, entity type", AuditQuery(entity_types=("IBAN_CODE",))),
        ("search, provider", AuditQuery(providers=("openai-us",))),
        ("search, request id", AuditQuery(request_ids=(str(some.request_id),))),
        ("search, policy hash (prefix)", AuditQuery(policy_hashes=("3333333333",))),
        ("search, tenant + entity type + provider",
         AuditQuery(tenants=("city-of-lille",), entity_types=("FR_NIR",),
                    providers=("openai-us",))),
        ("search, no filter", AuditQuery()),
    ]
    for name, filters in searches:
        ms, page = timed(repeat, functools.partial(search, reader, filters))
        print(f"{name}: {ms:,.0f} ms (first page of {len(page.rows)}, {page.total:,} match)")
    deep = AuditQuery(tenants=("ministry-interior",))
    ms, page = timed(repeat, lambda: search(reader, deep, before_seq=size // 10))
    print(f"search, tenant, deep page (below seq {size // 10:,}): {ms:,.0f} ms "
          f"({len(page.rows)} rows)")
    if scan:
        ms, found = timed(1, lambda: scan_overview(reader, AuditQuery()))
        print(f"overview, everything, by reading every record (no index): {ms:,.0f} ms")


def fill(log: GroupCommitLog, records: int, reindex: bool, where: str, remedy: str) -> None:
    """``records`` records in an empty ``log`` (one holding them already is used as it is),
    and the whole search index rebuilt if ``reindex``."""
    have = log.size()
    if have < records:
        if have:
            raise SystemExit(f"{where} holds {have:,} records, fewer than {records:,}: {remedy}")
        seconds = generate(log, records)
        print(f"made {records:,} records in {seconds:,.0f} s "
              f"({records / seconds:,.0f} records/s, index included)")
    if reindex:
        started = time.perf_counter()
        log.rebuild_index()
        seconds = time.perf_counter() - started
        print(f"rebuilding the whole index from the signed records: {seconds:,.1f} s "
              f"({log.size() / seconds:,.0f} records/s)")


def run_sqlite(directory: Path, records: int, repeat: int, reindex: bool, scan: bool) -> None:
    path = directory / "audit.sqlite3"
    signer = load_or_create_signer(directory / "keys" / "signing.pem",
                                   directory / "signing.pub.pem")
    with open_sqlite_log(path, signer, checkpoint_every=100_000) as log:
        fill(log, records, reindex, str(path), "use another --dir")
    size_mb = sum(p.stat().st_size for p in directory.glob("audit.sqlite3*")) / 1e6
    print(f"SQLite file: {size_mb:,.0f} MB for {records:,} records")
    with open_sqlite_reader(path) as reader:
        measure(reader, repeat, scan)


def run_postgres(server: str, directory: Path, records: int, repeat: int, reindex: bool,
                 scan: bool) -> None:
    import psycopg
    from psycopg.conninfo import make_conninfo

    from streams.adapters.audit.postgres import open_postgres_log, open_postgres_reader

    name = f"douane_million_{records}"
    with psycopg.connect(server, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                         (name,)).fetchone() is None:
            admin.execute(f"CREATE DATABASE {name}")
    dsn = make_conninfo(server, dbname=name)
    signer = load_or_create_signer(directory / "keys" / "signing.pem",
                                   directory / "signing.pub.pem")
    with open_postgres_log(dsn, signer, keyring_path=directory / "audit.keyring.json",
                            checkpoint_every=100_000) as log:
        fill(log, records, reindex, f"database {name}", "drop it first")
    with open_postgres_reader(dsn) as reader:
        measure(reader, repeat, scan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None,
                        help="keep the log here (and reuse it); a temporary folder otherwise")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reindex", action="store_true",
                        help="also time rebuilding the index from the records")
    parser.add_argument("--scan", action="store_true",
                        help="also time the overview by reading every record")
    parser.add_argument("--postgres", metavar="DSN", default=None)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        if args.postgres:
            run_postgres(args.postgres, directory, args.records, args.repeat, args.reindex,
                         args.scan)
        else:
            run_sqlite(directory, args.records, args.repeat, args.reindex, args.scan)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
