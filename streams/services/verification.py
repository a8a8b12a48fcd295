"""A full verification of the audit log, telling its progress as it goes, and the state of the
log's checkpoints and witness cosignatures: what the console's integrity page shows.

The check is the one ``douane audit verify`` runs (signatures, canonical form, schema, chain,
key windows, Merkle tree, checkpoints, then the witness quorum when one is configured).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.audit.protocols import AuditLogReader, StoredCheckpoint, StoredRecord
from streams.adapters.audit.verify import load_audit_schema, trusted_keyring, verify_log_reader
from streams.adapters.signer import verifier_for_raw
from streams.config import Settings
from streams.core.audit import ChainEntry, signing_input
from streams.core.checkpoint import split_note
from streams.core.log_check import LogReport
from streams.core.merkle import ProofError
from streams.services.evidence import check_quorum, inclusion_proof

Progress = Callable[[int, int], None]  # (records checked, records in the log)


@dataclass(frozen=True)
class Verification:
    ok: bool
    records_checked: int
    checkpoints_checked: int
    problem: str | None  # what is wrong, naming the first bad record (no personal data)
    witnesses: str  # what the witness check established, or "" when none is configured


@dataclass(frozen=True)
class CheckpointState:
    size: int
    issued_at: str  # RFC 3339 UTC
    cosigners: tuple[str, ...]  # the names of the notes' signature lines after the log's own
    records_after: int  # records written since


class _Counting:
    def __init__(self, reader: AuditLogReader, total: int, progress: Progress,
                 every: int) -> None:
        self.reader, self.total, self.progress, self.every = reader, total, progress, every

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self.reader.checkpoints()

    def iter_entries(self) -> Iterator[ChainEntry]:
        done = 0
        for done, entry in enumerate(self.reader.iter_entries(), 1):
            if done % self.every == 0:
                self.progress(done, self.total)
            yield entry
        self.progress(done, self.total)


def problem_text(report: LogReport) -> str:
    """What is wrong with the log, naming the first bad record once (the command and the
    console's integrity page say it alike)."""
    if report.first_bad_seq is None:
        return str(report.problem)
    named = f"record {report.first_bad_seq} ({report.first_bad_record_id}): "
    return (f"first bad record: seq {report.first_bad_seq} ({report.first_bad_record_id}): "
            f"{str(report.problem).removeprefix(named)}")


def verify_log(settings: Settings, progress: Progress = lambda done, total: None,
               every: int = 1000) -> Verification:
    """The whole log checked with the keyring next to it; ``progress`` is told every
    ``every`` records."""
    if not audit_log_exists(settings):
        return Verification(False, 0, 0, f"no audit log at {settings.audit_db}", "")
    extra = [settings.public_key] if settings.public_key.exists() else []
    keys = trusted_keyring(settings.audit_db, extra, None, settings.audit_origin)
    with open_audit_reader(settings) as reader:
        total = reader.size()
        progress(0, total)
        report = verify_log_reader(_Counting(reader, total, progress, every), keys,
                                   load_audit_schema(), None)
        if not report.ok:
            return Verification(False, report.records_checked, report.checkpoints_checked,
                                problem_text(report), "")
        witnessed, note = check_quorum(reader, list(settings.audit_witnesses),
                                       settings.audit_quorum, report.tree_size)
    return Verification(witnessed, report.records_checked, report.checkpoints_checked,
                        None if witnessed else note, note)


def checkpoint_state(settings: Settings) -> CheckpointState | None:
    """The latest signed checkpoint, who cosigned it, and how many records are newer."""
    if not audit_log_exists(settings):
        return None
    with open_audit_reader(settings) as reader:
        latest = reader.latest_checkpoint()
        size = reader.size()
    if latest is None:
        return None
    signatures = split_note(latest.note)[1]
    names = tuple(signature.name for signature in signatures[1:])
    return CheckpointState(latest.size, latest.issued_at, names, size - latest.size)


def age_s(issued_at: str, now: datetime | None = None) -> float:
    moment = datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
    return ((now or datetime.now(UTC)) - moment).total_seconds()


@dataclass(frozen=True)
class RecordView:
    record: StoredRecord
    signed: bool  # signed by a key of the log's keyring over exactly its payload
    others: list[StoredRecord]  # the other records of the same request


def record_view(settings: Settings, record_id: str) -> RecordView | None:
    """One record, whether its signature verifies with the keyring beside the log, and the
    other records of its request; None: no such record. Read-only."""
    if not audit_log_exists(settings):
        return None
    with open_audit_reader(settings) as reader:
        record = reader.get(record_id)
        if record is None:
            return None
        others = ([r for r in reader.records_for_request(record.request_id)
                   if r.record_id != record_id] if record.request_id else [])
    extra = [settings.public_key] if settings.public_key.exists() else []
    key = trusted_keyring(settings.audit_db, extra, None, settings.audit_origin).get(
        record.key_id)
    signed = (key is not None and json.loads(record.canonical) == record.payload
              and verifier_for_raw(key.public_key)(signing_input(record.canonical),
                                                   record.signature))
    return RecordView(record, signed, others)


def record_proof(store: GroupCommitLog,
                 record_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the record's inclusion proof checked against a checkpoint covering it, None), signing
    that checkpoint now with ``store`` (the process's writer) if none covers it yet, as
    ``douane audit prove`` does; (None, why) when the record is unknown or the log's damage
    reaches the proof. Reads every leaf hash of the log: seconds at a million records."""
    try:
        proof = inclusion_proof(store, record_id)
    except ProofError as error:
        return None, str(error)
    return (proof, None) if proof is not None else (None, f"no record {record_id}")
