"""``douane audit ...``: what a data-protection officer (or an auditor) runs against the log.

verify       full check: signatures, canonical form, schema, chain, key windows, Merkle tree,
             checkpoints; names the first bad record
query        filtered listing (table, JSON lines or CSV); never prints more than the record holds
prove ID     inclusion proof of one record in the latest checkpoint
export       evidence bundle for ``streams/offline_verifier.py``
checkpoint   sign a checkpoint now
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
from collections.abc import Callable, Iterable, Iterator
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
from streams.adapters.audit.verify import load_audit_schema, trusted_keyring, verify_log_reader
from streams.adapters.signer import export_public_key, generate_key_file
from streams.cli import Commands
from streams.cli.witness import (
    add_quorum_options,
    add_witness_commands,
    run_cosign,
    run_witness_init,
)
from streams.config import Settings
from streams.core.audit import AUDIT_KINDS, ChainEntry, format_timestamp
from streams.core.keyring import ROLES, WORKER
from streams.services.audit_log import open_writer
from streams.services.evidence import build_bundle, check_quorum, inclusion_proof


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

    query = actions.add_parser("query", help="list records matching filters")
    query.add_argument("--tenant")
    query.add_argument("--since", type=moment,
                       help="from this time (RFC 3339 or date, UTC if no offset), inclusive")
    query.add_argument("--until", type=moment, help="up to this time, exclusive")
    query.add_argument("--kind", action="append", choices=sorted(AUDIT_KINDS), default=[],
                       help="record kind (repeatable)")
    query.add_argument("--decision", choices=["forward", "block"])
    query.add_argument("--entity-type", help="e.g. PERSON: records that found this type")
    query.add_argument("--provider")
    query.add_argument("--policy-hash", help="policy SHA-256 (a prefix is enough)")
    query.add_argument("--request-id")
    query.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")
    query.add_argument("--limit", type=record_count, default=0,
                       help="at most this many (0: all)")

    prove = actions.add_parser("prove", help="inclusion proof of one record")
    prove.add_argument("record_id")

    export = actions.add_parser("export", help="write an evidence bundle")
    export.add_argument("--since", type=moment, help="from this time (RFC 3339 or date)")
    export.add_argument("--until", type=moment, help="up to this time, exclusive")
    export.add_argument("--out", type=Path, required=True)

    actions.add_parser("checkpoint", help="sign a checkpoint of the log now")
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
    if command == "prove":
        return run_prove(settings, args.record_id)
    if command == "export":
        return run_export(settings, args.since, args.until, args.out)
    if command == "checkpoint":
        with open_writer(settings) as store:
            checkpoint = store.issue_checkpoint()
        sys.stdout.write(checkpoint.note.decode("utf-8"))
        return 0
    if command == "rotate-key":
        return run_rotate(settings, args.role)
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
    extra = [settings.public_key] if settings.public_key.exists() else []
    trusted_keys = trusted_keyring(settings.audit_db, extra, keyring, settings.audit_origin)
    with open_audit_reader(settings) as log_reader:
        report = verify_log_reader(VerifyProgress(log_reader, log_reader.size()),
                                   trusted_keys, load_audit_schema(),
                                   trusted.read_bytes() if trusted else None)
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
        return 0
    where = (f"first bad record: seq {report.first_bad_seq} ({report.first_bad_record_id}): "
             if report.first_bad_seq is not None else "")
    print(f"audit verify: FAILED after {report.records_checked} good records - {where}"
          f"{report.problem}")
    return 1


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


def moment(value: str) -> str:
    """RFC 3339 (or a plain date) to the records' fixed UTC format, so strings compare."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date or time; write e.g. 2026-11-25 or "
            "2026-11-25T14:30:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_timestamp(parsed)


def filters_from(args: argparse.Namespace) -> AuditQuery:
    return AuditQuery(tenant=args.tenant, since=args.since, until=args.until,
                      kinds=tuple(args.kind), decision=args.decision,
                      entity_type=args.entity_type, provider=args.provider,
                      policy_hash=args.policy_hash, request_id=args.request_id)


SUMMARY_COLUMNS = ("seq", "occurred_at", "record_id", "kind", "tenant", "request_id", "decision",
                   "provider", "entities", "policy_sha256", "key_id")


def summary(record: StoredRecord) -> dict[str, Any]:
    details = record.payload.get("details") or {}
    policy = details.get("policy")
    policy = policy if isinstance(policy, dict) else {}
    entities = details.get("entities")
    entities = entities if isinstance(entities, dict) else {}
    return {
        "seq": record.seq, "occurred_at": record.payload["occurred_at"],
        "record_id": record.record_id, "kind": record.kind, "tenant": record.tenant,
        "request_id": record.request_id, "decision": details.get("decision"),
        "provider": details.get("provider"),
        "entities": ";".join(f"{k}={v}" for k, v in sorted(entities.items())),
        "policy_sha256": policy.get("sha256"), "key_id": record.key_id,
    }


def run_query(settings: Settings, args: argparse.Namespace) -> int:
    with open_audit_reader(settings) as reader:
        found: Iterable[StoredRecord] = reader.query(filters_from(args))
        rows = []
        for record in found:
            rows.append(summary(record) if args.format != "jsonl" else record.payload)
            if args.limit and len(rows) >= args.limit:
                break
    if args.format == "jsonl":
        for payload in rows:
            print(json.dumps(payload, ensure_ascii=False, sort_keys=True))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        columns = ["seq", "occurred_at", "kind", "tenant", "request_id", "decision", "provider",
                   "entities"]
        table = [[str(row.get(c) if row.get(c) is not None else "-") for c in columns]
                 for row in rows]
        widths = [max([len(c), *(len(r[i]) for r in table)]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for r in table:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
        print(f"({len(rows)} record{'' if len(rows) == 1 else 's'})")
    return 0


# --------------------------------------------------------------------------- prove / export


def run_prove(settings: Settings, record_id: str) -> int:
    with open_writer(settings) as store:
        proof = inclusion_proof(store, record_id)
    if proof is None:
        print(f"audit prove: no record {record_id!r}")
        return 1
    print(json.dumps(proof, indent=2))
    return 0


def run_export(settings: Settings, since: str | None, until: str | None, out: Path) -> int:
    with open_writer(settings) as store:
        bundle = build_bundle(store, since, until)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(f"audit export: {len(bundle['records'])} records, {len(bundle['checkpoints']) + 1} "
          f"checkpoints -> {out}\nverify it anywhere with: python offline_verifier.py {out}")
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
