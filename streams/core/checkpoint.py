"""Checkpoints of the audit log: C2SP tlog-checkpoint bodies inside C2SP signed notes.

Pure: no I/O and no ``cryptography``; signing and verifying are passed in as callables.

A checkpoint body (https://c2sp.org/tlog-checkpoint) is three lines, each ending in ``\\n``::

    douane.example/audit/prod          <- origin: names this log, and nothing else
    1234                               <- tree size (decimal, no leading zeros)
    kH3xv...=                          <- root hash, standard base64

A signed note (https://c2sp.org/signed-note) is that text, an empty line, and one line per
signature: ``— <key name> <base64(key hash || signature)>`` (U+2014 EM DASH). For Ed25519 the
key hash is the first 4 bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)`` and the
signature covers the note text exactly. The log signs with its origin as key name; any other
party (a witness) may add lines with its own key name, and a verifier ignores unknown keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streams.errors import DouaneError

ED25519_ALG = 0x01
SIGNATURE_PREFIX = "\u2014 "  # "— "
_NAME = re.compile(r"^[^\s+]+$")  # a key name: no whitespace, no '+'
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")

SignFn = Callable[[bytes], bytes]
VerifyFn = Callable[[bytes, bytes], bool]


class CheckpointError(DouaneError, ValueError):
    """A checkpoint or note that is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("a checkpoint origin is one non-empty line")
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii"),
                 *self.extensions]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """The checkpoint in a note text (the part before the signatures)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("checkpoint is not UTF-8") from None
    if not decoded.endswith("\n"):
        raise CheckpointError("checkpoint does not end with a newline")
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint has fewer than 3 lines")
    origin, size, root_b64, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not _SIZE.match(size) or int(size) >= 1 << 64:
        raise CheckpointError("checkpoint tree size is not a decimal 64-bit number")
    root_hash = _b64(root_b64, "checkpoint root hash")
    if len(root_hash) != 32:
        raise CheckpointError("checkpoint root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"{what} is not base64") from None


def note_key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """The 4-byte id of a note key: the start of SHA-256(name, newline, algorithm, key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key)
    return digest.digest()[:4]


def encode_note_key(name: str, algorithm: int, public_key: bytes) -> str:
    """A note verifier key string ``name+id+base64(algorithm || key)`` (as Go's note package)."""
    encoded = base64.b64encode(bytes([algorithm]) + public_key).decode("ascii")
    return f"{name}+{note_key_id(name, algorithm, public_key).hex()}+{encoded}"


def decode_note_key(vkey: str, algorithm: int, what: str, kind: str) -> tuple[str, bytes]:
    """(name, raw 32-byte public key) of a verifier key string of ``algorithm``; checks its id.
    ``what`` and ``kind`` name the key and its type in the errors."""
    parts = vkey.strip().split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3 or not _NAME.match(parts[0]):
        raise CheckpointError(f"{what} is not name+keyID+key")
    name, id_hex, encoded = parts
    raw = _b64(encoded, what)
    if len(raw) != 33 or raw[0] != algorithm:
        raise CheckpointError(f"{what} is not {kind} (type 0x{algorithm:02x})")
    if note_key_id(name, algorithm, raw[1:]).hex() != id_hex.lower():
        raise CheckpointError(f"{what} {name}: its key ID does not match its key")
    return name, raw[1:]


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 note key."""
    return note_key_id(name, ED25519_ALG, public_key)


def verifier_key(name: str, public_key: bytes) -> str:
    """The note verifier key string of an Ed25519 signer."""
    return encode_note_key(name, ED25519_ALG, public_key)


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """(name, raw 32-byte public key) from a verifier key string; checks its key hash."""
    return decode_note_key(vkey, ED25519_ALG, "verifier key", "an Ed25519 note key")


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> bytes:
        blob = base64.b64encode(self.key_hash + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n".encode()


def sign_note(text: bytes, name: str, public_key: bytes, sign: SignFn) -> NoteSignature:
    if not _NAME.match(name):
        raise CheckpointError("a note key name has no spaces and no '+'")
    return NoteSignature(name, key_hash(name, public_key), sign(text))


def format_note(text: bytes, signatures: list[NoteSignature]) -> bytes:
    if not text.endswith(b"\n"):
        raise CheckpointError("note text must end with a newline")
    return text + b"\n" + b"".join(sig.line() for sig in signatures)


def split_note(note: bytes) -> tuple[bytes, list[NoteSignature]]:
    """(text, signatures) of a signed note; refuses anything not in the C2SP form."""
    cut = note.rfind(b"\n\n")
    if cut < 0 or not note.endswith(b"\n"):
        raise CheckpointError("note has no signature block")
    text, block = note[: cut + 1], note[cut + 2 :]
    signatures = []
    for raw in block[:-1].split(b"\n"):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("note signature line is not UTF-8") from None
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError("note signature line does not start with an em dash")
        fields = line[len(SIGNATURE_PREFIX):].split(" ")
        if len(fields) != 2 or not _NAME.match(fields[0]):
            raise CheckpointError("note signature line is not '— name signature'")
        blob = _b64(fields[1], "note signature")
        if len(blob) < 5:
            raise CheckpointError("note signature is too short")
        signatures.append(NoteSignature(fields[0], blob[:4], blob[4:]))
    if not signatures:
        raise CheckpointError("note has no signatures")
    return text, signatures


@dataclass(frozen=True)
class NoteKey:
    name: str
    public_key: bytes
    verify: VerifyFn

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key)


def verify_note(note: bytes, keys: list[NoteKey]) -> tuple[bytes, list[NoteKey]]:
    """(text, keys whose signature verified). Raises unless at least one known key signed.

    A signature line by a known key (same name and key hash) that does not verify is an error,
    not something to skip: a note must not carry a bad signature for a key we trust.
    """
    text, signatures = split_note(note)
    by_id: Mapping[tuple[str, bytes], NoteKey] = {(k.name, k.key_hash): k for k in keys}
    good: list[NoteKey] = []
    for sig in signatures:
        key = by_id.get((sig.name, sig.key_hash))
        if key is None:
            continue
        if not key.verify(text, sig.signature):
            raise CheckpointError(f"note signature by {sig.name} ({sig.key_hash.hex()}) "
                                  "does not verify")
        good.append(key)
    if not good:
        raise CheckpointError("note is not signed by any known key")
    return text, good


def sign_checkpoint(
    checkpoint: Checkpoint, name: str, public_key: bytes, sign: SignFn
) -> bytes:
    text = checkpoint.body()
    return format_note(text, [sign_note(text, name, public_key, sign)])


def open_checkpoint(note: bytes, keys: list[NoteKey], origin: str) -> tuple[Checkpoint,
                                                                           list[NoteKey]]:
    """Verify a signed checkpoint note and parse it; its origin must be ``origin``."""
    text, signers = verify_note(note, keys)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for origin {checkpoint.origin!r}, "
                              f"not {origin!r}")
    return checkpoint, signers
