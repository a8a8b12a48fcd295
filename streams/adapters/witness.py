"""A witness's directory: its Ed25519 key, its verifier key, and what it last cosigned.

Layout of ``--witness-dir``::

    witness.key    the private key (PKCS#8 PEM, mode 0600): stays with the witness
    witness.vkey   the public verifier key ``name+keyid+base64(0x04 || key)``: hand it to
                   whoever verifies (``douane audit verify --witness witness.vkey``)
    state.json     per log origin, the checkpoint body last cosigned (size and root)
    witness.lock   held while one cosign reads and advances state.json

Cosigning (:func:`cosign_latest`): verify the log's signature on its latest checkpoint, get a
consistency proof from the store between the remembered size and the new one, verify it, and
only then sign and store the cosigned note. The state is written after the note is stored, so
a crash in between makes the next run re-check from the older checkpoint (still correct).
Two cosigns by one witness take turns (an exclusive lock on ``witness.lock``): otherwise the
slower one could write back an older state, and the witness would later accept a fork of the
part it had already vouched for.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.protocols import StoredCheckpoint
from streams.adapters.signer import (
    Ed25519Signer,
    _load_private,
    _write_temp,
    raw_public_key,
    verifier_for_raw,
)
from streams.core import merkle
from streams.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint,
    split_note,
)
from streams.core.cosignature import (
    WitnessKey,
    check_advance,
    cosign,
    parse_witness_verifier_key,
    witness_verifier_key,
)
from streams.core.keyring import Keyring
from streams.core.log_check import note_keys
from streams.errors import DouaneError

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"
STATE_FILE = "state.json"
LOCK_FILE = "witness.lock"


class WitnessError(DouaneError, RuntimeError):
    """The witness directory is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class Witness:
    directory: Path
    name: str
    signer: Ed25519Signer

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.signer)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One cosign at a time for this witness, across processes."""
        descriptor = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def last_seen(self, origin: str) -> Checkpoint | None:
        state = _read_state(self.directory)
        body = state.get(origin)
        return parse_checkpoint(body.encode("utf-8")) if isinstance(body, str) else None

    def remember(self, checkpoint: Checkpoint) -> None:
        state = _read_state(self.directory)
        state[checkpoint.origin] = checkpoint.body().decode("utf-8")
        tmp = _write_temp(self.directory, json.dumps(state, indent=1).encode() + b"\n", 0o644)
        os.replace(tmp, self.directory / STATE_FILE)


def _read_state(directory: Path) -> dict[str, object]:
    path = directory / STATE_FILE
    if not path.exists():
        return {}
    state = json.loads(path.read_text("utf-8"))
    if not isinstance(state, dict):
        raise WitnessError(f"{path} is not a JSON object")
    return state


def init_witness(directory: Path, name: str) -> Witness:
    """Create a witness key in ``directory`` (refuses to overwrite one)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = directory / KEY_FILE
    if key_path.exists():
        raise WitnessError(f"{key_path} already exists; a witness keeps its key")
    signer = Ed25519Signer.generate()
    vkey = witness_verifier_key(name, raw_public_key(signer))  # checks the name first
    os.replace(_write_temp(directory, signer.private_key_pem(), 0o600), key_path)
    os.replace(_write_temp(directory, (vkey + "\n").encode(), 0o644), directory / VKEY_FILE)
    return Witness(directory, name, signer)


def load_witness(directory: Path) -> Witness:
    key_path, vkey_path = directory / KEY_FILE, directory / VKEY_FILE
    if not key_path.exists() or not vkey_path.exists():
        raise WitnessError(f"{directory} is not a witness directory (no {KEY_FILE} and "
                           f"{VKEY_FILE}); create one with: douane audit witness init")
    signer = _load_private(key_path)
    name, public = parse_witness_verifier_key(vkey_path.read_text("utf-8"))
    if public != raw_public_key(signer):
        raise WitnessError(f"{vkey_path} does not belong to the key in {key_path}")
    return Witness(directory, name, signer)


def load_witness_keys(paths: list[Path]) -> list[WitnessKey]:
    """Witness verifier keys from vkey files (one key per file)."""
    keys = []
    for path in paths:
        try:
            name, public = parse_witness_verifier_key(path.read_text("utf-8"))
        except CheckpointError as error:
            raise WitnessError(f"{path}: {error}") from None
        keys.append(WitnessKey(name, public, verifier_for_raw(public)))
    return keys


@dataclass(frozen=True)
class Cosigned:
    checkpoint: StoredCheckpoint
    previous_size: int


def cosign_latest(store: GroupCommitLog, keyring: Keyring, witness: Witness,
                  now: int | None = None) -> Cosigned:
    """Check and cosign the log's latest checkpoint. Raises WitnessRefusal on fork/rollback."""
    with witness.turn():
        return _cosign_latest(store, keyring, witness, now)


def _cosign_latest(store: GroupCommitLog, keyring: Keyring, witness: Witness,
                   now: int | None) -> Cosigned:
    latest = store.latest_checkpoint()
    if latest is None:
        raise WitnessError("the log has no checkpoint yet; sign one with: douane audit "
                           "checkpoint")
    checkpoint, _ = open_checkpoint(latest.note, note_keys(keyring, verifier_for_raw),
                                    keyring.origin)
    seen = witness.last_seen(checkpoint.origin)
    proof: list[bytes] = []
    if seen is not None and 0 < seen.size < checkpoint.size:
        proof = merkle.MerkleTree(store.leaf_hashes(checkpoint.size)).consistency_proof(
            seen.size, checkpoint.size)
    check_advance(seen, checkpoint, proof)
    timestamp = int(time.time()) if now is None else now
    text = split_note(latest.note)[0]  # the exact bytes the log signed
    line = cosign(text, witness.name, witness.public_key, timestamp,
                  witness.signer.sign)
    stored = store.add_note_signature(checkpoint.size, line)
    witness.remember(checkpoint)
    return Cosigned(stored, seen.size if seen else 0)
