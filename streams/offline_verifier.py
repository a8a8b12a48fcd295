"""Standalone verifier for a douane audit evidence bundle. Trusts nothing from douane.

Needs only Python 3.11+ and the ``cryptography`` package. Copy this one file anywhere and run::

    python offline_verifier.py bundle.json [--keyring keys.json] [--trusted-checkpoint cp.txt]
                               [--witness w1.vkey --witness w2.vkey --quorum 2]

(or ``python -m streams.offline_verifier ...`` inside a douane checkout). Exit code 0: every
check passed; 1: the bundle is not valid evidence (the first problem is printed); 2: usage.

What the bundle holds (JSON, written by ``douane audit export``):
  origin       the name of the log, e.g. "douane.example/audit/prod"
  keyring      the log's public keys with their validity windows (prefer --keyring with a copy
               you obtained from the operator out of band: a forger would ship its own keys)
  checkpoint   the newest signed checkpoint: a C2SP signed note over "origin / size / root"
  checkpoints  older signed checkpoints, each with a consistency proof to the newest one
  records      the exported records: canonical JSON bytes, Ed25519 signature, key id, and an
               inclusion proof in the tree of the newest checkpoint

What is checked, in order (each step is a few lines below, in the same order):
  1. every key id is the SHA-256 prefix of its public key;
  2. the newest checkpoint is signed by a keyring key, for this origin; a checkpoint you
     already trusted is not larger (rollback) and, if of equal size, has the same root (fork);
  3. every older checkpoint is signed, and the newest extends it (RFC 9162 consistency proof);
  4. every record: Ed25519 signature over the DSSE PAE of its bytes, by a key whose window
     contains the record's time; bytes in RFC 8785 canonical form; fields present; its seq is
     its place in the tree; its inclusion proof leads to the checkpoint's root; consecutive
     records chain (prev_hash) with no gap; no record id twice; after a key rotation only the
     new key signs (each role, worker and DPO tools, has its own keys); a DPO key signs only
     erasures, holds, retention runs and its rotation, a worker key never an erasure or hold;
  5. with --quorum N: witness cosignatures (C2SP tlog-cosignature v1, Ed25519) by at least N
     distinct --witness keys on a checkpoint that covers every exported record (the newest,
     or an older one proven consistent in step 3). A line by an unknown key is ignored; a
     line claiming a given witness key that does not verify makes the bundle invalid.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BUNDLE_FORMAT = "douane.audit-bundle/v1"
# what each role's key may sign (a key without a role, from before roles, signs any kind);
# the same table as streams/core/keyring.py, repeated so this file stands alone
DPO_ONLY_KINDS = {"erased", "hold_placed", "hold_released"}
DPO_KINDS = DPO_ONLY_KINDS | {"retention_run", "key_rotated"}
PAYLOAD_TYPE = "application/vnd.douane.audit+json"
EM_DASH = "\u2014 "
REQUIRED = {"schema": str, "seq": int, "record_id": str, "kind": str, "occurred_at": str,
            "prev_hash": str, "key_id": str, "details": dict}


class Invalid(Exception):
    """The bundle is not valid evidence; the message says where and why."""


# --- RFC 8785 (JSON Canonicalization Scheme), enough for audit records -----------------------

def jcs(value: Any) -> str:
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _es6_number(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):  # keys sorted by their UTF-16 code units
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{jcs(k)}:{jcs(value[k])}" for k in keys) + "}"
    raise Invalid(f"not JSON: {type(value).__name__}")


def _es6_number(x: float) -> str:
    """ECMAScript Number.prototype.toString, as RFC 8785 requires."""
    if not math.isfinite(x):
        raise Invalid("NaN or Infinity in a record")
    if x == 0:
        return "0"
    sign, x = ("-", -x) if x < 0 else ("", x)
    mantissa, _, exp = repr(x).partition("e")  # shortest round-trip digits, as ES6
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0") or "0"
    point = len(whole) + (int(exp) if exp else 0)  # decimal point position relative to digits
    point -= len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + ("e+" if e >= 0 else "e-") \
            + str(abs(e))
    return sign + text


# --- RFC 6962 / 9162 Merkle tree -------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise Invalid(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Invalid("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise Invalid("inclusion proof does not lead to the checkpoint root")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes,
                       root2: bytes) -> None:
    """RFC 9162 section 2.1.4.2."""
    if not 0 < size1 <= size2:
        raise Invalid(f"no consistency from size {size1} to {size2}")
    if size1 == size2:
        if proof or root1 != root2:
            raise Invalid("same size, different root: the log was forked")
        return
    if not proof:
        raise Invalid("empty consistency proof")
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: root1 starts the path
        proof = [root1, *proof]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise Invalid("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise Invalid("the newer checkpoint does not extend the older one (fork or rewrite)")


# --- Keys, C2SP signed notes and checkpoints --------------------------------------------------

def b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise Invalid(f"{what} is not base64") from None


def load_keys(keyring: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = {}
    for entry in keyring.get("keys", []):
        raw = b64(entry["public_key"], f"public key {entry.get('key_id')}")
        if len(raw) != 32 or hashlib.sha256(raw).hexdigest()[:16] != entry["key_id"]:
            raise Invalid(f"keyring: key id {entry['key_id']} does not match its public key")
        public = Ed25519PublicKey.from_public_bytes(raw)
        keys[entry["key_id"]] = {**entry, "raw": raw, "key": public}
    if not keys:
        raise Invalid("keyring holds no keys")
    return keys


def signed_by(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def in_window(key: dict[str, Any], moment: str) -> bool:
    return (key["not_before"] is None or key["not_before"] <= moment) and (
        key["not_after"] is None or moment <= key["not_after"])


def open_checkpoint(note: str, origin: str, keys: dict[str, dict[str, Any]]) -> tuple[int, bytes,
                                                                                   list[str]]:
    """(size, root, ids of keyring keys that signed it) of a C2SP signed-note checkpoint."""
    text, sep, block = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise Invalid("checkpoint is not a signed note")
    text += "\n"
    lines = text[:-1].split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise Invalid(f"checkpoint is for origin {lines[0]!r}, not {origin!r}")
    if not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise Invalid("checkpoint size is not a decimal number")
    size, root = int(lines[1]), b64(lines[2], "checkpoint root")
    signers = []
    for line in block[:-1].split("\n"):
        if not line.startswith(EM_DASH) or line.count(" ") != 2:
            raise Invalid("checkpoint signature line is malformed")
        name, blob = line[len(EM_DASH):].split(" ")
        sig = b64(blob, "checkpoint signature")
        for key_id, key in keys.items():
            key_hash = hashlib.sha256(name.encode() + b"\n\x01" + key["raw"]).digest()[:4]
            if name == origin and sig[:4] == key_hash:
                if not signed_by(key["key"], text.encode(), sig[4:]):
                    raise Invalid(f"checkpoint signature by key {key_id} does not verify")
                signers.append(key_id)
    if not signers:
        raise Invalid("checkpoint is not signed by any key of the keyring")
    return size, root, signers


# --- Witness cosignatures (https://c2sp.org/tlog-cosignature, Ed25519) -----------------------

def load_witness(vkey: str) -> tuple[str, bytes, bytes]:
    """(name, key ID, raw public key) from ``name+keyid+base64(0x04 || key)``."""
    parts = vkey.strip().split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3:
        raise Invalid("witness key is not name+keyid+key")
    name, key_id, raw = parts[0], parts[1], b64(parts[2], "witness key")
    if len(raw) != 33 or raw[0] != 0x04:
        raise Invalid(f"witness key {name} is not an Ed25519 cosignature/v1 key")
    expected = hashlib.sha256(name.encode() + b"\n\x04" + raw[1:]).digest()[:4]
    if expected.hex() != key_id.lower():
        raise Invalid(f"witness key {name}: key ID does not match its key")
    return name, expected, raw[1:]


def cosigned_by(note: str, witnesses: list[tuple[str, bytes, bytes]]) -> set[bytes]:
    """Public keys of the given witnesses whose cosignature on this checkpoint verifies."""
    text, _, block = note.rpartition("\n\n")
    text += "\n"
    found = set()
    for line in block[:-1].split("\n"):
        name, _, blob = line[len(EM_DASH):].partition(" ")
        sig = b64(blob, "checkpoint signature")
        for w_name, key_id, public in witnesses:
            if name != w_name or sig[:4] != key_id:
                continue
            if len(sig) != 4 + 8 + 64:
                raise Invalid(f"cosignature by witness {name} has the wrong length")
            timestamp = int.from_bytes(sig[4:12], "big")
            message = b"cosignature/v1\ntime %d\n" % timestamp + text.encode()
            key = Ed25519PublicKey.from_public_bytes(public)
            if timestamp >= 1 << 63 or not signed_by(key, message, sig[12:]):
                raise Invalid(f"cosignature by witness {name} does not verify")
            found.add(public)
    return found


def check_quorum(bundle: dict[str, Any], size: int, witnesses: list[str], quorum: int) -> str:
    keys = [load_witness(vkey) for vkey in witnesses]
    distinct = len({public for _, _, public in keys})
    if quorum > distinct:
        raise Invalid(f"quorum {quorum} is more than the {distinct} distinct witness keys")
    notes = [(size, bundle["checkpoint"])] + [(c["size"], c["note"])
                                              for c in bundle["checkpoints"]]
    counts = {n: len(cosigned_by(note, keys)) for n, note in notes}
    witnessed = [n for n, count in counts.items() if count >= quorum]
    if not witnessed:
        raise Invalid(f"no checkpoint is cosigned by {quorum} of the given witnesses (at most "
                      f"{max(counts.values())})")
    last_record = max((r["seq"] for r in bundle["records"]), default=0)
    if max(witnessed) < last_record:
        raise Invalid(f"records after {max(witnessed)} (up to {last_record}) are not in a "
                      f"checkpoint cosigned by {quorum} witnesses")
    return f"; witnessed by {quorum}+ witnesses up to size {max(witnessed)}"


# --- The bundle ------------------------------------------------------------------------------

def verify_bundle(bundle: dict[str, Any], keyring: dict[str, Any] | None = None,
                  trusted_checkpoint: str | None = None, witnesses: list[str] | None = None,
                  quorum: int = 0) -> str:
    """Check everything; return a one-line summary or raise Invalid."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise Invalid(f"not a {BUNDLE_FORMAT} bundle")
    keyring = keyring or bundle["keyring"]
    origin = keyring["origin"]
    if bundle["origin"] != origin:
        raise Invalid(f"bundle is for origin {bundle['origin']!r}, the keyring for {origin!r}")
    keys = load_keys(keyring)                                                         # step 1

    size, root, _ = open_checkpoint(bundle["checkpoint"], origin, keys)              # step 2
    if trusted_checkpoint is not None:
        old_size, old_root, _ = open_checkpoint(trusted_checkpoint, origin, keys)
        if old_size > size:
            raise Invalid(f"rollback: you trusted a checkpoint of {old_size} records, the "
                          f"bundle's newest has {size}")
        known = {c["size"]: c for c in bundle["checkpoints"]}
        if old_size == size and old_root != root:
            raise Invalid("fork: your trusted checkpoint has the same size, another root")
        if old_size < size and (old_size not in known or open_checkpoint(
                known[old_size]["note"], origin, keys)[1] != old_root):
                raise Invalid(f"the bundle does not prove it extends your checkpoint of "
                              f"{old_size} records")

    for older in bundle["checkpoints"]:                                               # step 3
        old_size, old_root, _ = open_checkpoint(older["note"], origin, keys)
        if old_size != older["size"]:
            raise Invalid(f"checkpoint listed as size {older['size']} is signed for {old_size}")
        if old_size:
            proof = [b64(p, "consistency proof") for p in older["consistency_proof"]]
            try:
                verify_consistency(old_size, size, proof, old_root, root)
            except Invalid as error:
                raise Invalid(f"checkpoint of size {old_size}: {error}") from None

    previous: dict[str, Any] | None = None                                             # step 4
    seen: dict[str, int] = {}
    rotated_to: dict[str, str] = {}  # per role: the key that replaced the role's previous one
    for item in bundle["records"]:
        seq, label = item["seq"], f"record {item['seq']}"
        canonical = b64(item["canonical"], f"{label} bytes")
        key = keys.get(item["key_id"])
        if key is None:
            raise Invalid(f"{label}: signed by key {item['key_id']}, which is not in the keyring")
        pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(canonical),
                                       canonical)
        if not signed_by(key["key"], pae, b64(item["signature"], f"{label} signature")):
            raise Invalid(f"{label}: signature does not verify with key {item['key_id']}")
        try:
            payload = json.loads(canonical)
        except ValueError:
            raise Invalid(f"{label}: not JSON") from None
        if not isinstance(payload, dict) or jcs(payload).encode() != canonical:
            raise Invalid(f"{label}: not in RFC 8785 canonical form")
        for name, kind in REQUIRED.items():
            if not isinstance(payload.get(name), kind) or isinstance(payload.get(name), bool):
                raise Invalid(f"{label}: field {name} missing or not a {kind.__name__}")
        label = f"record {seq} ({payload['record_id']})"
        if payload["seq"] != seq or payload["key_id"] != item["key_id"]:
            raise Invalid(f"{label}: its signed seq/key id differ from the bundle's")
        if not in_window(key, payload["occurred_at"]):
            raise Invalid(f"{label}: signed by key {item['key_id']} outside its validity window")
        role = key.get("role")
        if (role == "dpo" and payload["kind"] not in DPO_KINDS) or (
                role == "worker" and payload["kind"] in DPO_ONLY_KINDS):
            raise Invalid(f"{label}: a {payload['kind']!r} record signed by a {role} key, "
                          "which may not sign that kind")
        succession = role or "worker"
        if succession in rotated_to and item["key_id"] != rotated_to[succession]:
            raise Invalid(f"{label}: signed by {item['key_id']} after rotation to "
                          f"{rotated_to[succession]}")
        if payload["kind"] == "key_rotated":
            rotated_to[succession] = payload["details"].get("new_key_id")
        if payload["record_id"] in seen:
            raise Invalid(f"{label}: record id already used by record {seen[payload['record_id']]}")
        seen[payload["record_id"]] = seq
        proof = [b64(p, f"{label} proof") for p in item["inclusion_proof"]]
        try:
            verify_inclusion(seq - 1, size, leaf_hash(canonical), proof, root)
        except Invalid as error:
            raise Invalid(f"{label}: {error}") from None
        if previous is not None:  # an export is a contiguous run of records
            if seq != previous["seq"] + 1:
                raise Invalid(f"{label}: follows record {previous['seq']} (a gap or reordering)")
            if payload["prev_hash"] != previous["leaf"]:
                raise Invalid(f"{label}: prev_hash does not match record {previous['seq']}")
        previous = {"seq": seq, "leaf": leaf_hash(canonical).hex()}
    witnessed = check_quorum(bundle, size, witnesses or [], quorum) if quorum > 0 else ""  # 5
    return (f"OK: {len(bundle['records'])} records and {len(bundle['checkpoints']) + 1} "
            f"checkpoints verified; log {origin!r} at size {size}, root {root.hex()}"
            f"{witnessed}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a douane audit evidence bundle.")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--keyring", type=Path, help="the log's keyring, obtained out of band")
    parser.add_argument("--trusted-checkpoint", type=Path,
                        help="a signed checkpoint you saw earlier (detects rollback and forks)")
    parser.add_argument("--witness", type=Path, action="append", default=[],
                        help="a witness's public key file (name+keyid+key); repeatable")
    parser.add_argument("--quorum", type=int, default=0,
                        help="require cosignatures by at least N of the --witness keys")
    args = parser.parse_args(argv)
    try:
        bundle = json.loads(args.bundle.read_text("utf-8"))
        keyring = json.loads(args.keyring.read_text("utf-8")) if args.keyring else None
        trusted = args.trusted_checkpoint.read_text("utf-8") if args.trusted_checkpoint else None
        witnesses = [path.read_text("utf-8") for path in args.witness]
        print(verify_bundle(bundle, keyring, trusted, witnesses, args.quorum))
        return 0
    except Invalid as error:
        print(f"INVALID: {error}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"INVALID: unreadable bundle ({type(error).__name__}: {error})")
        return 1


if __name__ == "__main__":
    sys.exit(main())
