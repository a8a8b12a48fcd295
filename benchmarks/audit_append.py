"""How fast the audit store appends (each record signed and committed durably).

    python benchmarks/audit_append.py [--count 4096] [--dir PATH] [--threads 16 64]
                                      [--batch-threads 1 4]
    python benchmarks/audit_append.py --postgres DSN [--writers 1 3] [--count 4096]
                                      [--threads 16] [--batch-threads 1]

Uses a fresh temporary directory unless --dir is given (the figures depend on the disk's fsync
and on what else the machine runs: the load average is printed first). Prints:

- records/s appending one by one (one durable commit per record), with latency;
- records/s with group commit, for each --threads count of concurrent appenders of one
  record per call and each --batch-threads count of appenders of 64 records per call (each
  returns only once its records are durable), per core, the mean records per commit, and the
  cost per request (a forwarded request writes three records: admitted, forwarded, answered);
- the CPU time per record of each step of an append, measured one step at a time on one
  thread (payload + canonical JSON, leaf hash, Ed25519 signature, SQLite insert + commit);
- the verification rate of the whole log (signatures, canonical form, schema, chain, tree).

With ``--postgres`` (a server's DSN, e.g. ``scripts/postgres.sh start``'s) it measures the
PostgreSQL store instead, with several **writers**: processes that each open the store (as
several workers do) and append from ``--threads`` threads of one record per call and
``--batch-threads`` threads of 64, all into one log in a fresh database per run (dropped
afterwards). Prints records/s over all writers and records per commit.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
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
    with open_sqlite_log(directory / "audit.sqlite3", signer) as store:
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


def counting_commits(store: GroupCommitLog) -> list[int]:
    """A counter (its one item) of the group commits ``store`` makes from now on."""
    commits = [0]
    commit = store._commit

    def counted(*args: Any) -> Any:
        commits[0] += 1
        return commit(*args)

    store._commit = counted  # type: ignore[method-assign,assignment]
    return commits


def append_in_threads(store: GroupCommitLog, first: int, per_thread: int, threads: int,
                      per_call: int) -> None:
    """``threads`` threads each appending ``per_thread`` records, ``per_call`` at a time, the
    record ids numbered from ``first``."""

    def work(t: int) -> None:
        base = first + t * per_thread
        for i in range(0, per_thread, per_call):
            store.append_many([event(base + i + j) for j in range(per_call)])

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def group_commit(directory: Path, signer: Ed25519Signer, count: int, threads: int,
                 per_call: int = 1) -> float:
    """``count`` records from ``threads`` threads, each appending ``per_call`` at a time."""
    db = directory / f"group-{threads}-{per_call}.sqlite3"
    keyring = directory / f"group-{threads}-{per_call}.keyring.json"
    with open_sqlite_log(db, signer, keyring_path=keyring) as store:
        per_thread = count // threads // per_call * per_call
        commits = counting_commits(store)
        cpu_started, started = time.process_time(), time.perf_counter()
        # record ids unique across runs
        append_in_threads(store, count * per_call, per_thread, threads, per_call)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    total = per_thread * threads
    rate = total / elapsed
    cores = os.cpu_count() or 1
    calls = "one record per call" if per_call == 1 else f"{per_call} records per call"
    print(f"group commit, {threads:3d} threads, {calls}: {rate:,.0f} records/s "
          f"({rate / cores:,.0f} per core on {cores} cores), {total / commits[0]:.1f} records "
          f"per commit, {cpu / total * 1e6:.0f} us CPU per record (all threads); "
          f"per request ({RECORDS_PER_REQUEST} records): {rate / RECORDS_PER_REQUEST:,.0f} "
          f"requests/s, {RECORDS_PER_REQUEST * cpu / total * 1e6:.0f} us CPU")
    return rate


def step_costs(directory: Path, signer: Ed25519Signer, count: int) -> None:
    """CPU microseconds per record of each step, on this thread, batches of 64 records."""
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
    spent = {"commit": 0.0, "checkpoint": 0.0}
    with open_sqlite_log(directory / "steps.sqlite3", signer,
                          keyring_path=directory / "steps.keyring.json") as store:
        for name, attribute in (("commit", "_commit"), ("checkpoint", "_maybe_checkpoint")):
            inner = getattr(store, attribute)

            def timed(*args: Any, _inner: Any = inner, _name: str = name) -> Any:
                started = time.thread_time()
                try:
                    return _inner(*args)
                finally:
                    spent[_name] += time.thread_time() - started

            setattr(store, attribute, timed)
        whole = cpu_us(lambda: [store.append_many(events[i:i + 64])
                                for i in range(0, count, 64)])
        commit = spent["commit"] / count * 1e6
        checkpoint = spent["checkpoint"] / count * 1e6
        again = cpu_us(lambda: [store.append_many(events[i:i + 64])  # all already stored
                                for i in range(0, count, 64)])
    rest = whole - prepare - assemble - hashing - signing - commit - checkpoint
    print(f"CPU per record by step (one thread, 64 records per call): event {made:.1f} us "
          f"(the caller's); fields + canonical JSON of details, before any lock "
          f"{prepare:.1f} us; record bytes at its seq {assemble:.1f} us; leaf hash "
          f"{hashing:.1f} us; Ed25519 signature {signing:.1f} us; SQLite transaction "
          f"(idempotency query, insert, durable commit) {commit:.1f} us; "
          f"checkpoints {checkpoint:.1f} us; everything else {rest:.1f} us (queueing, result "
          f"objects; steps cost more mixed than alone); "
          f"whole append {whole:.1f} us = {1e6 / whole:,.0f} records/s per core "
          f"(re-appending stored records, which returns them: {again:.1f} us)")


def run(directory: Path, count: int, threads: list[int], batch_threads: list[int]) -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores; "
          f"under {directory}")
    signer = load_or_create_signer(directory / "keys" / "audit-signing.pem",
                                   directory / "audit.pub.pem")
    one_by_one(directory, signer, min(count, 2000))
    for n in threads:
        group_commit(directory, signer, count, n)
    for n in batch_threads:  # callers that append a whole batch (e.g. a Kafka batch) at once
        group_commit(directory, signer, count, n, per_call=64)
    step_costs(directory, signer, count)
    started = time.perf_counter()
    report = verify_store(directory / "audit.sqlite3", [directory / "audit.pub.pem"],
                          load_audit_schema())
    elapsed = time.perf_counter() - started
    print(f"verify: ok={report.ok}, {report.records_checked / elapsed:,.0f} records/s")


def _writer(dsn: str, directory: Path, first: int, count: int, threads: int, per_call: int,
            start: Any, done: Any) -> None:
    """One writer process: opens the store, waits for the others, appends, reports commits."""
    from streams.adapters.audit.postgres import open_postgres_log

    signer = load_or_create_signer(directory / "keys" / "audit-signing.pem",
                                   directory / "audit.pub.pem")
    with open_postgres_log(dsn, signer, keyring_path=directory / "pg.keyring.json") as store:
        commits = counting_commits(store)
        per_thread = count // threads // per_call * per_call
        start.wait()
        append_in_threads(store, first, per_thread, threads, per_call)
        done.put((per_thread * threads, commits[0]))


def postgres_writers(server: str, directory: Path, count: int, writers: int, threads: int,
                     per_call: int) -> float:
    """``count`` records over ``writers`` processes into one fresh PostgreSQL database."""
    import uuid

    import psycopg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    dsn = psycopg.conninfo.make_conninfo(server, dbname=name)
    try:
        context = multiprocessing.get_context("spawn")
        start, done = context.Barrier(writers + 1), context.Queue()
        pool = [context.Process(target=_writer, args=(
            dsn, directory, w * count, count // writers, threads, per_call, start, done))
            for w in range(writers)]
        for process in pool:
            process.start()
        start.wait()  # every writer has opened the store
        started = time.perf_counter()
        results: list[tuple[int, int]] = [done.get() for _ in pool]
        elapsed = time.perf_counter() - started
        for process in pool:
            process.join()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    total, commits = sum(r[0] for r in results), sum(r[1] for r in results)
    rate = total / elapsed
    calls = "one record per call" if per_call == 1 else f"{per_call} records per call"
    print(f"PostgreSQL, {writers} writer process(es) x {threads} threads, {calls}: "
          f"{rate:,.0f} records/s = {rate / RECORDS_PER_REQUEST:,.0f} requests/s "
          f"({total} records, {total / commits:.1f} records per commit)")
    return rate


def run_postgres(server: str, directory: Path, count: int, writers: list[int],
                 threads: list[int], batch_threads: list[int]) -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores; "
          f"PostgreSQL on this machine")
    for n in writers:
        for t in threads:
            postgres_writers(server, directory, count, n, t, 1)
        for t in batch_threads:
            postgres_writers(server, directory, count, n, t, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=4096)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[16, 64],
                        help="concurrent appenders of one record per call, one run per count")
    parser.add_argument("--batch-threads", type=int, nargs="*", default=[1, 4],
                        help="concurrent appenders of 64 records per call, one run per count")
    parser.add_argument("--postgres", metavar="DSN", default=None,
                        help="measure the PostgreSQL store on this server instead of SQLite")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 3],
                        help="with --postgres: writer processes on one log, one run per count")
    args = parser.parse_args()
    if args.postgres is not None:
        with tempfile.TemporaryDirectory() as tmp:
            run_postgres(args.postgres, Path(tmp), args.count, args.writers, args.threads,
                         args.batch_threads)
    elif args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        run(args.dir, args.count, args.threads, args.batch_threads)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.count, args.threads, args.batch_threads)


if __name__ == "__main__":
    main()
