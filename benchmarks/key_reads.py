"""CPU per call of the key store's and vault's reads a request makes, on real SQLite files:
a request's data keys (``KeyStore.data_keys``, all existing), a conversation's placeholders
opened (``PlaceholderVault.load``) and a kept response read (``PersonalVault.kept_response``),
for ``--people`` people each. Best of ``--repeat`` rounds of ``--calls`` calls, CPU time of
this thread (``time.thread_time``).

    PYTHONPATH=. .venv/bin/python benchmarks/key_reads.py [--people 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams.adapters.kek_store import FileKekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import PersonalVault
from streams.adapters.placeholder_vault import PlaceholderVault
from streams.core.placeholders import PlaceholderMap

TENANT, HOUR = "city-of-lyon", 3_600


def best_us(call: Callable[[], Any], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.thread_time()
        for _ in range(calls):
            call()
        best = min(best, time.thread_time() - started)
    return best / calls * 1e6


def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        keys = KeyStore(home / "keys.sqlite3", FileKekStore(home / "kek"))
        vault = PersonalVault(home / "vault.sqlite3", keys)
        names = [f"Person Number{n} Surname{n}" for n in range(arguments.people)]
        subjects = [keys.fingerprint(TENANT, name) for name in names]
        keys.data_keys(TENANT, subjects, HOUR)
        mapping = PlaceholderMap()
        for name in names:
            mapping.placeholder_for("PERSON", name)
        placeholders = PlaceholderVault(vault)
        placeholders.save(TENANT, "conv", mapping, HOUR, request_id="r-1")
        vault.keep_response(TENANT, "r-1", b"x" * 2000, values=(), retention_s=HOUR)
        n, r = arguments.calls, arguments.repeat
        print(f"{arguments.people} people; CPU microseconds per call, best of {r} x {n}")
        print()
        print("| read | CPU µs per call |")
        print("|---|---|")
        print(f"| data keys of a request (`KeyStore.data_keys`) | "
              f"{best_us(lambda: keys.data_keys(TENANT, subjects, HOUR), n, r):.0f} |")
        print(f"| a conversation's placeholders (`PlaceholderVault.load`) | "
              f"{best_us(lambda: placeholders.load(TENANT, 'conv'), n, r):.0f} |")
        print(f"| a kept response (`PersonalVault.kept_response`) | "
              f"{best_us(lambda: vault.kept_response(TENANT, 'r-1'), n, r):.0f} |")
        vault.close()
        keys.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=7)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    main(parser.parse_args())
