"""``douane retention|erasure|subject-access|hold``: crypto-shredding for a data-protection officer.

retention run       destroy expired data keys (not under hold), prune ciphertexts they leave
                    unreadable, print counts per store and period, append a signed
                    ``retention_run`` record. Safe to repeat and to run in several processes.
retention status    per period: keys and subjects held, until when, how many under hold
erasure request     destroy one subject's data keys (found by keyed fingerprint), prune, append
                    a signed ``erased`` record
subject-access      what douane holds about one person while their keys exist
hold add|remove|list  legal holds (audited); held keys survive retention runs and erasure

Nothing printed or audited here contains a personal value: subjects appear as keyed
fingerprints, values only in the output of ``subject-access`` (which is its purpose).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.adapters.key_store import DestroyedKeys, KeyStore, SubjectHeldError
from streams.adapters.personal_vault import PersonalVault
from streams.config import Settings
from streams.core.audit import AuditEvent, format_timestamp
from streams.core.fingerprint import FINGERPRINT
from streams.core.key_periods import format_duration

Clock = Callable[[], float]


def add_retention_commands(commands: Any) -> None:
    """Register the commands on the top-level ``douane`` subparsers."""
    retention = commands.add_parser("retention",
                                    help="destroy expired data keys; show what is held")
    actions = retention.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    actions.add_parser("run", help="destroy expired keys, prune ciphertexts, audit the run")
    actions.add_parser("status", help="per period: keys held, until when, holds")

    erasure = commands.add_parser("erasure", help="erase one data subject (crypto-shredding)")
    erasure_actions = erasure.add_subparsers(dest="erasure_command", required=True,
                                             metavar="ACTION")
    request = erasure_actions.add_parser("request", help="destroy one subject's data keys")
    _subject_arguments(request)
    request.add_argument("--reason", default="data subject request (GDPR art. 17)")

    access = commands.add_parser("subject-access", help="what douane holds about one person")
    _subject_arguments(access)

    hold = commands.add_parser("hold", help="legal holds on data keys")
    hold_actions = hold.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    add = hold_actions.add_parser("add", help="keep a tenant's (or one subject's) keys")
    add.add_argument("--tenant", required=True)
    who = add.add_mutually_exclusive_group()
    who.add_argument("--subject", type=fingerprint_argument,
                     help="keyed fingerprint (default: every subject of the tenant)")
    who.add_argument("--value", help="the person's identifying value, fingerprinted here")
    add.add_argument("--reason", required=True, help="case reference; no personal data")
    remove = hold_actions.add_parser("remove", help="end a hold")
    remove.add_argument("hold_id")
    hold_actions.add_parser("list", help="holds in force")


def _subject_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--subject", type=fingerprint_argument,
                     help="keyed fingerprint (as printed by subject-access)")
    who.add_argument("--value", help="the person's identifying value (name, e-mail, NIR...)")


def fingerprint_argument(value: str) -> str:
    if not FINGERPRINT.fullmatch(value):
        # not repeated back: what was typed may be the person's name
        raise argparse.ArgumentTypeError(
            f"what was given ({len(value)} characters, not repeated here) is not a subject "
            "fingerprint (64 hexadecimal digits, as printed by subject-access or erasure); "
            "to name the person instead, use --value")
    return value


def unknown_tenant(settings: Settings, keys: KeyStore, tenant: str) -> str | None:
    """Why ``tenant`` cannot be meant, or None. Known: the policy's tenants, and every tenant
    douane has kept something about (one may have left the policy and still have data)."""
    from streams.adapters.policy_files import load_policy_set
    from streams.core.policy import PolicyError

    known = keys.tenants()
    # a broken policy file must not stop an erasure: the key store still answers
    with contextlib.suppress(PolicyError, OSError):
        known |= set(load_policy_set(settings.policy_path).policy.tenant_ids)
    if tenant in known:
        return None
    return f"unknown tenant {tenant!r} (known: {', '.join(sorted(known)) or 'none'})"


def run_retention_command(args: argparse.Namespace, settings: Settings,
                          clock: Clock = time.time) -> int:
    with open_stores(settings, clock) as (keys, vault):
        tenant = getattr(args, "tenant", None)
        problem = unknown_tenant(settings, keys, tenant) if tenant is not None else None
        if problem is not None:
            print(f"douane {args.command}: {problem}; nothing was done", file=sys.stderr)
            return 2
        if args.command == "retention":
            if args.retention_command == "run":
                report = retention_run(settings, keys, vault)
                print(report.text())
                return 0
            print(status_text(keys, vault))
            print(policy_text(settings))
            return 0
        if args.command == "erasure":
            subject = args.subject or keys.fingerprint(args.tenant, args.value)
            try:
                erased = erase_subject(settings, keys, vault, args.tenant, subject, args.reason)
            except SubjectHeldError as exc:
                print(f"erasure request: refused - {exc}; remove the hold first")
                return 1
            print(erased.text())
            return 0
        if args.command == "subject-access":
            subject = args.subject or keys.fingerprint(args.tenant, args.value)
            print(json.dumps(subject_access(settings, vault, args.tenant, subject), indent=2,
                             ensure_ascii=False))
            return 0
        return run_hold(args, settings, keys)


@contextmanager
def open_stores(settings: Settings, clock: Clock = time.time
                ) -> Iterator[tuple[KeyStore, PersonalVault]]:
    keys = KeyStore(keys_path(settings), clock)
    vault = PersonalVault(vault_path(settings), keys)
    try:
        yield keys, vault
    finally:
        vault.close()
        keys.close()


def keys_path(settings: Settings) -> Path:
    return settings.keys_db or settings.home / "keys.sqlite3"


def vault_path(settings: Settings) -> Path:
    return settings.vault_db or settings.home / "vault.sqlite3"


def audit(settings: Settings, kind: str, tenant: str | None, details: dict[str, Any]) -> str:
    """Append one signed record; returns its id."""
    from streams.audit_cli import open_writer

    record_id = f"{kind}/{uuid.uuid4().hex}"
    with open_writer(settings) as log:
        log.append(AuditEvent(record_id, kind, None, tenant, datetime.now(UTC), details))
    return record_id


def _as_of(clock: Clock) -> str:
    return format_timestamp(datetime.fromtimestamp(clock(), UTC))


# --------------------------------------------------------------------------- retention run


@dataclass(frozen=True)
class RetentionReport:
    destroyed: DestroyedKeys
    pruned: int
    record_id: str

    def per_period(self) -> dict[str, int]:
        return dict(Counter(k.period.label for k in self.destroyed.keys))

    def text(self) -> str:
        lines = [f"retention run: {len(self.destroyed.keys)} data keys destroyed, "
                 f"{len(self.destroyed.keks)} period keys destroyed, {self.pruned} vault "
                 f"entries pruned, {self.destroyed.held} expired keys kept under hold"]
        lines += [f"  key store  {label}: {count} data keys"
                  for label, count in sorted(self.per_period().items())]
        lines.append(f"  vault      {self.pruned} entries")
        lines.append(f"audit record {self.record_id}")
        return "\n".join(lines)


def retention_run(settings: Settings, keys: KeyStore, vault: PersonalVault) -> RetentionReport:
    destroyed = keys.destroy_expired()
    pruned = vault.prune(keys.live_key_ids())
    report = RetentionReport(destroyed, pruned, "")
    record_id = audit(settings, "retention_run", None, {
        "as_of": _as_of(keys.clock),
        "stores": {"key_store": {"data_keys_destroyed": len(destroyed.keys),
                                 "period_keys_destroyed": len(destroyed.keks),
                                 "kept_under_hold": destroyed.held},
                   "vault": {"entries_pruned": pruned}},
        "periods": [{"period": p, "data_keys_destroyed": n}
                    for p, n in sorted(Counter(k.period.period_id
                                               for k in destroyed.keys).items())],
    })
    return RetentionReport(report.destroyed, pruned, record_id)


def scheduled_retention_run(settings: Settings) -> RetentionReport:
    """What ``douane worker`` runs on its timer (DOUANE_RETENTION_INTERVAL_S)."""
    import structlog

    with open_stores(settings) as (keys, vault):
        report = retention_run(settings, keys, vault)
    structlog.get_logger(__name__).info(
        "retention run", data_keys_destroyed=len(report.destroyed.keys),
        period_keys_destroyed=len(report.destroyed.keks), vault_entries_pruned=report.pruned,
        kept_under_hold=report.destroyed.held, audit_record=report.record_id)
    return report


def status_text(keys: KeyStore, vault: PersonalVault) -> str:
    periods = keys.status()
    lines = [f"retention status: {sum(p.keys for p in periods)} data keys in {len(periods)} "
             f"periods, {vault.count()} vault entries, {len(keys.holds())} holds"]
    for p in periods:
        until = datetime.fromtimestamp(p.period.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  key store  {p.period.label}: {p.keys} keys, {p.subjects} subjects, "
                     f"destroyed from {until}" + (f", {p.held} under hold" if p.held else "")
                     + f" (policy retention {format_duration(p.period.retention_s)})")
    return "\n".join(lines)


def policy_text(settings: Settings) -> str:
    """What the policy in force says: the raw topics' retention and the encrypt operator's."""
    from streams.adapters.policy_files import load_policy_set
    from streams.adapters.shredding_operator_keys import shortest_payload_retention
    from streams.adapters.topic_retention import retention_ms
    from streams.core.policy import PolicyError

    try:
        loaded = load_policy_set(settings.policy_path)
    except (PolicyError, OSError) as exc:
        return f"  policy     {settings.policy_path}: cannot be read ({type(exc).__name__})"
    ref = loaded.reference
    lines = [f"  policy     {ref['name']} {ref['version']} (sha256 {ref['sha256'][:12]}): "
             f"encrypt-operator values kept "
             f"{format_duration(shortest_payload_retention(loaded))}"]
    lines += [f"  kafka      {topic}: retention.ms {ms} ({format_duration(ms // 1000)})"
              for topic, ms in sorted(retention_ms(loaded).items())]
    return "\n".join(lines)


# --------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class ErasureReport:
    tenant: str
    subject: str
    destroyed: DestroyedKeys
    pruned: int
    record_id: str

    def text(self) -> str:
        lines = [f"erasure: subject {self.subject} of tenant {self.tenant}: "
                 f"{len(self.destroyed.keys)} data keys destroyed, {self.pruned} vault entries "
                 "pruned"]
        if not self.destroyed.keys:
            lines.append("  douane held no data key for this subject: nothing to erase (the "
                         "request is recorded; check the spelling, or search by --subject)")
        lines += [f"  key {k.key_id} ({k.period.label})" for k in self.destroyed.keys]
        lines.append(f"audit record {self.record_id}")
        return "\n".join(lines)


def erase_subject(settings: Settings, keys: KeyStore, vault: PersonalVault, tenant: str,
                  subject: str, reason: str) -> ErasureReport:
    destroyed = keys.erase(tenant, subject)
    pruned = vault.prune(keys.live_key_ids())
    record_id = audit(settings, "erased", tenant, {
        "as_of": _as_of(keys.clock), "subject_fingerprint": subject, "reason": reason,
        "data_keys": [{"key_id": k.key_id, "period": k.period.period_id}
                      for k in destroyed.keys],
        "vault_entries_pruned": pruned,
    })
    return ErasureReport(tenant, subject, destroyed, pruned, record_id)


# --------------------------------------------------------------------------- subject access


def subject_access(settings: Settings, vault: PersonalVault, tenant: str,
                   subject: str) -> dict[str, Any]:
    values = vault.of_subject(tenant, subject)
    request_ids = sorted({v.entry.request_id for v in values if v.entry.request_id})
    return {
        "tenant": tenant, "subject_fingerprint": subject,
        "values": [{"kind": v.entry.kind, "value": v.value, "request_id": v.entry.request_id,
                    "stored_at": _moment(v.entry.stored_at),
                    "deleted_from": _moment(v.entry.expires_at)} for v in values],
        "decisions": _decisions(settings, request_ids),
    }


def _moment(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


def _decisions(settings: Settings, request_ids: list[str]) -> list[dict[str, Any]]:
    from streams.adapters.audit.open import audit_log_exists, open_audit_reader

    if not request_ids or not audit_log_exists(settings):
        return []
    found = []
    with open_audit_reader(settings) as reader:
        for request_id in request_ids:
            for record in reader.records_for_request(request_id):
                details = record.payload.get("details") or {}
                found.append({"request_id": request_id, "kind": record.kind,
                              "occurred_at": record.payload["occurred_at"],
                              "decision": details.get("decision"),
                              "provider": details.get("provider"), "record_id": record.record_id})
    return found


# --------------------------------------------------------------------------- holds


def run_hold(args: argparse.Namespace, settings: Settings, keys: KeyStore) -> int:
    if args.hold_command == "add":
        subject = args.subject or (keys.fingerprint(args.tenant, args.value)
                                   if args.value else None)
        hold = keys.add_hold(args.tenant, subject, args.reason)
        audit(settings, "hold_placed", args.tenant, {
            "hold_id": hold.hold_id, "subject_fingerprint": subject, "reason": args.reason})
        print(f"hold {hold.hold_id} placed on tenant {args.tenant}"
              + (f", subject {subject}" if subject else ", every subject"))
        return 0
    if args.hold_command == "remove":
        removed = keys.remove_hold(args.hold_id)
        if removed is None:
            print(f"hold remove: no hold {args.hold_id!r}")
            return 1
        audit(settings, "hold_released", removed.hold.tenant, {
            "hold_id": removed.hold_id, "subject_fingerprint": removed.hold.subject,
            "reason": removed.reason})
        print(f"hold {removed.hold_id} removed; the next retention run may destroy its keys")
        return 0
    holds = keys.holds()
    for h in holds:
        print(f"{h.hold_id}  tenant {h.hold.tenant}  subject {h.hold.subject or '*'}  "
              f"since {_moment(h.placed_at)}  {h.reason}")
    print(f"({len(holds)} holds)")
    return 0
