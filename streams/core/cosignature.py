"""Witness cosignatures on audit checkpoints: C2SP tlog-cosignature v1 (Ed25519).

Pure: no I/O and no ``cryptography``; signing and verifying are passed in as callables.

A witness (e.g. the DPO office) keeps its own Ed25519 key. Before it cosigns a checkpoint it
checks that the checkpoint only appends to the last one it cosigned for the same origin (see
:func:`check_advance`). Its cosignature is one more signature line on the signed note
(https://c2sp.org/tlog-cosignature, Ed25519 type)::

    — <witness name> base64(key ID || u64 timestamp (big-endian) || Ed25519 signature)

- key ID: ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` (0x04, not the 0x01 of an
  ordinary note key: a cosignature signs a different message, so it is a different key type);
- signed message: ``"cosignature/v1\\n" "time <timestamp>\\n"`` followed by the checkpoint
  body (the note text, final newline included, no signature lines);
- verifier key (vkey): ``<name>+<key ID hex>+base64(0x04 || public key)``.

The Ed25519 message does not commit to the witness name, so witnesses are counted by public
key: the same key listed under two names is one witness.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streams.core import merkle
from streams.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteSignature,
    decode_note_key,
    encode_note_key,
    format_note,
    note_key_id,
    split_note,
)
from streams.errors import DouaneError

COSIGNATURE_ALG = 0x04
HEADER = b"cosignature/v1\n"
MAX_TIMESTAMP = (1 << 63) - 1
_NAME = re.compile(r"^[^\s+]+$")

SignFn = Callable[[bytes], bytes]
VerifyFn = Callable[[bytes, bytes], bool]


class WitnessRefusal(DouaneError, ValueError):
    """The new checkpoint does not extend the one the witness saw (fork or rollback)."""


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return note_key_id(name, COSIGNATURE_ALG, public_key)


def witness_verifier_key(name: str, public_key: bytes) -> str:
    if not _NAME.match(name):
        raise CheckpointError("a witness name has no spaces and no '+'")
    return encode_note_key(name, COSIGNATURE_ALG, public_key)


def parse_witness_verifier_key(vkey: str) -> tuple[str, bytes]:
    """(name, raw 32-byte public key) of a cosigner vkey; checks its key ID."""
    return decode_note_key(vkey, COSIGNATURE_ALG, "witness key",
                           "an Ed25519 cosignature/v1 key")


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp} is out of range")
    return HEADER + b"time %d\n" % timestamp + body


def cosign(body: bytes, name: str, public_key: bytes, timestamp: int,
           sign: SignFn) -> NoteSignature:
    """The cosignature line's content for a checkpoint body."""
    signature = sign(cosigned_message(body, timestamp))
    return NoteSignature(name, cosigner_key_id(name, public_key),
                         struct.pack(">Q", timestamp) + signature)


def add_signature(note: bytes, signature: NoteSignature) -> bytes:
    """The note with ``signature`` added, replacing an earlier line of the same key."""
    text, signatures = split_note(note)
    kept = [s for s in signatures
            if (s.name, s.key_hash) != (signature.name, signature.key_hash)]
    return format_note(text, [*kept, signature])


@dataclass(frozen=True)
class WitnessKey:
    name: str
    public_key: bytes
    verify: VerifyFn

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, self.public_key)


def cosigners(note: bytes, witnesses: Iterable[WitnessKey]) -> set[bytes]:
    """Public keys of the known witnesses whose cosignature on ``note`` verifies.

    Lines by unknown keys are ignored (anyone may add lines); a line that claims a known
    witness (same name and key ID) but does not verify is an error, as for the log's own key.
    """
    text, signatures = split_note(note)
    by_id = {(w.name, w.key_id): w for w in witnesses}
    good: set[bytes] = set()
    for line in signatures:
        witness = by_id.get((line.name, line.key_hash))
        if witness is None:
            continue
        if len(line.signature) != 8 + 64:
            raise CheckpointError(f"cosignature by witness {line.name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", line.signature[:8])
        if timestamp > MAX_TIMESTAMP or not witness.verify(
                cosigned_message(text, timestamp), line.signature[8:]):
            raise CheckpointError(f"cosignature by witness {line.name} "
                                  f"({line.key_hash.hex()}) does not verify")
        good.add(witness.public_key)
    return good


def witnessed_size(notes: Iterable[tuple[int, bytes]], witnesses: list[WitnessKey],
                   quorum: int) -> tuple[int | None, int]:
    """(largest size whose note has ``quorum`` cosigners or None, most cosigners on any note)."""
    best_size: int | None = None
    most = 0
    for size, note in notes:
        count = len(cosigners(note, witnesses))
        most = max(most, count)
        if count >= quorum and (best_size is None or size > best_size):
            best_size = size
    return best_size, most


def _b64(root: bytes) -> str:
    return base64.b64encode(root).decode("ascii")


def check_advance(seen: Checkpoint | None, new: Checkpoint, proof: list[bytes]) -> None:
    """Refuse unless ``new`` extends ``seen`` (same origin): no rollback, no fork."""
    if seen is None or seen.size == 0:
        return
    if seen.origin != new.origin:
        raise WitnessRefusal(f"checkpoint is for origin {new.origin!r}, the witness state "
                             f"is for {seen.origin!r}")
    if new.size < seen.size:
        raise WitnessRefusal(
            f"rollback: the log's checkpoint has size {new.size} (root {_b64(new.root_hash)}) "
            f"but this witness already cosigned size {seen.size} (root {_b64(seen.root_hash)})")
    if new.size == seen.size and new.root_hash != seen.root_hash:
        raise WitnessRefusal(
            f"fork: the log's checkpoint at size {new.size} has root {_b64(new.root_hash)}, "
            f"but this witness cosigned root {_b64(seen.root_hash)} for the same size")
    try:
        merkle.verify_consistency(seen.size, new.size, proof, seen.root_hash, new.root_hash)
    except merkle.ProofError as error:
        raise WitnessRefusal(
            f"fork: the log's checkpoint at size {new.size} (root {_b64(new.root_hash)}) does "
            f"not extend the one this witness cosigned at size {seen.size} (root "
            f"{_b64(seen.root_hash)}): {error}") from None
