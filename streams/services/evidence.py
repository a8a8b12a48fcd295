"""Evidence from the audit log: bundles for the offline verifier, inclusion proofs, and
whether the stored checkpoints carry a quorum of witness cosignatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.protocols import AuditQuery, StoredCheckpoint
from streams.adapters.audit.records import SqlRecords
from streams.adapters.witness import WitnessError, load_witness_keys
from streams.core import merkle
from streams.core.audit import format_timestamp, pae
from streams.core.checkpoint import Checkpoint, CheckpointError, parse_checkpoint, split_note
from streams.core.cosignature import witnessed_size
from streams.offline_verifier import BUNDLE_FORMAT, STATEMENT_FORMAT, STATEMENT_PAYLOAD_TYPE


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def covering_checkpoint(store: GroupCommitLog, seq: int) -> StoredCheckpoint:
    latest = store.latest_checkpoint()
    if latest is None or latest.size < seq:
        latest = store.issue_checkpoint()
    return latest


def trusted_size(note: bytes) -> int:
    """The size of a checkpoint an auditor trusts (its signature is the auditor's to check)."""
    return split_checkpoint(note).size


def split_checkpoint(note: bytes) -> Checkpoint:
    return parse_checkpoint(split_note(note)[0])


def inclusion_proof(store: GroupCommitLog, record_id: str,
                    trusted: bytes | None = None) -> dict[str, Any] | None:
    """The record, its inclusion proof and a checkpoint covering it (signed now if none
    does yet), checked before it is returned; None if there is no such record. With the
    checkpoint an auditor trusts, also the proof that the log extends it."""
    record = store.get(record_id)
    if record is None:
        return None
    checkpoint = covering_checkpoint(store, record.seq)
    old_size = trusted_size(trusted) if trusted is not None else 0
    if old_size > checkpoint.size:  # theirs is newer: prove against the newest instead
        checkpoint = store.issue_checkpoint()
    tree = merkle.MerkleTree(store.leaf_hashes(checkpoint.size))
    proof = tree.inclusion_proof(record.seq - 1, checkpoint.size)
    merkle.verify_inclusion(record.seq - 1, checkpoint.size, bytes.fromhex(record.leaf_hash),
                            proof, checkpoint.root_hash)
    answer: dict[str, Any] = {
        "origin": store.origin,
        "record_id": record.record_id, "leaf_index": record.seq - 1,
        "leaf_hash": b64(bytes.fromhex(record.leaf_hash)),
        "tree_size": checkpoint.size, "inclusion_proof": [b64(p) for p in proof],
        "checkpoint": checkpoint.note.decode("utf-8"), "envelope": record.envelope,
    }
    if 0 < old_size <= checkpoint.size:
        answer["consistency"] = {"from_size": old_size, "proof": [
            b64(p) for p in tree.consistency_proof(old_size, checkpoint.size)]}
    return answer


def build_bundle(store: GroupCommitLog, since: str | None, until: str | None,
                 trusted: bytes | None = None, operator_check: str = "not run") -> dict[str, Any]:
    """Records in [since, until) with inclusion proofs, checkpoints with consistency proofs
    (among them the checkpoint the auditor trusts, if given, so they see the log extends it)."""
    latest = store.issue_checkpoint()  # cover everything written so far
    tree = merkle.MerkleTree(store.leaf_hashes(latest.size))
    matching = [r.seq for r in store.query(AuditQuery(since=since, until=until))
                if r.seq <= latest.size]
    # a contiguous run (first to last match), so the verifier can check there is no gap; with
    # no end date it runs to the checkpoint, so the verifier can tell the end was not cut
    last = latest.size if until is None else (matching[-1] if matching else 0)
    records = [r for r in (store.get_seq(seq) for seq in range(matching[0], last + 1))
               if r is not None] if matching else []
    exported_at = format_timestamp(datetime.now(UTC))
    older = [c for c in _checkpoints_about_the_period(store.checkpoints(), since, until,
                                                      matching) if c.size < latest.size]
    if trusted is not None and 0 < trusted_size(trusted) < latest.size:
        older = [c for c in older if c.size != trusted_size(trusted)]
        older.append(StoredCheckpoint(trusted_size(trusted), split_checkpoint(trusted).root_hash,
                                      trusted, ""))
        older.sort(key=lambda c: c.size)
    statement = {
        "format": STATEMENT_FORMAT, "origin": store.origin, "exported_at": exported_at,
        "since": since, "until": until,
        "first_seq": records[0].seq if records else None,
        "last_seq": records[-1].seq if records else None,
        "checkpoint_size": latest.size, "checkpoint_root": b64(latest.root_hash),
        # whether douane's own check of the whole log passed just before this export
        "operator_check": operator_check,
    }
    return {
        "format": BUNDLE_FORMAT,
        "origin": store.origin,
        "exported_at": exported_at,
        "since": since, "until": until,
        "statement": sign_statement(store, statement),
        "keyring": store.keyring.as_json(),
        "checkpoint": latest.note.decode("utf-8"),
        "checkpoints": [{"size": c.size, "note": c.note.decode("utf-8"),
                         "consistency_proof": [b64(p) for p in
                                               (tree.consistency_proof(c.size, latest.size)
                                                if c.size else [])]}
                        for c in older],
        "records": [{"seq": r.seq, "key_id": r.key_id, "canonical": b64(r.canonical),
                     "signature": b64(r.signature),
                     "inclusion_proof": [b64(p) for p in
                                         tree.inclusion_proof(r.seq - 1, latest.size)]}
                    for r in records],
    }


def sign_statement(store: GroupCommitLog, statement: dict[str, Any]) -> dict[str, str]:
    """The export statement as a DSSE-style envelope signed by the log's current key."""
    payload = rfc8785.dumps(statement)
    signature = store.signer.sign(pae(STATEMENT_PAYLOAD_TYPE, payload))
    return {"payload": b64(payload), "key_id": store.signer.key_id, "signature": b64(signature)}


def _checkpoints_about_the_period(checkpoints: list[StoredCheckpoint], since: str | None,
                                  until: str | None, seqs: list[int]) -> list[StoredCheckpoint]:
    """The checkpoints a report about [since, until) may have named: those issued in the
    period; after it, those covering some of the exported records, up to the first that covers
    them all (a report about a month is made after the month, and names the checkpoint it
    computed at; carrying it lets ``douane report --at-size`` show that signed checkpoint); and
    the cosigned ones covering the records."""
    about: list[StoredCheckpoint] = []
    complete = False
    for checkpoint in sorted(checkpoints, key=lambda c: c.size):
        issued_in = (since is None or checkpoint.issued_at >= since) and (
            until is None or checkpoint.issued_at < until)
        after = until is not None and checkpoint.issued_at >= until and not complete \
            and bool(seqs) and checkpoint.size >= seqs[0]
        if issued_in or after or _witnesses_the_records(checkpoint, seqs):
            about.append(checkpoint)
        if after and (not seqs or checkpoint.size >= seqs[-1]):
            complete = True
    return about


def _witnesses_the_records(checkpoint: StoredCheckpoint, seqs: list[int]) -> bool:
    """A cosigned checkpoint covering the exported records: the offline quorum check uses it."""
    return bool(seqs) and checkpoint.size >= seqs[-1] and len(split_note(checkpoint.note)[1]) > 1


def check_quorum(reader: SqlRecords, witness_files: list[Path], quorum: int,
                 tree_size: int) -> tuple[bool, str]:
    """(ok, message): does a stored checkpoint carry ``quorum`` valid witness cosignatures?"""
    if quorum <= 0:
        return True, ""
    try:
        witnesses = load_witness_keys(witness_files)
        distinct = len({w.public_key for w in witnesses})
        if quorum > distinct:
            return False, (f"quorum {quorum} is more than the {distinct} distinct witness "
                           "keys given with --witness")
        size, most = witnessed_size(((c.size, c.note) for c in reader.checkpoints()),
                                    witnesses, quorum)
    except (WitnessError, CheckpointError) as error:
        return False, f"witness cosignatures: {error}"
    if size is None:
        return False, (f"no checkpoint is cosigned by {quorum} of the given witnesses "
                       f"(at most {most})")
    return True, (f"witnessed by at least {quorum} witnesses up to record {size} "
                  f"({tree_size - size} newer records not yet witnessed)")
