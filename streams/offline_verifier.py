"""Standalone verifier for a douane audit evidence bundle. Trusts nothing from douane.

Needs only Python 3.11+ and the ``cryptography`` package. Copy this one file anywhere and run::

    python offline_verifier.py bundle.json [--keyring keys.json] [--trusted-checkpoint cp.txt]
                               [--save-checkpoint cp.txt]
                               [--witness w1.vkey --witness w2.vkey --quorum 2]
    python offline_verifier.py verify-proof proof.json --keyring keys.json
                               [--trusted-checkpoint cp.txt] [--save-checkpoint cp.txt]

(or ``python -m streams.offline_verifier ...`` inside a douane checkout). Exit code 0: every
check passed; 1: the bundle is not valid evidence (the first problem is printed); 2: usage.

What the bundle holds (JSON, written by ``douane audit export``):
  origin       the name of the log, e.g. "douane.example/audit/prod"
  keyring      the log's public keys with their validity windows (prefer --keyring with a copy
               you obtained from the operator out of band: a forger would ship its own keys;
               without --keyring the verifier says loudly that it used these)
  statement    the export statement, signed by the log's key: origin, the period asked for
               (since/until), the first and last record exported and the checkpoint they are
               proven against, so none of these can be edited or cut after the export
  checkpoint   the newest signed checkpoint: a C2SP signed note over "origin / size / root"
  checkpoints  older signed checkpoints, each with a consistency proof to the newest one
  records      the exported records: canonical JSON bytes, Ed25519 signature, key id, and an
               inclusion proof in the tree of the newest checkpoint

What is checked, in order (each step is a few lines below, in the same order):
  1. every key id is the SHA-256 prefix of its public key;
  2. the newest checkpoint is signed by a keyring key, for this origin; a checkpoint you
     already trusted is not larger (rollback) and, if of equal size, has the same root (fork);
  3. every older checkpoint is signed, and the newest extends it (RFC 9162 consistency proof);
  4. the signed export statement: by a keyring key valid when the bundle was exported; it
     names this origin, the period (since/until) and the bundle's checkpoint; if the operator's
     own check of the whole log failed before the export, it says so, and so does this file;
  5. every record: Ed25519 signature over the DSSE PAE of its bytes, by a key whose window
     contains the record's time; bytes in RFC 8785 canonical form; fields present; its seq is
     its place in the tree; its inclusion proof leads to the checkpoint's root; consecutive
     records chain (prev_hash) with no gap; no record id twice; after a key rotation only the
     new key signs (each role, worker and DPO tools, has its own keys); a DPO key signs only
     erasures, holds, retention runs and its rotation, a worker key never an erasure or hold;
     the records present are exactly the first to the last record the statement names; an
     export with no end (no --until) runs to the checkpoint's last record, so a record cut from
     the end is found even against the checkpoint alone;
  6. with --quorum N: witness cosignatures (C2SP tlog-cosignature v1, Ed25519) by at least N
     distinct --witness keys on a checkpoint that covers every exported record (the newest,
     or an older one proven consistent in step 3). A line by an unknown key is ignored; a
     line claiming a given witness key that does not verify makes the bundle invalid.

It then says, in plain sentences, which records are covered, whether the operator's own check
passed, and which keys it trusted and where they came from (a WARNING before and after the
result when they are the bundle's own). ``verify-proof`` checks the output of ``douane audit
prove`` for one record the same way (signature, fields, inclusion proof, signed checkpoint and,
with --trusted-checkpoint, the consistency proof from it); a proof carries no keys, so it needs
--keyring. --save-checkpoint writes the checkpoint exactly as signed, never an older one over a
newer; reading one back undoes what copying does to text files (see ``read_checkpoint``).
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

BUNDLE_FORMAT = "douane.audit-bundle/v2"
STATEMENT_FORMAT = "douane.audit-export/v1"
# what each role's key may sign (a key without a role, from before roles, signs any kind);
# the same table as streams/core/keyring.py, repeated so this file stands alone
DPO_ONLY_KINDS = {"erased", "hold_placed", "hold_released", "erasure_refused",
                  "subject_linked", "console_access"}
DPO_KINDS = DPO_ONLY_KINDS | {"retention_run", "key_rotated"}
PAYLOAD_TYPE = "application/vnd.douane.audit+json"
# a different payload type: an export statement can never pass for a record, nor the reverse
STATEMENT_PAYLOAD_TYPE = "application/vnd.douane.audit-export+json"
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


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: the bytes that are actually signed."""
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload),
                                    payload)


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
                  quorum: int = 0, keyring_source: str | None = None) -> str:
    """Check everything; return what was verified, in plain sentences, or raise Invalid.

    ``keyring_source`` names where ``keyring`` came from (e.g. its file), for the report.
    """
    if bundle.get("format") == "douane.audit-bundle/v1":
        raise Invalid("this bundle was written by an older douane whose exported period is not "
                      "signed; ask the operator to export it again")
    if bundle.get("format") != BUNDLE_FORMAT:
        raise Invalid(f"not a {BUNDLE_FORMAT} bundle")
    trust = trusted_keys_sentence(bundle, keyring, keyring_source)
    keys_from_bundle = keyring is None
    keyring = keyring or bundle["keyring"]
    origin = keyring["origin"]
    if bundle["origin"] != origin:
        raise Invalid(f"bundle is for origin {bundle['origin']!r}, the keyring for {origin!r}")
    keys = load_keys(keyring)                                                         # step 1

    size, root, _ = open_checkpoint(bundle["checkpoint"], origin, keys)              # step 2
    if trusted_checkpoint is not None:
        check_extends_trusted(bundle, trusted_checkpoint, origin, keys, size, root)

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

    statement = open_statement(bundle, keys, origin, size, root)                      # step 4
    try:                                                                              # step 5
        times = check_records(bundle["records"], keys, size, root)
        check_range(bundle, statement, size)
    except Invalid as error:
        note = damage_note(statement.get("operator_check"), "the signed export statement says")
        raise Invalid(f"{error}{note}") from None
    witnessed = check_quorum(bundle, size, witnesses or [], quorum) if quorum > 0 else ""  # 6
    records = bundle["records"]
    checkpoints = len(bundle["checkpoints"]) + 1
    lines = [f"OK: {len(records)} records and {checkpoints} checkpoint"
             f"{'' if checkpoints == 1 else 's'} verified; log {origin!r} at size {size}, "
             f"root {root.hex()}{witnessed}",
             covered_sentence(records, times, statement), operator_sentence(statement), trust]
    if keys_from_bundle:
        lines.insert(0, trust)  # said first and last: it changes what "OK" means
    return "\n".join(lines)


def trusted_keys_sentence(bundle: dict[str, Any], keyring: dict[str, Any] | None,
                          keyring_source: str | None) -> str:
    """Which keys this run trusts and where they came from."""
    if keyring is not None:
        ids = ", ".join(entry["key_id"] for entry in keyring.get("keys", []))
        return (f"Keys trusted: the keyring {keyring_source or 'you gave'} (log "
                f"{keyring.get('origin')!r}; key ids {ids}). The result is only as good as the "
                "way you obtained that file from the operator.")
    ids = ", ".join(entry.get("key_id", "?") for entry in bundle.get("keyring", {})
                    .get("keys", []))
    return ("WARNING: no --keyring was given, so the signatures were checked with the keys "
            f"INSIDE THE BUNDLE (its 'keyring' field; key ids {ids}). Whoever made the bundle "
            "chose those keys: this shows the bundle is consistent with itself, NOT that the "
            "operator's log signed it. Next step: get the log's keyring (audit.keyring.json) "
            "from the operator through a channel you trust, and run again with --keyring.")


def check_extends_trusted(bundle: dict[str, Any], trusted_checkpoint: str, origin: str,
                          keys: dict[str, dict[str, Any]], size: int, root: bytes) -> None:
    """The bundle's newest checkpoint is not older than, and extends, the one you trusted."""
    old_size, old_root, _ = open_checkpoint(trusted_checkpoint, origin, keys)
    if old_size > size:
        raise Invalid(f"rollback: you trusted a checkpoint of {old_size} records, the "
                      f"bundle's newest has {size}")
    known = {c["size"]: c for c in bundle["checkpoints"]}
    if old_size == size and old_root != root:
        raise Invalid("fork: your trusted checkpoint has the same size, another root")
    if old_size < size and (old_size not in known or open_checkpoint(
            known[old_size]["note"], origin, keys)[1] != old_root):
        raise Invalid(f"the bundle does not prove it extends your checkpoint of {old_size} "
                      "records (ask the operator to export with --trusted-checkpoint and "
                      "that file)")


def check_records(records: list[dict[str, Any]], keys: dict[str, dict[str, Any]], size: int,
                  root: bytes) -> list[str]:
    """Every record (step 5); returns their times, in order."""
    previous: dict[str, Any] | None = None
    seen: dict[str, int] = {}
    times: list[str] = []
    rotated_to: dict[str, str] = {}  # per role: the key that replaced the role's previous one
    for item in records:
        seq = item["seq"]
        canonical = b64(item["canonical"], f"record {seq} bytes")
        payload = check_signed_record(seq, item["key_id"], canonical, item["signature"], keys)
        label = f"record {seq} ({payload['record_id']})"
        succession = keys[item["key_id"]].get("role") or "worker"
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
        times.append(payload["occurred_at"])
    return times


def check_signed_record(seq: int, key_id: str, canonical: bytes, signature: str,
                        keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One record's signature, canonical form, fields, seq and key window; its payload."""
    label = f"record {seq}"
    key = keys.get(key_id)
    if key is None:
        raise Invalid(f"{label}: signed by key {key_id}, which is not in the keyring")
    if not signed_by(key["key"], pae(PAYLOAD_TYPE, canonical), b64(signature,
                                                                   f"{label} signature")):
        raise Invalid(f"{label}: signature does not verify with key {key_id}")
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
    if payload["seq"] != seq or payload["key_id"] != key_id:
        raise Invalid(f"{label}: its signed seq/key id differ from those given with it")
    if not in_window(key, payload["occurred_at"]):
        raise Invalid(f"{label}: signed by key {key_id} outside its validity window")
    role = key.get("role")
    if (role == "dpo" and payload["kind"] not in DPO_KINDS) or (
            role == "worker" and payload["kind"] in DPO_ONLY_KINDS):
        raise Invalid(f"{label}: a {payload['kind']!r} record signed by a {role} key, "
                      "which may not sign that kind")
    return payload


def open_statement(bundle: dict[str, Any], keys: dict[str, dict[str, Any]], origin: str,
                   size: int, root: bytes) -> dict[str, Any]:
    """The signed export statement (step 4): the period and checkpoint cannot be edited."""
    envelope = bundle.get("statement")
    if not isinstance(envelope, dict):
        raise Invalid("the bundle has no signed export statement (its period and record range "
                      "could have been edited)")
    key = keys.get(envelope.get("key_id", ""))
    if key is None:
        raise Invalid(f"export statement: signed by key {envelope.get('key_id')}, which is not "
                      "in the keyring")
    payload = b64(envelope.get("payload", ""), "export statement")
    if not signed_by(key["key"], pae(STATEMENT_PAYLOAD_TYPE, payload),
                     b64(envelope.get("signature", ""), "export statement signature")):
        raise Invalid(f"export statement: signature does not verify with key {envelope['key_id']}")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise Invalid("export statement: not JSON") from None
    if not isinstance(statement, dict) or statement.get("format") != STATEMENT_FORMAT:
        raise Invalid(f"export statement: not a {STATEMENT_FORMAT} statement")
    if not isinstance(statement.get("exported_at"), str) or not in_window(
            key, statement["exported_at"]):
        raise Invalid(f"export statement: signed by key {envelope['key_id']} outside its "
                      "validity window")
    if statement.get("origin") != origin:
        raise Invalid(f"export statement: for log {statement.get('origin')!r}, not {origin!r}")
    for name in ("since", "until"):
        if bundle.get(name) != statement.get(name):
            raise Invalid(f"the bundle says {name} = {bundle.get(name)!r} but its signed export "
                          f"statement says {statement.get(name)!r}: the period was edited after "
                          "the export")
    if (statement.get("checkpoint_size"), statement.get("checkpoint_root")) != (
            size, base64.b64encode(root).decode("ascii")):
        raise Invalid("export statement: it was signed for another checkpoint than the bundle's")
    return statement


def check_range(bundle: dict[str, Any], statement: dict[str, Any], size: int) -> None:
    """The records present are exactly the range the statement signed (end of step 5)."""
    records = bundle["records"]
    first = records[0]["seq"] if records else None
    last = records[-1]["seq"] if records else None
    if bundle.get("until") is None and last is not None and last != size:  # against the checkpoint
        raise Invalid(f"the export has no end date, so it must run to the last record of its "
                      f"checkpoint ({size}), but it stops at record {last}: records were "
                      "removed from the end of the bundle")
    if (statement.get("first_seq"), statement.get("last_seq")) != (first, last):
        raise Invalid(f"the signed export statement says records {statement.get('first_seq')} "
                      f"to {statement.get('last_seq')} were exported, the bundle holds "
                      f"{_span(first, last)}: records were removed or added after the export")


def damage_note(check: object, whose: str) -> str:
    """Added to a failure when the operator's own check had already found the log damaged."""
    if isinstance(check, str) and check.startswith("failed: "):
        return (f" (note: {whose} douane's own check of the whole log had already FAILED "
                f"({check[len('failed: '):]}); that damage may be what is found here)")
    return ""


def _span(first: int | None, last: int | None) -> str:
    return "no records" if first is None else f"records {first} to {last}"


def operator_sentence(statement: dict[str, Any]) -> str:
    """What the operator's own check of the whole log said when exporting (signed)."""
    check = statement.get("operator_check")
    if check == "passed":
        return "The operator's own check of the whole log passed just before this export."
    if isinstance(check, str) and check.startswith("failed: "):
        return ("WARNING: the operator exported this bundle although douane's own check of the "
                f"whole log FAILED ({check[len('failed: '):]}). The records above verify, but "
                "the log they come from is damaged: ask the operator what happened.")
    return "The operator's own check of the whole log was not run before this export."


def covered_sentence(records: list[dict[str, Any]], times: list[str],
                     statement: dict[str, Any]) -> str:
    since = statement.get("since") or "the first record"
    until = statement.get("until") or "the checkpoint (no end date)"
    asked = f"the operator exported the period from {since} to {until}"
    if not records:
        return f"Records covered: none; {asked} and no record falls in it."
    return (f"Records covered: {records[0]['seq']} to {records[-1]['seq']} ({len(records)} "
            f"records, written {times[0]} to {times[-1]}); {asked} (signed with the bundle).")


# --- One record's inclusion proof (``douane audit prove``) -------------------------------------

def verify_proof(proof: dict[str, Any], keyring: dict[str, Any],
                 trusted_checkpoint: str | None = None, keyring_source: str | None = None) -> str:
    """Check the output of ``douane audit prove``; return what was verified or raise Invalid.

    A proof carries no keys: the keyring must come from you (``--keyring``)."""
    origin = keyring["origin"]
    if proof.get("origin", origin) != origin:
        raise Invalid(f"the proof is for log {proof.get('origin')!r}, the keyring for {origin!r}")
    keys = load_keys(keyring)
    size, root, _ = open_checkpoint(proof["checkpoint"], origin, keys)
    if proof.get("tree_size", size) != size:
        raise Invalid(f"the proof says tree size {proof['tree_size']}, its checkpoint {size}")
    envelope = proof["envelope"]
    if envelope.get("payloadType") != PAYLOAD_TYPE or len(envelope.get("signatures", [])) != 1:
        raise Invalid(f"the record is not a DSSE envelope of type {PAYLOAD_TYPE} with one "
                      "signature")
    try:
        return _verify_proof(proof, keyring, origin, keys, size, root, trusted_checkpoint,
                             keyring_source)
    except Invalid as error:
        note = damage_note(proof.get("operator_check"), "the proof file says")
        raise Invalid(f"{error}{note}") from None


def _verify_proof(proof: dict[str, Any], keyring: dict[str, Any], origin: str,
                  keys: dict[str, dict[str, Any]], size: int, root: bytes,
                  trusted_checkpoint: str | None, keyring_source: str | None) -> str:
    envelope = proof["envelope"]
    signature = envelope["signatures"][0]
    seq = proof["leaf_index"] + 1
    canonical = b64(envelope["payload"], "record bytes")
    payload = check_signed_record(seq, signature["keyid"], canonical, signature["sig"], keys)
    label = f"record {seq} ({payload['record_id']})"
    if payload["record_id"] != proof["record_id"]:
        raise Invalid(f"{label}: the proof is labelled for record {proof['record_id']!r}")
    leaf = leaf_hash(canonical)
    if "leaf_hash" in proof and b64(proof["leaf_hash"], "leaf hash") != leaf:
        raise Invalid(f"{label}: its leaf hash is not the hash of its bytes")
    try:
        verify_inclusion(seq - 1, size, leaf, [b64(p, "inclusion proof")
                                               for p in proof["inclusion_proof"]], root)
    except Invalid as error:
        raise Invalid(f"{label}: {error}") from None
    lines = [f"OK: record {seq} ({payload['record_id']}, {payload['kind']}, written "
             f"{payload['occurred_at']}) is in log {origin!r}: its signature by key "
             f"{signature['keyid']} verifies and its inclusion proof leads to the signed "
             f"checkpoint of {size} records (root {root.hex()})."]
    if trusted_checkpoint is None:
        lines.append("No --trusted-checkpoint given: nothing shows this checkpoint is the same "
                     "history you saw before. Save it (--save-checkpoint) and pass it next "
                     "time.")
    else:
        old_size, old_root, _ = open_checkpoint(trusted_checkpoint, origin, keys)
        consistency = proof.get("consistency") or {}
        if old_size > size:
            raise Invalid(f"rollback: you trusted a checkpoint of {old_size} records, this "
                          f"proof's has {size}; ask for a fresh proof")
        if old_size == size and old_root != root:
            raise Invalid("fork: your trusted checkpoint has the same size, another root")
        if old_size < size:
            if consistency.get("from_size") != old_size:
                raise Invalid(f"the proof does not show the log extends your checkpoint of "
                              f"{old_size} records; ask for it with `douane audit prove "
                              f"{proof['record_id']} --trusted-checkpoint <your file>`")
            verify_consistency(old_size, size, [b64(p, "consistency proof")
                                                for p in consistency["proof"]], old_root, root)
        lines.append(f"Consistent with your trusted checkpoint of {old_size} records: the log "
                     "only grew since, nothing before it was changed.")
    check = proof.get("operator_check")
    if isinstance(check, str) and check.startswith("failed: "):
        lines.append(f"WARNING: the proof file says douane's own check of the whole log FAILED "
                     f"when it was made ({check[len('failed: '):]}): this record verifies, but "
                     "the log it comes from is damaged; ask the operator what happened.")
    lines.append(trusted_keys_sentence({}, keyring, keyring_source))
    return "\n".join(lines)


# --- Saved checkpoints (as rekor-cli keeps its last log info) ----------------------------------

def read_checkpoint(path: Path) -> str:
    """A checkpoint file as signed: the bytes, without the usual damage done by copying it.

    Safe to undo: the signature covers the text before the blank line, which never holds a
    carriage return, a byte order mark or trailing blank lines, so the repaired note must still
    verify.
    """
    text = path.read_bytes().decode("utf-8")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    return text.rstrip("\n") + "\n"  # a shell's $(...) drops the last newline; an editor adds one


def save_checkpoint(path: Path, note: str, origin: str, keys: dict[str, dict[str, Any]]) -> str:
    """Write ``note`` to ``path`` exactly as signed, unless it already holds a newer one."""
    size = open_checkpoint(note, origin, keys)[0]
    if path.exists():
        try:
            kept = open_checkpoint(read_checkpoint(path), origin, keys)[0]
        except (Invalid, OSError, ValueError):
            kept = -1
        if kept > size:
            return (f"Not saved: {path} already holds a newer checkpoint ({kept} records) than "
                    f"this one ({size}).")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(note.encode("utf-8"))  # bytes: no newline translation on any system
    tmp.replace(path)
    return (f"Saved the checkpoint ({size} records) to {path}, exactly as signed: pass "
            f"--trusted-checkpoint {path} next time, to detect a log rewritten since.")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    proving = bool(args) and args[0] == "verify-proof"
    if args and args[0] in ("verify-proof", "verify-bundle"):
        args = args[1:]
    parser = argparse.ArgumentParser(
        prog="offline_verifier.py" + (" verify-proof" if proving else ""),
        description=("Verify the inclusion proof of one record (from `douane audit prove`)."
                     if proving else "Verify a douane audit evidence bundle. To check one "
                     "record's proof instead: offline_verifier.py verify-proof proof.json "
                     "--keyring keys.json"))
    parser.add_argument("file", type=Path, metavar="proof.json" if proving else "bundle.json")
    parser.add_argument("--keyring", type=Path, required=proving,
                        help="the log's keyring, obtained from the operator out of band")
    parser.add_argument("--trusted-checkpoint", type=Path,
                        help="a signed checkpoint you saw earlier (detects rollback and forks)")
    parser.add_argument("--save-checkpoint", type=Path,
                        help="after success, save the checkpoint here exactly as signed (it "
                             "may be the --trusted-checkpoint file: it is then moved forward)")
    if not proving:
        parser.add_argument("--witness", type=Path, action="append", default=[],
                            help="a witness's public key file (name+keyid+key); repeatable")
        parser.add_argument("--quorum", type=int, default=0,
                            help="require cosignatures by at least N of the --witness keys")
    parsed = parser.parse_args(args)
    try:
        document = json.loads(parsed.file.read_text("utf-8"))
        keyring = json.loads(parsed.keyring.read_text("utf-8")) if parsed.keyring else None
        trusted = (read_checkpoint(parsed.trusted_checkpoint) if parsed.trusted_checkpoint
                   else None)
        source = str(parsed.keyring) if parsed.keyring else None
        if proving:
            assert keyring is not None  # required by the parser
            print(verify_proof(document, keyring, trusted, keyring_source=source))
        else:
            witnesses = [path.read_text("utf-8") for path in parsed.witness]
            print(verify_bundle(document, keyring, trusted, witnesses, parsed.quorum,
                                keyring_source=source))
        if parsed.save_checkpoint is not None:
            ring = keyring or document["keyring"]
            print(save_checkpoint(parsed.save_checkpoint, document["checkpoint"],
                                  ring["origin"], load_keys(ring)))
        return 0
    except Invalid as error:
        print(f"INVALID: {error}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"INVALID: unreadable {'proof' if proving else 'bundle'} or file "
              f"({type(error).__name__}: {error})")
        return 1


if __name__ == "__main__":
    sys.exit(main())
