"""What a witness cosignature costs: one ``cosign`` (log signature, consistency proof, sign,
store) and one quorum check, on a SQLite log of --count records.

    python benchmarks/witness_cosign.py [--count 20000] [--dir PATH]

The consistency proof is built from every leaf hash up to the new size (the store keeps them;
O(n) time and memory), so the cosign time grows with the log. Uses a fresh temporary directory
unless --dir is given.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.signer import load_or_create_signer
from streams.adapters.witness import cosign_latest, init_witness, load_witness_keys
from streams.core.audit import AuditEvent
from streams.core.cosignature import witnessed_size


def event(i: int) -> AuditEvent:
    return AuditEvent(f"req-{i}/admitted", "admitted", f"req-{i}", "registry-is",
                      datetime.now(UTC), {"decision": "forward", "entities": {"PERSON": 1}})


def run(root: Path, count: int) -> None:
    signer = load_or_create_signer(root / "keys" / "log.pem", root / "log.pub.pem")
    witness = init_witness(root / "witness", "dpo.example.org/bench")
    with open_sqlite_log(root / "audit.sqlite3", signer, checkpoint_every=0,
                          checkpoint_interval_s=0) as store:
        half = count // 2
        for start, end in ((0, half), (half, count)):
            for at in range(start, end, 500):
                store.append_many([event(i) for i in range(at, min(at + 500, end))])
            store.issue_checkpoint()
            began = time.perf_counter()
            done = cosign_latest(store, store.keyring, witness)
            elapsed = time.perf_counter() - began
            print(f"cosign at size {done.checkpoint.size} (from {done.previous_size}): "
                  f"{elapsed * 1000:.1f} ms")
    keys = load_witness_keys([root / "witness" / "witness.vkey"])
    with open_sqlite_reader(root / "audit.sqlite3") as reader:
        notes = [(c.size, c.note) for c in reader.checkpoints()]
    began = time.perf_counter()
    size, _ = witnessed_size(notes, keys, 1)
    print(f"quorum check over {len(notes)} checkpoints: "
          f"{(time.perf_counter() - began) * 1000:.2f} ms (witnessed up to {size})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        run(args.dir, args.count)
        return
    with tempfile.TemporaryDirectory(prefix="douane-witness-bench-") as tmp:
        run(Path(tmp), args.count)


if __name__ == "__main__":
    main()
