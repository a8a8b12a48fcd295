"""CPU per answer kept for a redelivery (``PersonalVault.keep_response``) as the vault grows.

The forward stage keeps every answered response, encrypted under the keys of the people its
request named: it looks up the subjects of that request's entries. This measures that call on a
real vault file (WAL, ``secure_delete``) holding N entries of one tenant (5 per request, rows
written directly: their content does not matter to the lookup), CPU time of this process.

    PYTHONPATH=. .venv/bin/python benchmarks/vault_keep_response.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from streams.adapters.kek_store import FileKekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import PersonalVault

TENANT = "city-of-lyon"
PER_REQUEST = 5
CALLS = 40


def fill(vault: PersonalVault, entries: int, already: int) -> None:
    rows = []
    for n in range(already, entries):
        request = n // PER_REQUEST
        rows.append((uuid.uuid4().hex, TENANT, os.urandom(32).hex(), "key", "PERSON",
                     f"req-{request}", time.time(), 2_000_000_000, os.urandom(12),
                     os.urandom(48), f"req-{request}", f"<PERSON_{n % PER_REQUEST}>"))
    with vault._lock:
        vault._db.execute("BEGIN IMMEDIATE")
        vault._db.executemany("INSERT INTO vault_entries (entry_id, tenant, subject, key_id,"
                              " kind, request_id, stored_at, expires_at, nonce, ciphertext,"
                              " conversation, placeholder) VALUES"
                              " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        vault._db.execute("COMMIT")


def main(arguments: argparse.Namespace) -> None:
    sizes = [int(s) for s in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        keys = KeyStore(home / "keys.sqlite3", FileKekStore(home / "kek"))
        vault = PersonalVault(home / "vault.sqlite3", keys)
        print("| entries in the vault | CPU ms per response kept (median of "
              f"{arguments.repeat} x {CALLS}) |")
        print("|---|---|")
        filled = 0
        for size in sorted(sizes):
            fill(vault, size, filled)
            filled = size
            runs = []
            for _ in range(arguments.repeat):
                started = time.process_time()
                for call in range(CALLS):
                    request = f"req-{(call * 7919) % (size // PER_REQUEST)}"
                    vault.keep_response(TENANT, request, b"{}",
                                        values=(), retention_s=3600)
                runs.append((time.process_time() - started) / CALLS * 1000)
            print(f"| {size:,} | {statistics.median(runs):.2f} |")
        vault.close()
        keys.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    main(parser.parse_args())
