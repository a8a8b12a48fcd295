"""How fast crypto-shredding is: storing values under data keys, the `encrypt` operator, a
retention run that destroys many keys, and one erasure.

    python benchmarks/retention.py [--subjects 2000] [--dir PATH]

Uses a fresh temporary DOUANE_HOME unless --dir is given (figures depend on the disk's fsync:
every key and every value is committed durably). The clock is driven, so nothing waits.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from streams.adapters.operator_keys import FileOperatorKeys
from streams.adapters.shredding_operator_keys import ShreddingOperatorKeys
from streams.config import load_settings
from streams.services.audit_log import open_writer
from streams.services.erasure import erase_subject
from streams.services.retention import retention_run
from streams.services.stores import open_stores

HOUR = 3_600


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        home = args.dir or Path(temp)
        settings = load_settings({"DOUANE_HOME": str(home)})
        clock = Clock()
        with open_stores(settings, clock) as (keys, vault), open_writer(settings) as audit:
            latencies = []
            for i in range(args.subjects):
                started = time.perf_counter()
                vault.put("bench", f"Person Number {i}", kind="PERSON", retention_s=HOUR)
                latencies.append(time.perf_counter() - started)
            print(f"vault put (new subject: data key + value, 2 durable commits): "
                  f"{len(latencies) / sum(latencies):.0f}/s, p50 "
                  f"{statistics.median(latencies) * 1e3:.2f} ms, p99 "
                  f"{sorted(latencies)[int(len(latencies) * 0.99)] * 1e3:.2f} ms")

            operator = ShreddingOperatorKeys(keys, FileOperatorKeys(home / "op"), HOUR)
            started = time.perf_counter()
            for i in range(args.subjects):  # existing subjects: the key is found, not created
                operator.encrypt("bench", "PERSON", f"Person Number {i}")
            elapsed = time.perf_counter() - started
            print(f"encrypt operator (existing subject, no vault): "
                  f"{args.subjects / elapsed:.0f}/s, {elapsed / args.subjects * 1e3:.2f} ms each")

            started = time.perf_counter()
            erased = erase_subject(keys, vault, audit, "bench",
                                   keys.fingerprint("bench", "Person Number 0"), "bench")
            print(f"erasure of one subject among {args.subjects} (+ audit record): "
                  f"{(time.perf_counter() - started) * 1e3:.1f} ms, "
                  f"{len(erased.destroyed.keys)} key, {erased.pruned} entry")

            clock.now += 2 * HOUR
            started = time.perf_counter()
            run = retention_run(keys, vault, audit)
            print(f"retention run: {len(run.destroyed.keys)} data keys, {run.pruned} vault "
                  f"entries in {time.perf_counter() - started:.2f} s (+ audit record)")


if __name__ == "__main__":
    main()
