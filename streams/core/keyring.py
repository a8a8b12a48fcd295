"""The audit log's public keys, each with a key id and a validity window.

Pure: the keyring is a JSON document (``audit.keyring.json`` next to the database, written by
``streams.adapters.signer``) that verifiers are given out of band::

    {"format": "douane.keyring/v1", "origin": "douane.example/audit/prod",
     "keys": [{"key_id": "3f2a...", "public_key": "<base64 of the raw 32-byte Ed25519 key>",
               "not_before": null, "not_after": "2025-06-01T08:00:00.000000Z"}, ...]}

A window is inclusive at both ends; ``null`` means open (the first key is valid from the first
record; the active key has no end yet). Rotation closes the old key's window and opens the new
key's at the same instant, the ``occurred_at`` of the ``key_rotated`` record that the old key
signs. Retired keys are never removed, so old records and checkpoints keep verifying.

Each key has a **role** (``"role": "worker"`` or ``"dpo"``): the worker's key signs the
decisions on requests, the DPO tools' key the records their commands write (erasures, legal
holds), so that neither key alone can forge the other's records (:data:`ROLE_KINDS`). Each role
has its own succession of keys (a rotation replaces the key of one role). A key written by a
version before roles has none (``null``): it may sign every kind, as it did.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from streams.core.audit import AUDIT_KINDS
from streams.errors import DouaneError

KEYRING_FORMAT = "douane.keyring/v1"


class KeyringError(DouaneError, ValueError):
    pass


WORKER, DPO = "worker", "dpo"
# records only the DPO tools write; the worker's key may never sign them
_DPO_ONLY = frozenset({"erased", "hold_placed", "hold_released", "erasure_refused",
                       "subject_linked", "console_access"})
# both write these: a retention run (the worker's timer, or the command), a key's own rotation
_SHARED = frozenset({"retention_run", "key_rotated"})
ROLE_KINDS: dict[str, frozenset[str]] = {
    WORKER: AUDIT_KINDS - _DPO_ONLY,
    DPO: _DPO_ONLY | _SHARED,
}
ROLES = tuple(ROLE_KINDS)


def role_may_sign(role: str | None, kind: str) -> bool:
    """Whether a key of ``role`` may sign a record of ``kind`` (None: a key from before roles)."""
    return kind in AUDIT_KINDS if role is None else kind in ROLE_KINDS.get(role, frozenset())


def key_id_of(public_key: bytes) -> str:
    """First 16 hex characters of SHA-256 over the raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    public_key: bytes  # raw 32 bytes
    not_before: str | None = None  # RFC 3339 UTC, same format as occurred_at
    not_after: str | None = None
    role: str | None = None  # WORKER or DPO; None for a key written before roles existed

    @property
    def succession(self) -> str:
        """The role whose succession of keys this one belongs to (a key from before roles
        was the worker's)."""
        return self.role or WORKER

    def window_problem(self, moment: str) -> str | None:
        """Why ``moment`` is outside this key's window, or None."""
        if self.not_before is not None and moment < self.not_before:
            return f"key {self.key_id} is not valid before {self.not_before}"
        if self.not_after is not None and moment > self.not_after:
            return f"key {self.key_id} was retired at {self.not_after}"
        return None

    def as_json(self) -> dict[str, Any]:
        entry = {"key_id": self.key_id,
                 "public_key": base64.b64encode(self.public_key).decode("ascii"),
                 "not_before": self.not_before, "not_after": self.not_after}
        return entry if self.role is None else {**entry, "role": self.role}


@dataclass(frozen=True)
class Keyring:
    origin: str
    keys: tuple[KeyEntry, ...]

    def get(self, key_id: str) -> KeyEntry | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    @property
    def active(self) -> KeyEntry | None:
        """The worker's key with an open window (the one that signs requests now)."""
        return self.active_for(WORKER)

    def active_for(self, role: str) -> KeyEntry | None:
        """The key of ``role`` with an open window (the one that signs for it now)."""
        open_keys = [k for k in self.keys if k.not_after is None and k.succession == role]
        return open_keys[-1] if open_keys else None

    def with_key(self, entry: KeyEntry) -> Keyring:
        if self.get(entry.key_id) is not None:
            return self
        return replace(self, keys=(*self.keys, entry))

    def rotated(self, old_key_id: str, new_key: bytes, moment: str) -> Keyring:
        """Close ``old_key_id`` at ``moment`` and add ``new_key`` valid from ``moment``."""
        keys = tuple(replace(k, not_after=moment) if k.key_id == old_key_id else k
                     for k in self.keys)
        old = self.get(old_key_id)
        new = KeyEntry(key_id_of(new_key), new_key, not_before=moment,
                       role=old.succession if old is not None else WORKER)
        return Keyring(self.origin, (*keys, new))

    def as_json(self) -> dict[str, Any]:
        return {"format": KEYRING_FORMAT, "origin": self.origin,
                "keys": [k.as_json() for k in self.keys]}

    def dumps(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2) + "\n").encode("utf-8")


def parse_keyring(data: bytes) -> Keyring:
    try:
        doc = json.loads(data)
    except ValueError:
        raise KeyringError("keyring is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != KEYRING_FORMAT:
        raise KeyringError(f"keyring format is not {KEYRING_FORMAT}")
    origin = doc.get("origin")
    if not isinstance(origin, str) or not origin:
        raise KeyringError("keyring has no origin")
    entries = []
    for i, raw in enumerate(doc.get("keys") or []):
        try:
            public_key = base64.b64decode(raw["public_key"], validate=True)
            entry = KeyEntry(raw["key_id"], public_key, raw.get("not_before"),
                             raw.get("not_after"), raw.get("role"))
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise KeyringError(f"keyring key {i} is malformed") from None
        if len(public_key) != 32 or key_id_of(public_key) != entry.key_id:
            raise KeyringError(f"keyring key {i}: key id does not match its public key")
        if entry.role is not None and entry.role not in ROLES:
            raise KeyringError(f"keyring key {i}: role {entry.role!r} is not one of "
                               f"{', '.join(ROLES)}")
        entries.append(entry)
    return Keyring(origin, tuple(entries))
