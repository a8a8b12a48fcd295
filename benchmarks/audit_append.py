"""How fast the SQLite audit store appends (each append signed and committed durably).

    python benchmarks/audit_append.py [--count 2000] [--dir PATH] [--threads 16]

Uses a fresh temporary directory unless --dir is given (the figure depends on the disk's fsync).
Prints appends per second, per-append latency, and the verification rate of the whole log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from streams.adapters.audit_store import SqliteAuditStore, load_audit_schema, verify_store
from streams.adapters.signer import load_or_create_signer
from streams.core.audit import (
    GENESIS_HASH,
    AuditEvent,
    canonical_bytes,
    leaf_hash,
    record_payload,
    signing_input,
)

DETAILS = {  # a typical admitted request: types and counts, never values
    "policy": {"version": "2025-03-01", "sha256": "ab" * 32, "rules": ["redact-national-ids"]},
    "entities": {"PERSON": 2, "EMAIL_ADDRESS": 1, "IS_KENNITALA": 1},
    "redactions": [{"type": "PERSON", "start": 10, "end": 22}] * 4,
    "provider": "mistral",
    "model": "mistral-small",
}


def event(i: int) -> AuditEvent:
    return AuditEvent(
        record_id=f"req-{i}/admitted",
        kind="admitted",
        request_id=f"req-{i}",
        tenant="registry-is",
        occurred_at=datetime.now(UTC),
        details=DETAILS,
    )


def run(directory: Path, count: int, threads: int = 16) -> None:
    db, pub = directory / "audit.sqlite3", directory / "audit.pub.pem"
    signer = load_or_create_signer(directory / "keys" / "audit-signing.pem", pub)
    latencies = []
    with SqliteAuditStore(db, signer) as store:
        started = time.perf_counter()
        for i in range(count):
            ev = event(i)
            t = time.perf_counter()
            store.append(ev)
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        size = len(store.get("req-0/admitted").canonical)  # type: ignore[union-attr]
    latencies.sort()
    print(f"appended {count} records ({size} bytes each) in {elapsed:.2f} s under {directory}")
    print(f"append throughput: {count / elapsed:,.0f} records/s (one durable commit per record)")
    print(
        f"append latency: median {statistics.median(latencies) * 1e3:.3f} ms, "
        f"p99 {latencies[int(0.99 * (count - 1))] * 1e3:.3f} ms"
    )
    group_db = directory / "group.sqlite3"
    with SqliteAuditStore(group_db, signer, keyring_path=directory / "group.keyring.json") as gs:
        per_thread = count // threads

        def work(t: int) -> None:
            for i in range(per_thread):
                gs.append(event(count + t * per_thread + i))

        started = time.perf_counter()
        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
    total = per_thread * threads
    cpu_s = os.cpu_count() or 1
    print(f"group commit, {threads} threads: {total / elapsed:,.0f} records/s "
          f"({total / elapsed / cpu_s:,.0f} per core on {cpu_s} cores; each caller returns "
          f"only after its batch is durable; {elapsed / total * 1e6:.0f} us per request)")
    started = time.perf_counter()
    for i in range(count):  # the same work without SQLite: payload, JCS, leaf hash, Ed25519
        canonical = canonical_bytes(
            record_payload(event(i), seq=i + 1, prev_hash=GENESIS_HASH, key_id=signer.key_id)
        )
        leaf_hash(canonical)
        signer.sign(signing_input(canonical))
    cpu = (time.perf_counter() - started) / count
    print(f"of which build+canonicalise+hash+sign: {cpu * 1e6:.0f} us per record")
    started = time.perf_counter()
    report = verify_store(db, [pub], load_audit_schema())
    elapsed = time.perf_counter() - started
    print(f"verify: ok={report.ok}, {report.records_checked / elapsed:,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        run(args.dir, args.count, args.threads)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.count, args.threads)


if __name__ == "__main__":
    main()
