"""``douane audit witness init`` and ``douane audit cosign`` (the quorum check of verify is in
``streams/services/evidence.py``).

A witness is a second party (e.g. the DPO office) with its own key. It cosigns the log's
latest checkpoint only after checking it extends the last one it cosigned; a verifier given
the witnesses' public keys can then require a quorum of them (``--witness ... --quorum N``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.adapters.audit.open import audit_log_exists, describe
from streams.adapters.audit.protocols import AuditStoreError
from streams.adapters.audit.verify import trusted_keyring
from streams.adapters.witness import (
    WitnessError,
    cosign_latest,
    init_witness,
    load_witness,
)
from streams.config import Settings
from streams.core.checkpoint import CheckpointError
from streams.core.cosignature import WitnessRefusal
from streams.core.keyring import DPO
from streams.services.audit_log import open_writer


def add_witness_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    witness = actions.add_parser("witness", help="set up a witness (a second party's key)")
    witness_actions = witness.add_subparsers(dest="witness_command", required=True,
                                             metavar="ACTION")
    init = witness_actions.add_parser("init", help="create a witness key and its public key")
    init.add_argument("--name", required=True,
                      help="the witness's name, e.g. dpo.example.org/witness (no spaces, no +)")
    init.add_argument("--dir", type=Path, required=True, help="directory for the witness")

    cosign = actions.add_parser("cosign", help="as a witness: check and cosign the latest "
                                               "checkpoint")
    cosign.add_argument("--witness-dir", type=Path, required=True)
    cosign.add_argument("--keyring", type=Path,
                        help="the log's keyring the witness trusts (default: next to the log)")


def add_quorum_options(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("--witness", type=Path, action="append", default=[],
                        help="a witness's public key file (witness.vkey); repeatable")
    verify.add_argument("--quorum", type=int, default=0,
                        help="require a checkpoint cosigned by at least N of the --witness keys")


def run_witness_init(directory: Path, name: str) -> int:
    try:
        witness = init_witness(directory, name)
    except (WitnessError, CheckpointError) as error:
        print(f"audit witness init: {error.diagnostics()}")
        return 1
    vkey = (directory / "witness.vkey").read_text("utf-8").strip()
    print(f"audit witness init: witness {witness.name} created in {directory}\n"
          f"public key (give it to verifiers): {vkey}")
    return 0


def run_cosign(settings: Settings, witness_dir: Path, keyring_path: Path | None) -> int:
    try:
        witness = load_witness(witness_dir)
    except (WitnessError, CheckpointError, ValueError) as error:
        print(f"audit cosign: {error}")
        return 1
    extra = [settings.public_key] if settings.public_key.exists() else []
    keyring = trusted_keyring(settings.audit_db, extra, keyring_path, settings.audit_origin)
    if not audit_log_exists(settings):  # never create a log as a side effect
        print(f"audit cosign: no audit log at {describe(settings)}: cosign stores the "
              "cosigned checkpoint in the log, so run it where the log is "
              "(DOUANE_HOME / DOUANE_AUDIT_DB / DOUANE_AUDIT_DSN)")
        return 1
    try:
        # the DPO tools' key opens the log: a witness never needs the worker's key
        with open_writer(settings, DPO) as store:
            done = cosign_latest(store, keyring, witness)
    except WitnessRefusal as error:
        print(f"audit cosign: REFUSED - {error.diagnostics()}")
        return 1
    except (WitnessError, CheckpointError, AuditStoreError) as error:
        print(f"audit cosign: {error.diagnostics()}")
        return 1
    since = (f"extends size {done.previous_size}" if done.previous_size
             else "first checkpoint this witness sees for this log")
    print(f"audit cosign: {witness.name} cosigned checkpoint at size {done.checkpoint.size} "
          f"({since})")
    return 0
