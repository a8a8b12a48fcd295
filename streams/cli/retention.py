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
import json
import sys
import time

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.key_store import KeyStore, SubjectHeldError
from streams.cli import Commands
from streams.config import Settings
from streams.core.fingerprint import FINGERPRINT
from streams.services.audit_log import open_writer
from streams.services.erasure import erase_subject
from streams.services.retention import (
    place_hold,
    policy_text,
    release_hold,
    retention_run,
    status_text,
    unknown_tenant,
)
from streams.services.stores import Clock, open_stores
from streams.services.subject_access import moment, subject_access


def register(commands: Commands) -> None:
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
    for parser in (retention, erasure, access, hold):
        parser.set_defaults(run=run_retention_command)


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
                with open_writer(settings) as audit:
                    report = retention_run(keys, vault, audit)
                print(report.text())
                return 0
            print(status_text(keys, vault))
            print(policy_text(settings))
            return 0
        if args.command == "erasure":
            subject = args.subject or keys.fingerprint(args.tenant, args.value)
            try:
                with open_writer(settings) as audit:
                    erased = erase_subject(keys, vault, audit, args.tenant, subject, args.reason)
            except SubjectHeldError as exc:
                print(f"erasure request: refused - {exc}; remove the hold first")
                return 1
            print(erased.text())
            return 0
        if args.command == "subject-access":
            subject = args.subject or keys.fingerprint(args.tenant, args.value)
            if audit_log_exists(settings):
                with open_audit_reader(settings) as reader:
                    found = subject_access(vault, reader, args.tenant, subject)
            else:
                found = subject_access(vault, None, args.tenant, subject)
            print(json.dumps(found, indent=2, ensure_ascii=False))
            return 0
        return run_hold(args, settings, keys)


def run_hold(args: argparse.Namespace, settings: Settings, keys: KeyStore) -> int:
    if args.hold_command == "add":
        subject = args.subject or (keys.fingerprint(args.tenant, args.value)
                                   if args.value else None)
        with open_writer(settings) as audit:
            hold = place_hold(keys, audit, args.tenant, subject, args.reason)
        print(f"hold {hold.hold_id} placed on tenant {args.tenant}"
              + (f", subject {subject}" if subject else ", every subject"))
        return 0
    if args.hold_command == "remove":
        removed = None
        if any(h.hold_id == args.hold_id for h in keys.holds()):
            with open_writer(settings) as audit:
                removed = release_hold(keys, audit, args.hold_id)
        if removed is None:
            print(f"hold remove: no hold {args.hold_id!r}")
            return 1
        print(f"hold {removed.hold_id} removed; the next retention run may destroy its keys")
        return 0
    holds = keys.holds()
    for h in holds:
        print(f"{h.hold_id}  tenant {h.hold.tenant}  subject {h.hold.subject or '*'}  "
              f"since {moment(h.placed_at)}  {h.reason}")
    print(f"({len(holds)} holds)")
    return 0
