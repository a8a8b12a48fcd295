"""``douane audit ...``: what a data-protection officer (or an auditor) runs against the log.

verify       full check: signatures, canonical form, schema, chain, key windows, Merkle tree,
             checkpoints; names the first bad record
query        filtered listing or counts (table, JSON lines or CSV); names unknown values; codes only
costs        tokens and cost of the answers per tenant/provider/month (and currency), each
             record's cost recomputed from its recorded usage and price
prove ID     inclusion proof of one record in the latest checkpoint
export       evidence bundle for ``streams/offline_verifier.py``
checkpoint   sign a checkpoint now
reindex      rebuild the search index, daily counts and report facts from the signed records
rotate-key   retire the signing key (a signed record) and start signing with a new one
witness init create a witness key (a second party, e.g. the DPO office)
cosign       as a witness: check the latest checkpoint extends the last one seen, cosign it
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.adapters.audit.open import (
    audit_log_exists,
    describe,
    open_audit_reader,
)
from streams.adapters.audit.protocols import (
    AuditLogReader,
    AuditQuery,
    StoredCheckpoint,
    StoredRecord,
)
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.verify import load_audit_schema, trusted_keyring, verify_log_reader
from streams.adapters.signer import export_public_key, generate_key_file, keyring_path_for
from streams.cli import Commands
from streams.cli.witness import (
    add_quorum_options,
    add_witness_commands,
    run_cosign,
    run_witness_init,
)
from streams.config import Settings
from streams.core import merkle
from streams.core.audit import AUDIT_KINDS, ChainEntry, format_timestamp
from streams.core.audit_events import TRACE_ID
from streams.core.audit_query import (
    FIELDS,
    MANY_VALUED,
    RELATIVE_HELP,
    count_by,
    fold,
    relative_moment,
    suggestions,
    values,
)
from streams.core.cost_summary import CostGroup, summarise_costs
from streams.core.entities import ENTITY_TYPES
from streams.core.keyring import ROLES, WORKER
from streams.core.log_check import LogReport
from streams.core.policy import CLASSIFICATIONS
from streams.offline_verifier import read_checkpoint
from streams.services.audit_log import open_writer
from streams.services.evidence import build_bundle, check_quorum, inclusion_proof
from streams.services.verification import problem_text


def register(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="inspect and verify the audit log")
    audit.set_defaults(run=run_audit)
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check signatures, chain, tree, checkpoints, keys")
    verify.add_argument("--keyring", type=Path, help="keyring to trust (default: next to the log)")
    verify.add_argument("--trusted-checkpoint", type=Path,
                        help="a signed checkpoint seen earlier: detects rollback and forks")
    verify.add_argument("--save-checkpoint", type=Path,
                        help="after success, write the latest checkpoint here (for next time)")
    add_quorum_options(verify)

    query = actions.add_parser(
        "query", help="list or count records matching filters",
        description="List or count audit records. Every filter can be given several times: a "
                    "record is kept if it has any of the values given for a filter, and it must "
                    "pass every filter given (--decision block --decision forward --tenant "
                    "city-of-lyon: both decisions, that tenant only). A value that no record "
                    "has (a typo?) is named, with the closest known values, instead of an "
                    "empty answer. Records hold no personal data, only codes and counts.")
    query.add_argument("--tenant", action="append", default=[], help="tenant id (repeatable)")
    query.add_argument("--since", type=moment,
                       help="from this time, inclusive: a date or RFC 3339 time (UTC if no "
                            f"offset), or {RELATIVE_HELP}")
    query.add_argument("--until", type=moment, help="up to this time, exclusive (same forms)")
    query.add_argument("--kind", action="append", choices=sorted(AUDIT_KINDS), default=[],
                       help="record kind (repeatable)")
    query.add_argument("--decision", action="append", default=[], type=str.lower,
                       choices=["forward", "block"],
                       help="forward or block (repeatable)")
    query.add_argument("--entity-type", action="append", default=[],
                       help="e.g. PERSON, any case: records that found this type (repeatable)")
    query.add_argument("--provider", action="append", default=[], help="provider id (repeatable)")
    query.add_argument("--jurisdiction", action="append", default=[],
                       help="jurisdiction of the provider chosen or reached, e.g. FR, EU")
    query.add_argument("--classification", action="append", default=[],
                       help=f"classification of the request: {', '.join(CLASSIFICATIONS)}")
    query.add_argument("--purpose", action="append", default=[],
                       help="purpose declared by the request (repeatable)")
    query.add_argument("--reason", action="append", default=[],
                       help="reason code, e.g. no-allowed-provider, detector-failed (repeatable)")
    query.add_argument("--policy-hash", action="append", default=[],
                       help="policy SHA-256 (a prefix is enough; repeatable)")
    query.add_argument("--request-id", action="append", default=[])
    query.add_argument("--trace-id", action="append", default=[], type=trace_id,
                       help="the records of the requests of this trace (32 hex digits, as "
                            "tracing systems show it; repeatable)")
    query.add_argument("--count-by", type=count_fields, metavar="FIELD[,FIELD...]",
                       help="count records instead of listing them, grouped by these fields: "
                            f"{', '.join(FIELDS)}")
    query.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")
    query.add_argument("--limit", type=record_count, default=0,
                       help="at most this many (0: all)")

    costs = actions.add_parser(
        "costs", help="tokens and cost of the answers, per tenant, provider and month",
        description="Sum the token usage and cost that 'answered' records carry, per group "
                    "and per currency (amounts in different currencies are never added), and "
                    "recompute every record's cost from the usage and price entry it records: "
                    "the 'recomputed' column must equal 'cost'. Exit 1 if a record disagrees "
                    "or cannot be read (each is named). 'estimated': answers whose provider "
                    "reported no usage (douane counted 4 characters a token); 'unpriced': "
                    "answers with no price in force (or recorded before costs were).")
    costs.add_argument("--by", type=cost_fields, default=COST_FIELDS,
                       metavar="FIELD[,FIELD...]",
                       help=f"group by these fields (default: {','.join(COST_FIELDS)}); any of: "
                            f"{', '.join(f for f in FIELDS if f not in MANY_VALUED)}")
    costs.add_argument("--tenant", action="append", default=[], help="tenant id (repeatable)")
    costs.add_argument("--provider", action="append", default=[],
                       help="provider id (repeatable)")
    costs.add_argument("--since", type=moment, help="from this time, inclusive (as for query)")
    costs.add_argument("--until", type=moment, help="up to this time, exclusive")
    costs.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")

    prove = actions.add_parser("prove", help="inclusion proof of one record, for "
                               "`offline_verifier.py verify-proof`")
    prove.add_argument("record_id")
    prove.add_argument("--out", type=Path, help="write the proof here (default: print it)")
    prove.add_argument("--trusted-checkpoint", type=Path,
                       help="the auditor's saved checkpoint: the proof then also shows the log "
                            "extends it")
    prove.add_argument("--even-if-invalid", action="store_true",
                       help="prove even though the log does not verify (said in the output)")

    export = actions.add_parser("export", help="write an evidence bundle")
    export.add_argument("--since", type=moment, help="from this time (RFC 3339 or date)")
    export.add_argument("--until", type=moment, help="up to this time, exclusive")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--trusted-checkpoint", type=Path,
                        help="the auditor's saved checkpoint: the bundle then also shows the "
                             "log extends it")
    export.add_argument("--even-if-invalid", action="store_true",
                        help="export even though the log does not verify (the bundle says so)")

    actions.add_parser("checkpoint", help="sign a checkpoint of the log now")
    actions.add_parser(
        "reindex", help="rebuild the search index and the report's facts from the signed "
        "records",
        description="Empty the search index and daily counts (what query, the overview and "
                    "the console search with) and the report's facts (what `douane report` "
                    "reads) and make them again from the signed records. "
                    "They are not evidence: run this when `douane audit verify` says they "
                    "disagree with the records.")
    rotate = actions.add_parser("rotate-key",
                                help="retire a signing key and start using a new one")
    rotate.add_argument("--role", choices=ROLES, default=WORKER,
                        help="whose key: the worker's (default) or the DPO tools'")
    add_witness_commands(actions)


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    command = args.audit_command
    if command == "verify":
        return run_verify(settings, args.keyring, args.trusted_checkpoint, args.save_checkpoint,
                          args.witness, args.quorum)
    if command == "witness":
        return run_witness_init(args.dir, args.name)
    if not audit_log_exists(settings):
        print(f"audit {command}: no audit database at {settings.audit_db}")
        return 2
    if command == "query":
        return run_query(settings, args)
    if command == "costs":
        return run_costs(settings, args)
    if command == "prove":
        return run_prove(settings, args.record_id, args.out, args.trusted_checkpoint,
                         args.even_if_invalid)
    if command == "export":
        return run_export(settings, args.since, args.until, args.out, args.trusted_checkpoint,
                          args.even_if_invalid)
    if command == "checkpoint":
        with open_writer(settings) as store:
            checkpoint = store.issue_checkpoint()
        sys.stdout.write(checkpoint.note.decode("utf-8"))
        return 0
    if command == "rotate-key":
        return run_rotate(settings, args.role)
    if command == "reindex":
        return run_reindex(settings)
    if command == "cosign":
        return run_cosign(settings, args.witness_dir, args.keyring)
    return 2


# --------------------------------------------------------------------------- verify


def run_verify(
    settings: Settings,
    keyring: Path | None = None,
    trusted: Path | None = None,
    save: Path | None = None,
    witness_files: list[Path] | None = None,
    quorum: int = 0,
) -> int:
    if not audit_log_exists(settings):
        print(f"audit verify: no audit database at {settings.audit_db} "
              "(set DOUANE_AUDIT_DB or run the worker first)")
        return 2
    if not witness_files and quorum == 0:  # the configured witnesses, unless told otherwise
        witness_files, quorum = list(settings.audit_witnesses), settings.audit_quorum
    with open_audit_reader(settings) as log_reader:
        report = check_log(settings, log_reader, read_trusted(trusted), keyring)
        witnessed, witness_note = (check_quorum(log_reader, witness_files or [], quorum,
                                                report.tree_size)
                                   if report.ok else (True, ""))
    if report.ok and not witnessed:
        print(f"audit verify: FAILED - records and checkpoints intact, but {witness_note}")
        return 1
    if report.ok:
        covered = (f"latest checkpoint covers {report.latest_checkpoint}"
                   if report.latest_checkpoint else "no checkpoint yet")
        checkpoints = report.checkpoints_checked
        print(f"audit verify: OK - {report.records_checked} records, signatures, chain, key "
              f"windows and Merkle tree intact; {checkpoints} checkpoint"
              f"{'' if checkpoints == 1 else 's'} verified ({covered}; {report.uncovered} newer "
              f"records) ({describe(settings)})")
        if witness_note:
            print(f"audit verify: {witness_note}")
        print(f"audit verify: {outside_evidence(trusted, quorum)}")
        if save is not None:
            with open_audit_reader(settings) as reader:
                latest = reader.latest_checkpoint()
            if latest is not None:
                save.write_bytes(latest.note)
        return report_index(settings)
    print(f"audit verify: FAILED after {report.records_checked} good records - "
          f"{problem_text(report)}")
    return 1


INDEX_BROKEN = 3  # exit status: the log verifies, its search index does not match it


def report_index(settings: Settings) -> int:
    """After the log verified: whether the search index agrees with it. The index is not
    evidence (the records are); a disagreement means searches may miss records, and that the
    database was changed behind douane's back."""
    with open_audit_reader(settings) as reader:
        found = reader.check_index(index_progress("audit verify: search index"))
    if found.problem is not None:
        print(f"audit verify: WARNING - the search index disagrees with the signed records: "
              f"{found.problem}. The records are intact (checked above) and remain the "
              "evidence; the index only finds them, so searches, the overview and `audit "
              "query` may miss records until you run `douane audit reindex`. Something changed "
              "the database behind douane's back: keep a copy of it as it is.")
        return INDEX_BROKEN
    if found.covered < found.records:
        print(f"audit verify: the search index covers records 1..{found.covered} of "
              f"{found.records}; searches read the records themselves until a worker or "
              "`douane audit reindex` completes it")
    else:
        print("audit verify: the search index agrees with the records (it is not evidence, "
              "only a way to find them)")
    return report_facts_state(settings)


def report_facts_state(settings: Settings) -> int:
    """After the log verified: whether the report's facts agree with it (not evidence
    either: ``douane report`` reads them; ``--verify-records`` reads the records)."""
    with open_audit_reader(settings) as reader:
        found = reader.check_report_facts(index_progress("audit verify: report facts"))
    if found.problem is not None:
        print(f"audit verify: WARNING - the report's facts disagree with the signed records: "
              f"{found.problem}. The records are intact (checked above) and remain the "
              "evidence; `douane report` may give wrong figures until you run `douane audit "
              "reindex` (`douane report --verify-records` reads the records themselves). "
              "Something changed the database behind douane's back: keep a copy of it as "
              "it is.")
        return INDEX_BROKEN
    if found.covered < found.records:
        print(f"audit verify: the report's facts cover records 1..{found.covered} of "
              f"{found.records}; `douane report` reads the others' fields from the records "
              "until a worker or `douane audit reindex` completes them")
    else:
        print("audit verify: the report's facts agree with the records (not evidence either: "
              "what `douane report` reads)")
    return 0


def index_progress(what: str, every_s: float = 5.0) -> Callable[[int, int], None]:
    """Prints ``what``: how far a long pass over the log has got, every few seconds."""
    last = [time.monotonic()]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            print(f"{what}: {done:,} of {total:,} records ({done * 100 // max(total, 1)}%)",
                  file=sys.stderr, flush=True)
    return show


def run_reindex(settings: Settings) -> int:
    started = time.monotonic()
    with open_writer(settings) as store:
        indexed = store.rebuild_index(index_progress("audit reindex"))
    print(f"audit reindex: {indexed} records indexed in {time.monotonic() - started:.1f} s "
          f"({describe(settings)})")
    return 0


def check_log(settings: Settings, reader: SqlRecords, trusted: bytes | None,
              keyring: Path | None = None) -> LogReport:
    """The whole log verified with the keyring next to it (or ``keyring``)."""
    extra = [settings.public_key] if settings.public_key.exists() else []
    trusted_keys = trusted_keyring(settings.audit_db, extra, keyring, settings.audit_origin)
    return verify_log_reader(VerifyProgress(reader, reader.size()), trusted_keys,
                             load_audit_schema(), trusted)


def log_is_sound(settings: Settings, command: str, trusted: bytes | None,
                 even_if_invalid: bool) -> tuple[bool, str | None]:
    """Evidence is made only from a log that verifies: otherwise the auditor's verifier
    would blame whatever record of the bundle the damage happens to reach. (go on?, problem)"""
    with open_audit_reader(settings) as reader:
        report = check_log(settings, reader, trusted)
    if report.ok:
        return True, None
    problem = problem_text(report)
    if even_if_invalid:
        print(f"audit {command}: WARNING - the audit log does NOT verify ({problem}). Going on "
              "because of --even-if-invalid; the output says so, and the auditor's verifier "
              "will say so too.", file=sys.stderr)
        return True, problem
    print(f"audit {command}: REFUSED - the audit log does not verify, so evidence made from it "
          "could lead the auditor's verifier to blame the wrong record.\n"
          f"  What is wrong: {problem}\n"
          "  What to do: run `douane audit verify` and investigate (this may be tampering: keep "
          "a copy of the database as it is now). To hand over evidence of the damaged log "
          f"anyway, run `douane audit {command}` again with --even-if-invalid: the output then "
          "says that your own check failed.")
    return False, problem


def outside_evidence(trusted: Path | None, quorum: int) -> str:
    """What the run could and could not establish, in a DPO's words: without a checkpoint
    kept from before or a witness, the log is only checked against itself."""
    if quorum > 0:
        return (f"checked against {quorum} independent witness(es): the log cannot have been "
                "rewritten or shortened up to the witnessed record without it showing here")
    if trusted is not None:
        return (f"checked against the checkpoint you kept ({trusted}): no record it covers "
                "was changed or removed since")
    return ("WARNING - run without a trusted checkpoint or witness: this checked that every "
            "record is signed by a key in the keyring and that the log agrees with itself, "
            "but NOT that it is the log seen before: whoever holds the signing keys could "
            "have removed or changed records and signed it again. Verify with "
            "--witness FILE --quorum N (or set DOUANE_AUDIT_WITNESSES), or keep "
            "--save-checkpoint and pass it as --trusted-checkpoint next time")


class VerifyProgress:
    """The log as verification reads it, telling on stderr how far a long run has got (every
    few seconds), so a DPO checking millions of records sees it working."""

    def __init__(self, reader: AuditLogReader, total: int, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reader, self.total, self.every_s, self.clock = reader, total, every_s, clock

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self.reader.checkpoints()

    def iter_entries(self) -> Iterator[ChainEntry]:
        started = last = self.clock()
        for done, entry in enumerate(self.reader.iter_entries(), 1):
            now = self.clock()
            if now - last >= self.every_s:
                last = now
                rate = done / max(now - started, 1e-9)
                left = max(self.total - done, 0) / rate
                print(f"audit verify: {done:,} of {self.total:,} records checked "
                      f"({done * 100 // max(self.total, 1)}%, about {left:.0f} s left)",
                      file=sys.stderr, flush=True)
            yield entry


# --------------------------------------------------------------------------- query


def record_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of records (0 or more)")
    return count


def moment(value: str, now: datetime | None = None) -> str:
    """RFC 3339, a plain date or a relative time (``today``, ``7d``) to the records' fixed UTC
    format, so strings compare."""
    now = now or datetime.now(UTC)
    parsed = relative_moment(value, now)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a date or time; write e.g. 2026-11-25 or "
                f"2026-11-25T14:30:00Z, or {RELATIVE_HELP}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_timestamp(parsed)


def trace_id(value: str) -> str:
    """A W3C trace id: 32 hex digits (any case, as tracing systems show them)."""
    folded = value.strip().lower()
    if not TRACE_ID.match(folded) or folded == "0" * 32:
        raise argparse.ArgumentTypeError(
            f"{value[:64]!r} is not a trace id: 32 hex digits, not all zero (the trace id of "
            "a W3C traceparent, as tracing systems show it)")
    return folded


def count_fields(value: str) -> tuple[str, ...]:
    fields = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in fields if f not in FIELDS]
    if unknown or not fields:
        hint = "".join(f" (did you mean {', '.join(close)}?)" for f in unknown[:1]
                       if (close := suggestions(f, FIELDS)))
        raise argparse.ArgumentTypeError(
            f"cannot count by {', '.join(unknown) or 'nothing'}{hint}; fields: "
            f"{', '.join(FIELDS)}")
    return fields


COST_FIELDS = ("tenant", "provider", "month")


def cost_fields(value: str) -> tuple[str, ...]:
    fields = count_fields(value)
    several = [f for f in fields if f in MANY_VALUED]
    if several:
        raise argparse.ArgumentTypeError(
            f"cannot sum costs by {', '.join(several)}: a record has several of them")
    return fields


def filters_from(args: argparse.Namespace) -> AuditQuery:
    return AuditQuery(tenants=tuple(args.tenant), since=args.since, until=args.until,
                      kinds=tuple(args.kind), decisions=tuple(args.decision),
                      entity_types=tuple(args.entity_type), providers=tuple(args.provider),
                      jurisdictions=tuple(args.jurisdiction),
                      classifications=tuple(args.classification),
                      purposes=tuple(args.purpose), reason_codes=tuple(args.reason),
                      policy_hashes=tuple(args.policy_hash),
                      request_ids=tuple(args.request_id), trace_ids=tuple(args.trace_id))


SUMMARY_COLUMNS = ("seq", "occurred_at", "record_id", "kind", "tenant", "request_id", "decision",
                   "classification", "purpose", "provider", "jurisdiction", "reasons",
                   "entities", "policy_sha256", "key_id", "trace_id")
TABLE_COLUMNS = ("seq", "occurred_at", "kind", "tenant", "request_id", "decision",
                 "classification", "provider", "reasons", "entities")


def summary(record: StoredRecord) -> dict[str, Any]:
    """The record's fields as a DPO reads them: ids, codes and counts (no personal data)."""
    payload = record.payload
    details = payload.get("details") or {}
    entities = details.get("entities")
    entities = entities if isinstance(entities, dict) else {}

    def one(field: str) -> str | None:
        found = values(payload, field)
        return found[0] if found else None

    return {
        "seq": record.seq, "occurred_at": payload["occurred_at"],
        "record_id": record.record_id, "kind": record.kind, "tenant": record.tenant,
        "request_id": record.request_id, "decision": one("decision"),
        "classification": one("classification"), "purpose": one("purpose"),
        "provider": one("provider"), "jurisdiction": one("jurisdiction"),
        "reasons": ";".join(values(payload, "reason")),
        "entities": ";".join(f"{k}={v}" for k, v in sorted(entities.items())),
        "policy_sha256": one("policy"), "key_id": record.key_id, "trace_id": one("trace"),
    }


# the filters checked for values no record has, with the vocabulary douane itself knows
CHECKED_FILTERS: dict[str, tuple[str, str, frozenset[str]]] = {
    # field: (option, what it is called in a sentence, values valid even if never recorded)
    "tenant": ("--tenant", "tenant", frozenset()),
    "provider": ("--provider", "provider", frozenset()),
    "entity-type": ("--entity-type", "entity type", frozenset(ENTITY_TYPES)),
    "jurisdiction": ("--jurisdiction", "jurisdiction", frozenset()),
    "classification": ("--classification", "classification", frozenset(CLASSIFICATIONS)),
    "purpose": ("--purpose", "purpose", frozenset()),
    "reason": ("--reason", "reason code", frozenset()),
}


def requested(args: argparse.Namespace) -> dict[str, list[str]]:
    return {field: getattr(args, option[2:].replace("-", "_"))
            for field, (option, _, _) in CHECKED_FILTERS.items()
            if getattr(args, option[2:].replace("-", "_"))}


def unknown_values(reader: SqlRecords, wanted: dict[str, list[str]],
                   found: list[StoredRecord]) -> list[str]:
    """A sentence for each filter value that no record of the whole log has (a typo, most
    likely), with the closest known values. The log is read again only when a value matched
    nothing in the answer."""
    unmatched = {field: [v for v in given
                         if not any(fold(field, v) in {fold(field, x) for x in values(
                             r.payload, field)} for r in found)]
                 for field, given in wanted.items()}
    unmatched = {field: given for field, given in unmatched.items() if given}
    if not unmatched:
        return []
    known: dict[str, set[str]] = {field: set(CHECKED_FILTERS[field][2]) for field in unmatched}
    if "tenant" in known:
        known["tenant"] |= set(reader.tenants())
    others = sorted(known.keys() - {"tenant"})
    counted = reader.known_values(others)  # from the daily counts, if the index is complete
    if counted is not None:
        for field in others:
            known[field] |= counted[field]
    elif others:
        for record in reader.iter_records():
            for field in known.keys() - {"tenant"}:
                known[field].update(values(record.payload, field))
    problems = []
    for field, given in unmatched.items():
        option, name, _ = CHECKED_FILTERS[field]
        folded = {fold(field, k) for k in known[field]}
        for value in given:
            if fold(field, value) in folded:
                continue
            close = suggestions(value, known[field])
            listed = sorted(known[field])
            shown = ", ".join(listed[:20]) + (f" and {len(listed) - 20} more"
                                              if len(listed) > 20 else "")
            problems.append(
                f"no record in the log has {name} {value!r} ({option})"
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ".")
                + (f" Known: {shown}." if listed else f" No record has any {name} yet."))
    return problems


def run_query(settings: Settings, args: argparse.Namespace) -> int:
    counting = args.count_by is not None
    with open_audit_reader(settings) as reader:
        found: list[StoredRecord] = []
        for record in reader.query(filters_from(args)):
            found.append(record)
            if args.limit and not counting and len(found) >= args.limit:
                break
        problems = unknown_values(reader, requested(args), found)
    if problems:
        for problem in problems:
            print(f"audit query: {problem}", file=sys.stderr)
        print("audit query: nothing was listed, because the answer would be wrong or empty for "
              "that reason. Correct the value and run the command again.", file=sys.stderr)
        return 1
    if counting:
        print_counts(found, args.count_by, args.format)
        return 0
    if args.format == "jsonl":
        for record in found:
            print(json.dumps(record.payload, ensure_ascii=False, sort_keys=True))
        return 0
    rows = [summary(record) for record in found]
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    print_table(list(TABLE_COLUMNS),
                [[row.get(c) or "-" for c in TABLE_COLUMNS] for row in rows])
    print(f"({len(rows)} record{'' if len(rows) == 1 else 's'})")
    return 0


def print_table(columns: list[str], table: list[list[Any]]) -> None:
    cells = [[str(v) for v in row] for row in table]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def print_counts(found: list[StoredRecord], fields: tuple[str, ...], form: str) -> None:
    counts = count_by((r.payload for r in found), fields)
    groups = sorted(counts.items(), key=lambda item: tuple(v or "" for v in item[0]))
    if form == "jsonl":
        for key, count in groups:
            print(json.dumps({**dict(zip(fields, key, strict=True)), "records": count},
                             sort_keys=True))
        return
    if form == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([*fields, "records"])
        writer.writerows([*(v or "" for v in key), count] for key, count in groups)
        return
    print_table([*fields, "records"], [[*(v or "-" for v in key), count]
                                       for key, count in groups])
    several = [f for f in fields if f in MANY_VALUED]
    print(f"({len(found)} record{'' if len(found) == 1 else 's'} in {len(groups)} group"
          f"{'' if len(groups) == 1 else 's'}"
          + (f"; a record with several {' or '.join(several)} values is counted once for each"
             if several else "") + "; '-': the field does not apply to the record)")


# --------------------------------------------------------------------------- costs


def run_costs(settings: Settings, args: argparse.Namespace) -> int:
    query = AuditQuery(tenants=tuple(args.tenant), providers=tuple(args.provider),
                       since=args.since, until=args.until, kinds=("answered",))
    with open_audit_reader(settings) as reader:
        summary = summarise_costs(((r.record_id, r.payload) for r in reader.query(query)),
                                  args.by)
    columns = [*args.by, "currency", *CostGroup().as_json()]
    rows = [[*key, *group.as_json().values()] for key, group in summary.rows()]
    if args.format == "jsonl":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), sort_keys=True))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    else:
        print_table(columns, [["-" if v is None else v for v in row] for row in rows])
        answers = sum(group.answers for _, group in summary.rows())
        print(f"({answers} answer{'' if answers == 1 else 's'} in {len(rows)} group"
              f"{'' if len(rows) == 1 else 's'}; cost rounded half-up to 6 decimals per answer; "
              "currency '-': unpriced)")
    for record_id, why in summary.disagreeing:
        print(f"audit costs: record {record_id}: {why}", file=sys.stderr)
    if summary.disagreeing:
        print(f"audit costs: {len(summary.disagreeing)} record(s) disagree with their own "
              "usage and price: run 'douane audit verify'", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- prove / export


def run_prove(settings: Settings, record_id: str, out: Path | None = None,
              trusted_path: Path | None = None, even_if_invalid: bool = False) -> int:
    trusted = read_trusted(trusted_path)
    go_on, problem = log_is_sound(settings, "prove", trusted, even_if_invalid)
    if not go_on:
        return 1
    try:
        with open_writer(settings) as store:
            proof = inclusion_proof(store, record_id, trusted)
    except merkle.ProofError:  # only after --even-if-invalid: the damage reaches the tree
        print(f"audit prove: the log's damage reaches this record's proof: no proof was "
              f"written ({problem})")
        return 1
    if proof is not None:
        proof["operator_check"] = operator_check(problem)
    if proof is None:
        print(f"audit prove: no record {record_id!r} (find its id with `douane audit query "
              "--request-id ...`)")
        return 1
    text = json.dumps(proof, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    write_atomically(out, text)
    print(f"audit prove: proof of record {proof['leaf_index'] + 1} ({record_id}) in the "
          f"checkpoint of {proof['tree_size']} records -> {out}\ncheck it anywhere with: "
          f"python offline_verifier.py verify-proof {out} --keyring "
          f"{keyring_path_for(settings.audit_db).name}")
    return 0


def read_trusted(path: Path | None) -> bytes | None:
    """The auditor's saved checkpoint, repaired as the offline verifier repairs it."""
    return None if path is None else read_checkpoint(path).encode("utf-8")


def write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)


def operator_check(problem: str | None) -> str:
    return "passed" if problem is None else f"failed: {problem}"


def run_export(settings: Settings, since: str | None, until: str | None, out: Path,
               trusted_path: Path | None = None, even_if_invalid: bool = False) -> int:
    trusted = read_trusted(trusted_path)
    go_on, problem = log_is_sound(settings, "export", trusted, even_if_invalid)
    if not go_on:
        return 1
    with open_writer(settings) as store:
        bundle = build_bundle(store, since, until, trusted, operator_check(problem))
    write_atomically(out, json.dumps(bundle, indent=1) + "\n")
    checkpoints = len(bundle["checkpoints"]) + 1
    print(f"audit export: {len(bundle['records'])} records, {checkpoints} checkpoint"
          f"{'' if checkpoints == 1 else 's'} -> {out}\n"
          f"verify it anywhere with: python offline_verifier.py {out} "
          f"--keyring {keyring_path_for(settings.audit_db).name} (send the auditor that keyring "
          "by a separate channel they trust)")
    return 0


def run_rotate(settings: Settings, role: str = WORKER) -> int:
    if settings.audit_signer == "pkcs11":
        return run_rotate_in_token(settings, role)
    key_path, public_path = ((settings.signing_key, settings.public_key) if role == WORKER
                             else (settings.dpo_signing_key, settings.dpo_public_key))
    with open_writer(settings, role) as store:
        old_id = store.signer.key_id
        new = generate_key_file(key_path)
        staged = key_path.with_name(key_path.name + ".next")
        record = store.rotate_key(new)
        # The log now expects the new key: put it in place; the old private key is destroyed
        # (its public key stays in the keyring forever, so old records keep verifying).
        os.replace(staged, key_path)
        public_path.write_bytes(new.public_key_pem())
    print(f"audit rotate-key: {role} key {old_id} retired at {record.payload['occurred_at']} "
          f"(record {record.seq}); now signing with {new.key_id}")
    return 0


def run_rotate_in_token(settings: Settings, role: str) -> int:
    """Rotation of a key held in the PKCS#11 token: the new pair is made there too."""
    from streams.adapters.pkcs11_keys import next_signer, open_token, token_config

    public_path = settings.public_key if role == WORKER else settings.dpo_public_key
    with open_writer(settings, role) as store:
        old_id = store.signer.key_id
        new, put_in_place = next_signer(open_token(token_config()), role)
        record = store.rotate_key(new)
        put_in_place()  # the old private key is destroyed in the token
        export_public_key(new.public_key_pem(), public_path)
    print(f"audit rotate-key: {role} key {old_id} (in the token) retired at "
          f"{record.payload['occurred_at']} (record {record.seq}); now signing with "
          f"{new.key_id}")
    return 0
