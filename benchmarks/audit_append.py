"""How fast the SQLite audit store appends (each record signed and committed durably).

    python benchmarks/audit_append.py [--count 4000] [--dir PATH] [--threads 16 64]

Uses a fresh temporary directory unless --dir is given (the figures depend on the disk's fsync
and on what else the machine runs: the load average is printed first). Prints:

- records/s appending one by one (one durable commit per record), with latency;
- records/s with group commit, for each --threads count of concurrent appenders (each returns
  only once its record is durable), per core, the mean records per commit, and the cost per
  request (a forwarded request writes three records: admitted, forwarded, answered);
- the CPU time per record of each step of an append, measured one step at a time on one
  thread (payload + canonical JSON, leaf hash, Ed25519 signature, SQLite insert + commit);
- the verification rate of the whole log (signatures, canonical form, schema, chain, tree).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.adapters.audit_store import SqliteAuditStore, load_audit_schema, verify_store
from streams.adapters.signer import Ed25519Signer, load_or_create_signer
from streams.core.audit import (
    GENESIS_HASH,
    AuditEvent,
    PreparedRecord,
    leaf_hash,
    signing_input,
)

DETAILS = {  # a typical admitted request: types and counts, never values
    "policy": {"version": "2025-03-01", "sha256": "ab" * 32, "rules": ["redact-national-ids"]},
    "entities": {"PERSON": 2, "EMAIL_ADDRESS": 1, "IS_KENNITALA": 1},
    "redactions": [{"type": "PERSON", "start": 10, "end": 22}] * 4,
    "provider": "mistral",
    "model": "mistral-small",
}
RECORDS_PER_REQUEST = 3  # admitted, forwarded, answered


def event(i: int) -> AuditEvent:
    return AuditEvent(
        record_id=f"req-{i}/admitted",
        kind="admitted",
        request_id=f"req-{i}",
        tenant="registry-is",
        occurred_at=datetime.now(UTC),
        details=DETAILS,
    )


def one_by_one(directory: Path, signer: Ed25519Signer, count: int) -> float:
    latencies = []
    with SqliteAuditStore(directory / "audit.sqlite3", signer) as store:
        started = time.perf_counter()
        for i in range(count):
            ev = event(i)
            t = time.perf_counter()
            store.append(ev)
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        size = len(store.get("req-0/admitted").canonical)  # type: ignore[union-attr]
    latencies.sort()
    print(f"one by one: {count / elapsed:,.0f} records/s ({count} records of {size} bytes, "
          f"one durable commit each); latency median "
          f"{statistics.median(latencies) * 1e3:.2f} ms, "
          f"p99 {latencies[int(0.99 * (count - 1))] * 1e3:.2f} ms")
    return count / elapsed


def group_commit(directory: Path, signer: Ed25519Signer, count: int, threads: int) -> float:
    """``count`` records from ``threads`` threads, each appending one record at a time."""
    db = directory / f"group-{threads}.sqlite3"
    keyring = directory / f"group-{threads}.keyring.json"
    with SqliteAuditStore(db, signer, keyring_path=keyring) as store:
        per_thread = count // threads
        commits = [0]
        commit = store._commit

        def counted(*args: Any) -> Any:
            commits[0] += 1
            return commit(*args)

        store._commit = counted  # type: ignore[method-assign,assignment]

        def work(t: int) -> None:
            for i in range(per_thread):
                store.append(event(t * per_thread + i))

        cpu_started, started = time.process_time(), time.perf_counter()
        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    total = per_thread * threads
    rate = total / elapsed
    cores = os.cpu_count() or 1
    print(f"group commit, {threads:3d} threads: {rate:,.0f} records/s "
          f"({rate / cores:,.0f} per core on {cores} cores; {total / commits[0]:.1f} records "
          f"per commit; {cpu / total * 1e6:.0f} us CPU per record in all threads); "
          f"{rate / RECORDS_PER_REQUEST:,.0f} requests/s, "
          f"{RECORDS_PER_REQUEST * elapsed / total * 1e6:.0f} us per request")
    return rate


def step_costs(directory: Path, signer: Ed25519Signer, count: int) -> None:
    """CPU microseconds per record of each step, one step at a time on this thread."""
    events = [event(i) for i in range(count)]

    def cpu_us(step: Callable[[], object]) -> float:
        started = time.thread_time()
        step()
        return (time.thread_time() - started) / count * 1e6

    prepared: list[PreparedRecord] = []
    built: list[bytes] = []
    made = cpu_us(lambda: [event(i) for i in range(count)])
    prepare = cpu_us(lambda: prepared.extend(PreparedRecord(e) for e in events))
    assemble = cpu_us(lambda: built.extend(
        p.build(seq=i + 1, prev_hash=GENESIS_HASH, key_id=signer.key_id)[1]
        for i, p in enumerate(prepared)))
    hashing = cpu_us(lambda: [leaf_hash(c).hex() for c in built])
    signing = cpu_us(lambda: [signer.sign(signing_input(c)) for c in built])
    with SqliteAuditStore(directory / "steps.sqlite3", signer,
                          keyring_path=directory / "steps.keyring.json") as store:
        for i in range(0, count, 64):  # batches of 64, as a busy group commit makes them
            store.append_many(events[i:i + 64])  # warm up: page cache, WAL
        store_run = cpu_us(lambda: [store.append_many(events[i:i + 64])
                                    for i in range(0, count, 64)])  # all duplicates: no writes
        fresh = [event(count + i) for i in range(count)]
        whole = cpu_us(lambda: [store.append_many(fresh[i:i + 64])
                                for i in range(0, count, 64)])
    sqlite = whole - prepare - assemble - hashing - signing
    print(f"CPU per record, by step (one thread, batches of 64): make the event {made:.1f} us; "
          f"payload + canonical JSON of the fields (before the lock) {prepare:.1f} us; "
          f"record bytes at its seq {assemble:.1f} us; leaf hash {hashing:.1f} us; "
          f"Ed25519 signature {signing:.1f} us; "
          f"SQLite (idempotency check, insert, commit, checkpoints) {sqlite:.1f} us "
          f"[idempotent re-append: {store_run:.1f} us]; whole append {whole:.1f} us "
          f"= {1e6 / whole:,.0f} records/s per core")


def run(directory: Path, count: int, threads: list[int]) -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores; "
          f"under {directory}")
    signer = load_or_create_signer(directory / "keys" / "audit-signing.pem",
                                   directory / "audit.pub.pem")
    one_by_one(directory, signer, min(count, 2000))
    for n in threads:
        group_commit(directory, signer, count, n)
    step_costs(directory, signer, count)
    started = time.perf_counter()
    report = verify_store(directory / "audit.sqlite3", [directory / "audit.pub.pem"],
                          load_audit_schema())
    elapsed = time.perf_counter() - started
    print(f"verify: ok={report.ok}, {report.records_checked / elapsed:,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        run(args.dir, args.count, args.threads)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.count, args.threads)


if __name__ == "__main__":
    main()
