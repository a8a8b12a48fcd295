"""The transparency report of a period (``douane report``): read the records, from the audit
log or from an evidence bundle, name the signed checkpoint they are covered by and the policy
set used, and let the core (``streams.core.transparency``) compute the figures.

From the log: of each record of the period (``since`` inclusive, ``until`` exclusive,
optionally one tenant) the report reads the facts the append path stored for it as plain
columns (``streams.adapters.audit.report_facts``), and of a record without them (a log not
yet brought up to date by a writer) the fields it reads picked out of the stored signed bytes
by the database (``SqlRecords.read_report``); with ``verify_records`` every record is read
whole with ``query`` instead (the reference: the same figures, several times slower). The report
names the latest checkpoint that covers every record read, and signs one now (with the DPO
tools' key) when none does yet. The policy is the set in force
(``streams.services.policy_in_force``).

From a bundle (``douane audit export``): the bundle is first checked as the offline verifier
checks it (signatures, inclusion proofs, no gap); then the same records are selected (same
period and tenant, and records up to ``at_size`` if given), so the figures are the same as
from the log at that checkpoint. A bundle carries no policy: the figures that need one
(hosting, home jurisdiction, exit readiness) are computed with the set given, named by its
hash, or not at all.
"""

from __future__ import annotations

import base64
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.adapters.audit.open import open_audit_reader
from streams.adapters.audit.protocols import AUDIT_UNAVAILABLE, AuditQuery, StoredCheckpoint
from streams.config import Settings
from streams.core.audit import format_timestamp
from streams.core.checkpoint import CheckpointError, parse_checkpoint, split_note
from streams.core.loaded_policy import LoadedPolicy
from streams.core.transparency import (
    DETAIL_FIELDS,
    MISSING,
    NAMED_KINDS,
    PRESENCE_MATTERS,
    REPORT_FORMAT,
    compute_report,
    compute_report_from_facts,
)
from streams.errors import DouaneError
from streams.offline_verifier import Invalid, verify_bundle
from streams.services.audit_log import open_writer
from streams.services.policy_in_force import policy_in_force

Progress = Callable[[int], None]
# how the records were read (the report's ``read``): the figures are the same either way
READ_FIELDS = ("fields: the report's facts stored with each record (derived, not evidence), "
               "or its fields picked out of the record by the database")
READ_RECORDS = "records: every record read whole and parsed (--verify-records)"


class ReportError(DouaneError, ValueError):
    """A report that cannot be computed from what was given (names the file and the problem)."""


@dataclass(frozen=True)
class Period:
    since: str | None  # RFC 3339 in the records' format, inclusive
    until: str | None  # exclusive
    tenant: str | None = None

    def holds(self, payload: Mapping[str, Any]) -> bool:
        moment = str(payload.get("occurred_at", ""))
        return ((self.since is None or moment >= self.since)
                and (self.until is None or moment < self.until)
                and (self.tenant is None or payload.get("tenant") == self.tenant))

    def as_json(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "tenant": self.tenant}


def checkpoint_json(note: bytes, issued_now: bool) -> dict[str, Any]:
    checkpoint = parse_checkpoint(split_note(note)[0])
    return {"origin": checkpoint.origin, "size": checkpoint.size,
            "root_hash": checkpoint.root_hash.hex(), "note": note.decode("utf-8"),
            "issued_now": issued_now}


def _document(period: Period, computed_from: str, checkpoint: dict[str, Any] | None,
              policy: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    return {"format": REPORT_FORMAT, "generated_at": format_timestamp(datetime.now(UTC)),
            "period": period.as_json(), "computed_from": computed_from,
            "checkpoint": checkpoint, "policy": policy, "figures": figures}


def _policy_json(loaded: LoadedPolicy | None, note: str) -> dict[str, Any]:
    return {"reference": loaded.reference if loaded is not None else None,
            "home_jurisdiction": loaded.policy.jurisdiction if loaded is not None else None,
            "note": note}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while the figures are added up: the pass creates no
    reference cycles, and the collector would otherwise walk the growing tally (a set per
    personal request: hundreds of thousands over a million records) again and again, about
    a second of CPU over a million records."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ----------------------------------------------------------------------------- from the log


def report_from_log(settings: Settings, period: Period, progress: Progress | None = None,
                    verify_records: bool = False) -> dict[str, Any]:
    """The report of ``period`` from the audit log. By default it reads the stored report
    facts, and of the records without them only the fields the report reads
    (``SqlRecords.read_report``);
    ``verify_records`` reads every record whole with ``query`` instead, as the figures were
    first computed (slower; the same figures: the reference the fast path is tested
    against)."""
    in_force = policy_in_force(settings)
    last_seq = 0

    def payloads(records: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
        nonlocal last_seq
        for record in records:
            last_seq = record.seq
            yield record.payload

    def read_up_to(seq: int) -> None:
        nonlocal last_seq
        last_seq = seq

    with open_audit_reader(settings) as reader, _collector_paused():
        if verify_records:
            query = AuditQuery(since=period.since, until=period.until,
                               tenants=(period.tenant,) if period.tenant else ())
            figures = compute_report(payloads(reader.query(query)), in_force.loaded, progress)
        else:
            rows = reader.read_report(DETAIL_FIELDS, PRESENCE_MATTERS, period.since,
                                      period.until, period.tenant, MISSING, NAMED_KINDS,
                                      read_up_to)
            figures = compute_report_from_facts(rows.facts, rows.records, in_force.loaded,
                                                progress, rows.whole)
        latest = reader.latest_checkpoint()
    checkpoint = _covering(settings, latest, last_seq)
    document = _document(period, "audit log", checkpoint,
                         {**_policy_json(in_force.loaded, in_force.text()),
                          "in_force": in_force.summary()}, figures)
    document["read"] = READ_RECORDS if verify_records else READ_FIELDS
    return document


def _covering(settings: Settings, latest: StoredCheckpoint | None,
              last_seq: int) -> dict[str, Any] | None:
    """The latest checkpoint if it covers record ``last_seq``, else one signed now; None when
    none can be signed (the report then says so)."""
    if latest is not None and latest.size >= last_seq:
        return checkpoint_json(latest.note, issued_now=False)
    try:
        with open_writer(settings) as store:
            return checkpoint_json(store.issue_checkpoint().note, issued_now=True)
    except AUDIT_UNAVAILABLE:
        return None


# --------------------------------------------------------------------------- from a bundle


def read_bundle(path: Path) -> dict[str, Any]:
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(bundle, dict):
        raise ReportError(f"{path}: not an evidence bundle (a JSON object)")
    return bundle


def bundle_payloads(bundle: Mapping[str, Any], period: Period, at_size: int | None,
                    ) -> Iterator[Mapping[str, Any]]:
    for item in bundle["records"]:
        if at_size is not None and item["seq"] > at_size:
            break
        payload = json.loads(base64.b64decode(item["canonical"]))
        if period.holds(payload):
            yield payload


def report_from_bundle(path: Path, period: Period | None, policy: LoadedPolicy | None,
                       keyring: Path | None = None, at_size: int | None = None,
                       progress: Progress | None = None) -> tuple[dict[str, Any], str]:
    """(the report, what the verifier checked). ``period`` None: the bundle's own; its tenant
    is kept. Raises :class:`ReportError` when the bundle is not valid evidence."""
    bundle = read_bundle(path)
    trusted = None
    if keyring is not None:
        try:
            trusted = json.loads(keyring.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ReportError(f"{keyring}: cannot be read as a keyring ({error})") from None
    try:
        verified = verify_bundle(bundle, trusted, keyring_source=str(keyring) if keyring
                                 else None)
    except (Invalid, KeyError, TypeError, ValueError) as error:
        raise ReportError(f"{path}: not valid evidence, no figure computed: {error}") from None
    if period is None or (period.since is None and period.until is None):
        period = Period(bundle.get("since"), bundle.get("until"),
                        period.tenant if period else None)
    note = bundle["checkpoint"].encode("utf-8")
    try:
        checkpoint = checkpoint_json(note, issued_now=False)
    except CheckpointError as error:  # verify_bundle opened it: not expected
        raise ReportError(f"{path}: checkpoint: {error}") from None
    if at_size is not None:
        if at_size < 1 or at_size > checkpoint["size"]:
            raise ReportError(f"{path}: --at-size {at_size} is not a checkpoint size of this "
                              f"bundle: it must be 1 to {checkpoint['size']}, its checkpoint's")
        older = {c["size"]: c["note"] for c in bundle.get("checkpoints", [])}
        if at_size != checkpoint["size"]:
            checkpoint = checkpoint_json(older[at_size].encode("utf-8"), False) \
                if at_size in older else {**checkpoint, "records_up_to": at_size}
    with _collector_paused():
        figures = compute_report(bundle_payloads(bundle, period, at_size), policy, progress)
    note_text = ("policy: none given - hosting, home jurisdiction and exit readiness are not "
                 "computed (give the set the log's report names, with --policy)"
                 if policy is None else f"policy: {policy.reference['name']} "
                 f"{policy.reference['version']} (sha256 {policy.digest[:12]}), as given")
    return (_document(period, "evidence bundle", checkpoint, _policy_json(policy, note_text),
                      figures), verified)
