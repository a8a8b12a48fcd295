"""How fast crypto-shredding is: storing values under data keys, the `encrypt` operator, a
retention run that destroys many keys (with holds on whole persons), and erasures (one
identifier; one person found from one of their three identifiers).

    python benchmarks/retention.py [--subjects 2000] [--persons 500] [--holds 20] [--dir PATH]

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
from streams.adapters.personal_vault import NewValue
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
    parser.add_argument("--persons", type=int, default=500,
                        help="requests naming one person with an e-mail and a phone")
    parser.add_argument("--holds", type=int, default=20, help="holds on persons")
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

            started = time.perf_counter()
            for i in range(args.persons):
                vault.put_many("bench", [
                    NewValue(f"Madame Personne {i}", "PERSON"),
                    NewValue(f"personne.{i}@example.fr", "EMAIL_ADDRESS"),
                    NewValue(f"06 00 00 {i // 100:02d} {i % 100:02d}", "PHONE_NUMBER")],
                    retention_s=HOUR, request_id=f"req-{i}")
            elapsed = time.perf_counter() - started
            print(f"person requests (3 identifiers each, new subjects): "
                  f"{args.persons / elapsed:.0f}/s")
            started = time.perf_counter()
            erased = erase_subject(keys, vault, audit, "bench",
                                   keys.fingerprint("bench", "personne.0@example.fr"), "bench")
            print(f"erasure of one person found by e-mail among {args.persons} (+ audit record): "
                  f"{(time.perf_counter() - started) * 1e3:.1f} ms, "
                  f"{len(erased.destroyed.keys)} keys, {erased.pruned} entries")
            for i in range(1, args.holds + 1):
                keys.add_hold("bench", keys.fingerprint("bench", f"Personne {i}"), "bench")

            clock.now += 2 * HOUR
            started = time.perf_counter()
            run = retention_run(keys, vault, audit)
            print(f"retention run: {len(run.destroyed.keys)} data keys, {run.pruned} vault "
                  f"entries in {time.perf_counter() - started:.2f} s (+ audit record), "
                  f"{run.destroyed.held} keys of {args.holds} held persons kept")


if __name__ == "__main__":
    main()
