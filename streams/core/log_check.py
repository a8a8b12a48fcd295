"""Full verification of an audit log: records, key windows, the Merkle tree and checkpoints.

Pure: records and checkpoints are handed in by a store adapter; ``make_verify`` turns a raw
Ed25519 public key into a ``verify(message, signature)`` callable.

On top of :func:`streams.core.audit.verify_chain` (signature, canonical form, schema, seqs
contiguous, hash chain, unique ids) it checks, in one pass:

- every record's key is in the keyring and the record's ``occurred_at`` is inside that key's
  window; after a ``key_rotated`` record only the new key may sign, and the keyring must hold
  exactly the key that the rotation record (signed by the old key) announced; each role
  (worker, DPO tools) has its own succession, and a key signs only its role's record kinds
  (:data:`streams.core.keyring.ROLE_KINDS`), so the worker's key cannot forge an erasure nor
  the DPO tools' key a decision;
- every stored checkpoint is a signed note by a keyring key (valid at the time of the last
  record it covers), for this log's origin, whose root is the Merkle root of the records;
- a checkpoint the auditor already trusts (from an earlier run, or a witness) is neither
  larger than the log (rollback, truncation) nor of a different root (fork).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.core.audit import ChainEntry, VerifyFn, verify_chain
from streams.core.checkpoint import Checkpoint, CheckpointError, NoteKey, open_checkpoint
from streams.core.keyring import Keyring, role_may_sign
from streams.core.merkle import CompactRange

MakeVerify = Callable[[bytes], VerifyFn]


@dataclass(frozen=True)
class LogReport:
    ok: bool
    records_checked: int
    checkpoints_checked: int = 0
    first_bad_seq: int | None = None
    first_bad_record_id: str | None = None
    problem: str | None = None
    tree_size: int = 0
    root_hash: bytes | None = None
    latest_checkpoint: int | None = None  # size of the newest verified checkpoint

    @property
    def head_seq(self) -> int | None:
        """The last record that passed every record check."""
        return self.tree_size or None

    @property
    def head_leaf_hash(self) -> str | None:
        return self.head_leaf.hex() if self.head_leaf else None

    head_leaf: bytes | None = None

    @property
    def uncovered(self) -> int:
        """Records after the newest checkpoint (not yet committed to by a signature)."""
        return self.tree_size - (self.latest_checkpoint or 0)


def note_keys(keyring: Keyring, make_verify: MakeVerify) -> list[NoteKey]:
    return [NoteKey(keyring.origin, k.public_key, make_verify(k.public_key))
            for k in keyring.keys]


class _Walker:
    """The per-record checks that need state across records (key succession, tree roots)."""

    def __init__(self, keyring: Keyring, wanted_sizes: set[int]) -> None:
        self.keyring = keyring
        self.wanted = wanted_sizes
        self.tree = CompactRange()
        self.roots: dict[int, bytes] = {}
        self.times: dict[int, str] = {}
        # per role: (key id, seq of its rotation) of the key that signs for it since then
        self.expected_key: dict[str, tuple[str, int]] = {}
        self.last_leaf: bytes | None = None
        # request id -> the providers its admission allowed, until it is answered or failed
        self.admitted: dict[str, set[str]] = {}

    def __call__(self, seq: int, payload: dict[str, Any], digest: bytes) -> str | None:
        key_id, moment = payload["key_id"], payload["occurred_at"]
        entry = self.keyring.get(key_id)
        if entry is None:
            return f"key {key_id} is not in the keyring"
        window = entry.window_problem(moment)
        if window is not None:
            return f"signed outside its key's window ({window}; record time {moment})"
        if not role_may_sign(entry.role, payload["kind"]):
            return (f"a '{payload['kind']}' record signed by key {key_id}, a {entry.role} key, "
                    f"which may not sign that kind: a key of another role forged it")
        expected = self.expected_key.get(entry.succession)
        if expected is not None and key_id != expected[0]:
            return (f"signed by key {key_id}, but key {expected[0]} replaced it at "
                    f"record {expected[1]}")
        if payload["kind"] == "key_rotated":
            problem = self._rotation(seq, payload)
            if problem is not None:
                return problem
            self.expected_key[entry.succession] = (payload["details"]["new_key_id"], seq)
        problem = self._admission(payload)
        if problem is not None:
            return problem
        self.tree.append(digest)
        self.last_leaf = digest
        if self.tree.size in self.wanted:
            self.roots[self.tree.size] = self.tree.root()
            self.times[self.tree.size] = moment
        return None

    def _admission(self, payload: dict[str, Any]) -> str | None:
        """A request may reach a provider only after an admission that allowed it: a
        'forwarded' record with no earlier 'admitted' one naming its provider is evidence that
        something walked around the admit stage."""
        kind, request_id, details = payload["kind"], payload["request_id"], payload["details"]
        if kind == "admitted" and details.get("decision") == "forward":
            self.admitted[request_id] = {details.get("provider"),
                                         *details.get("fallbacks", [])}
        elif kind == "forwarded":
            allowed = self.admitted.get(request_id)
            if allowed is None:
                return "a 'forwarded' record without an earlier 'admitted' record for its request"
            if details.get("provider") not in allowed:
                return (f"forwarded to provider {details.get('provider')}, which the request's "
                        "admission did not allow")
        elif kind in ("answered", "failed"):
            self.admitted.pop(request_id, None)
        return None

    def _rotation(self, seq: int, payload: dict[str, Any]) -> str | None:
        details = payload["details"]
        new_id = details.get("new_key_id")
        new = self.keyring.get(new_id) if isinstance(new_id, str) else None
        if new is None:
            return f"rotation to key {new_id} which is not in the keyring"
        if details.get("new_public_key") != new.as_json()["public_key"]:
            return f"rotation names a public key that differs from keyring key {new_id}"
        if new.not_before != payload["occurred_at"]:
            return f"keyring window of key {new_id} does not start at this rotation"
        old = self.keyring.get(payload["key_id"])
        if old is not None and new.succession != old.succession:
            return f"rotation hands the {old.succession} key's place to a {new.role} key"
        return None


def verify_log(
    entries: Iterable[ChainEntry],
    keyring: Keyring,
    make_verify: MakeVerify,
    schema: Mapping[str, Any],
    checkpoints: Iterable[tuple[int, bytes]] = (),
    trusted: bytes | None = None,
) -> LogReport:
    """Check everything; ``checkpoints`` are (stored size, signed note) pairs."""
    stored = sorted(checkpoints)
    keys = note_keys(keyring, make_verify)
    parsed: list[Checkpoint] = []
    checkpoint_problem: str | None = None  # reported after the records: they come first
    trusted_cp: Checkpoint | None = None
    try:
        for size, note in stored:
            checkpoint, _signers = open_checkpoint(note, keys, keyring.origin)
            if checkpoint.size != size:
                raise CheckpointError(f"stored as size {size} but signed for size "
                                      f"{checkpoint.size}")
            parsed.append(checkpoint)
        trusted_cp = open_checkpoint(trusted, keys, keyring.origin)[0] if trusted else None
    except CheckpointError as error:
        which = "the trusted checkpoint" if len(parsed) == len(stored) else \
            f"checkpoint at size {stored[len(parsed)][0]}"
        checkpoint_problem = f"{which}: {error}"

    wanted = {c.size for c in parsed} | ({trusted_cp.size} if trusted_cp else set())
    walker = _Walker(keyring, wanted)
    verifiers = {k.key_id: make_verify(k.public_key) for k in keyring.keys}
    chain = verify_chain(entries, verifiers, schema, on_record=walker)
    size, root = walker.tree.size, walker.tree.root()
    if not chain.ok:
        return LogReport(ok=False, records_checked=chain.records_checked,
                         first_bad_seq=chain.first_bad_seq,
                         first_bad_record_id=chain.first_bad_record_id,
                         problem=chain.problem, tree_size=size, root_hash=root,
                         head_leaf=walker.last_leaf)
    if checkpoint_problem is not None:
        return LogReport(ok=False, records_checked=chain.records_checked,
                         problem=checkpoint_problem, tree_size=size, root_hash=root)

    for checkpoint in parsed:
        problem = _against_log(checkpoint, walker, size)
        if problem is None:
            problem = _signed_in_window(checkpoint, stored, keyring, walker, make_verify)
        if problem is not None:
            return _bad_checkpoint(checkpoint.size, problem, size, chain.records_checked)
    if trusted_cp is not None:
        problem = _against_log(trusted_cp, walker, size)
        if problem is not None:
            return LogReport(ok=False, records_checked=chain.records_checked,
                             problem=f"the trusted checkpoint (size {trusted_cp.size}): "
                                     f"{problem}", tree_size=size, root_hash=root)
    return LogReport(ok=True, records_checked=chain.records_checked,
                     checkpoints_checked=len(parsed), tree_size=size, root_hash=root,
                     latest_checkpoint=parsed[-1].size if parsed else None,
                     head_leaf=walker.last_leaf)


def _against_log(checkpoint: Checkpoint, walker: _Walker, size: int) -> str | None:
    if checkpoint.size > size:
        return (f"it covers {checkpoint.size} records but the log has only {size}: records "
                "were removed from the end (rollback or truncation)")
    if checkpoint.size == 0:
        return None
    if walker.roots.get(checkpoint.size) != checkpoint.root_hash:
        return ("its root hash is not the Merkle root of the log's first "
                f"{checkpoint.size} records: the log was rewritten or forked")
    return None


def _signed_in_window(
    checkpoint: Checkpoint, stored: list[tuple[int, bytes]], keyring: Keyring,
    walker: _Walker, make_verify: MakeVerify,
) -> str | None:
    """The checkpoint's log signature must come from a key valid when its last record was made."""
    if checkpoint.size == 0:
        return None
    moment = walker.times[checkpoint.size]
    note = dict(stored)[checkpoint.size]
    for entry in keyring.keys:
        if entry.window_problem(moment) is not None:
            continue
        key = NoteKey(keyring.origin, entry.public_key, make_verify(entry.public_key))
        try:
            open_checkpoint(note, [key], keyring.origin)
        except CheckpointError:
            continue
        return None
    return f"not signed by a key that was valid at {moment} (time of record {checkpoint.size})"


def _bad_checkpoint(size: int, problem: str, tree_size: int = 0, records: int = 0) -> LogReport:
    return LogReport(ok=False, records_checked=records, tree_size=tree_size,
                     problem=f"checkpoint at size {size}: {problem}")
