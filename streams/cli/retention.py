"""``douane retention|erasure|subject-access|subject|hold``: crypto-shredding for a DPO.

retention run       destroy expired data keys (not under hold), prune ciphertexts they leave
                    unreadable, print counts per store and period, append a signed
                    ``retention_run`` record; ``--dry-run [--as-of TIME]``: only say what it
                    would do
retention status    per period: keys and subjects held, until when, how many under hold
erasure request     erase one person: the identifier given and those linked to it; refused
                    (and recorded) under a hold or when the links are ambiguous; ``--dry-run``
subject-access      what douane holds about one person (JSON), erasures made, what it cannot erase
subject show|confirm|split  the identifiers linked to one; a DPO's decision on two of them
hold add|remove|list  legal holds (audited); a hold on one identifier protects the whole person

Every command names the policy it used: the one the worker runs, as the audit log records it
(``streams.services.policy_in_force``). Nothing printed or audited here contains a personal
value: identifiers appear as keyed fingerprints, values only in the output of
``subject-access`` (which is its purpose), and only the person's own.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.key_store import KeyStore, SubjectHeldError
from streams.adapters.personal_vault import PersonalVault
from streams.cli import Commands
from streams.config import Settings
from streams.core.fingerprint import FINGERPRINT
from streams.core.persons import CONFIRMED, SUGGESTED, Person
from streams.services.audit_log import open_writer
from streams.services.erasure import (
    ErasureRefusedError,
    beyond_reach,
    erase_person,
    plan_erasure,
)
from streams.services.persons import decide_link, find_person, known_fingerprints
from streams.services.policy_in_force import PolicyInForce, policy_in_force
from streams.services.retention import (
    place_hold,
    plan_retention_run,
    policy_text,
    release_hold,
    retention_run,
    status_text,
    unknown_tenant,
)
from streams.services.stores import Clock, open_stores
from streams.services.subject_access import LINKING_RULE, moment, subject_access


def register(commands: Commands) -> None:
    retention = commands.add_parser("retention",
                                    help="destroy expired data keys; show what is held")
    actions = retention.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="destroy expired keys, prune ciphertexts, audit the run")
    run.add_argument("--dry-run", action="store_true",
                     help="say what a run would destroy and keep; change and record nothing")
    run.add_argument("--as-of", type=as_of_argument, metavar="TIME",
                     help="with --dry-run: as if run at TIME (e.g. 2026-12-31 or "
                          "2026-12-31T08:00Z; UTC unless an offset is given)")
    actions.add_parser("status", help="per period: keys held, until when, holds")

    erasure = commands.add_parser("erasure", help="erase one person (crypto-shredding)")
    erasure_actions = erasure.add_subparsers(dest="erasure_command", required=True,
                                             metavar="ACTION")
    request = erasure_actions.add_parser(
        "request", help="destroy the data keys of one person: the identifier given and those "
                        "linked to it")
    _subject_arguments(request)
    request.add_argument("--reason", default="data subject request (GDPR art. 17)")
    request.add_argument("--case", help="case reference (recorded; no personal data)")
    request.add_argument("--dry-run", action="store_true",
                         help="show the person found and what would be destroyed; change and "
                              "record nothing")

    access = commands.add_parser("subject-access", help="what douane holds about one person")
    _subject_arguments(access)

    subject = commands.add_parser("subject", help="the identifiers linked into one person")
    subject_actions = subject.add_subparsers(dest="subject_command", required=True,
                                             metavar="ACTION")
    show = subject_actions.add_parser("show", help="the person an identifier belongs to "
                                                   "(fingerprints and entity types, no value)")
    _subject_arguments(show)
    for name, what in (("confirm", "two identifiers are one person's"),
                       ("split", "two identifiers are not one person's (undo a suggested link)")):
        decision = subject_actions.add_parser(name, help=what)
        decision.add_argument("--tenant", required=True)
        decision.add_argument("--subject", action="append", default=[],
                              type=fingerprint_argument, metavar="FINGERPRINT",
                              help="an identifier by keyed fingerprint (twice, or with --value)")
        decision.add_argument("--value", action="append", default=[],
                              help="an identifier by its value, fingerprinted here")
        decision.add_argument("--case", required=True,
                              help="case reference (recorded; no personal data)")

    hold = commands.add_parser("hold", help="legal holds on data keys")
    hold_actions = hold.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    add = hold_actions.add_parser("add", help="keep a tenant's (or one person's) keys")
    add.add_argument("--tenant", required=True)
    who = add.add_mutually_exclusive_group()
    who.add_argument("--subject", type=fingerprint_argument,
                     help="keyed fingerprint (default: every subject of the tenant)")
    who.add_argument("--value", help="the person's identifying value, fingerprinted here")
    add.add_argument("--reason", required=True, help="case reference; no personal data")
    remove = hold_actions.add_parser("remove", help="end a hold")
    remove.add_argument("hold_id")
    hold_actions.add_parser("list", help="holds in force")
    for parser in (retention, erasure, access, subject, hold):
        parser.set_defaults(run=run_retention_command)


def _subject_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--subject", type=fingerprint_argument,
                     help="keyed fingerprint (as printed by subject-access)")
    who.add_argument("--value", help="the person's identifying value (name, e-mail, NIR...); "
                                     "honorifics, case, accents and spacing do not matter")


def fingerprint_argument(value: str) -> str:
    if not FINGERPRINT.fullmatch(value):
        # not repeated back: what was typed may be the person's name
        raise argparse.ArgumentTypeError(
            f"what was given ({len(value)} characters, not repeated here) is not a subject "
            "fingerprint (64 hexadecimal digits, as printed by subject-access or erasure); "
            "to name the person instead, use --value")
    return value


def as_of_argument(value: str) -> float:
    try:
        moment_ = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date and time: use e.g. 2026-12-31 or 2026-12-31T08:00Z "
            "(UTC unless an offset such as +01:00 is given)") from None
    if moment_.tzinfo is None:
        moment_ = moment_.replace(tzinfo=UTC)
    return moment_.timestamp()


def requested_by() -> str:
    """Who asked, for the audit record: the account and host running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def run_retention_command(args: argparse.Namespace, settings: Settings,
                          clock: Clock = time.time) -> int:
    policy = policy_in_force(settings)
    with open_stores(settings, clock) as (keys, vault):
        tenant = getattr(args, "tenant", None)
        problem = unknown_tenant(policy.loaded, keys, tenant) if tenant is not None else None
        if problem is not None:
            print(f"douane {args.command}: {problem}; nothing was done", file=sys.stderr)
            return 2
        if args.command == "retention":
            return run_retention(args, settings, keys, vault, policy)
        if args.command == "erasure":
            return run_erasure(args, settings, keys, vault, policy)
        if args.command == "subject-access":
            return run_subject_access(args, settings, keys, vault, policy)
        if args.command == "subject":
            return run_subject(args, settings, keys, vault, policy)
        return run_hold(args, settings, keys, vault, policy)


def run_retention(args: argparse.Namespace, settings: Settings, keys: KeyStore,
                  vault: PersonalVault, policy: PolicyInForce) -> int:
    if args.retention_command == "run":
        if args.as_of is not None and not args.dry_run:
            print("retention run: --as-of only with --dry-run (a run destroys what has expired "
                  "now); nothing was done", file=sys.stderr)
            return 2
        if args.dry_run:
            print(plan_retention_run(keys, vault, args.as_of or keys.clock()).text())
        else:
            with open_writer(settings) as audit:
                print(retention_run(keys, vault, audit).text())
        print(policy.text())
        return 0
    print(status_text(keys, vault))
    print(policy.text())
    print(policy_text(settings, policy.loaded))
    return 0


def _asked(args: argparse.Namespace, keys: KeyStore, vault: PersonalVault) -> list[str]:
    """The fingerprints of the identifier given (a value may have two: see fingerprint.py)."""
    if args.subject:
        return [args.subject]
    return known_fingerprints(keys, vault, args.tenant, args.value)


def person_lines(person: Person) -> list[str]:
    """The person found, for people: fingerprints, entity types, how each is linked."""
    lines = [f"person: {len(person.members)} identifiers linked ({LINKING_RULE})"]
    for member in person.members:
        how = {"asked": "asked",
               SUGGESTED: f"suggested: named with {str(member.via)[:12]} in "
                          f"{_requests(member.requests)}",
               CONFIRMED: f"confirmed by a DPO (case {member.case}) with {str(member.via)[:12]}",
               }[member.how]
        lines.append(f"  {member.subject}  {','.join(member.kinds) or '-':<14} {how}")
    if person.seen_with:
        kinds = sorted({k for m in person.seen_with for k in m.kinds})
        lines.append(f"  not linked: {len(person.seen_with)} identifiers named beside the person "
                     f"in requests about several people ({', '.join(kinds)}); not acted on - "
                     "if one is this person's: douane subject confirm")
    if person.split:
        lines.append(f"  split by a DPO: {len(person.split)} identifiers (not acted on)")
    if not person.complete:
        lines.append("  INCOMPLETE: more identifiers are linked than douane follows: a shared "
                     "identifier (a mailbox, a switchboard) joins several people; split its links")
    if person.ambiguous:
        lines.append("  AMBIGUOUS: suggested links join names no DPO has confirmed as one "
                     "person's; decide each of these links (confirm or split):")
        lines += [f"    douane subject split --tenant TENANT --subject {link.first} "
                  f"--subject {link.second} --case CASE   (named together in "
                  f"{_requests(link.requests)})" for link in person.unresolved_links]
    return lines


def _requests(request_ids: tuple[str, ...]) -> str:
    shown = ", ".join(request_ids[:3])
    return f"requests {shown}" + (f" and {len(request_ids) - 3} more" if len(request_ids) > 3
                                  else "")


def run_erasure(args: argparse.Namespace, settings: Settings, keys: KeyStore,
                vault: PersonalVault, policy: PolicyInForce) -> int:
    plan = plan_erasure(keys, vault, args.tenant, _asked(args, keys, vault))
    print(policy.text())
    print("\n".join(person_lines(plan.person)))
    reach = beyond_reach(policy.loaded, args.tenant, settings.topic_layout, plan.last_stored_at)
    if args.dry_run:
        refusal = {"hold": "refused: the person is under hold "
                           + ", ".join(f"{h.hold_id} ({h.reason})" for h in plan.holds),
                   "ambiguous-person": "refused: the person is ambiguous (see above)",
                   None: "would proceed"}[plan.refused_by]
        print(f"erasure request --dry-run: {len(plan.keys)} data keys would be destroyed, "
              f"{plan.vault_entries} vault entries pruned; {refusal} (nothing was changed or "
              "recorded)")
        print("\n".join(["douane cannot erase:", *(f"  - {line}" for line in reach)]))
        return 0
    try:
        with open_writer(settings) as audit:
            erased = erase_person(keys, vault, audit, plan, args.reason, case=args.case,
                                  requested_by=requested_by(), policy=policy.reference)
    except SubjectHeldError as exc:
        print(f"erasure request: refused - {exc.diagnostics()}; remove the hold first")
        return 1
    except ErasureRefusedError as exc:
        print(f"erasure request: refused - {exc.diagnostics()}")
        return 1
    print(erased.text())
    print("\n".join(["douane cannot erase:", *(f"  - {line}" for line in reach)]))
    return 0


def run_subject_access(args: argparse.Namespace, settings: Settings, keys: KeyStore,
                       vault: PersonalVault, policy: PolicyInForce) -> int:
    asked = _asked(args, keys, vault)
    last = max((e.stored_at for e in vault.entries_of(args.tenant, asked)), default=None)
    extra = {"policy": policy.summary(),
             "cannot_erase": beyond_reach(policy.loaded, args.tenant, settings.topic_layout,
                                          last)}
    if audit_log_exists(settings):
        with open_audit_reader(settings) as reader:
            found = subject_access(vault, reader, args.tenant, asked, holds=keys.holds(),
                                   extra=extra)
    else:
        found = subject_access(vault, None, args.tenant, asked, holds=keys.holds(), extra=extra)
    print(json.dumps(found, indent=2, ensure_ascii=False))
    return 0


def run_subject(args: argparse.Namespace, settings: Settings, keys: KeyStore,
                vault: PersonalVault, policy: PolicyInForce) -> int:
    print(policy.text())
    if args.subject_command == "show":
        print("\n".join(person_lines(find_person(vault, args.tenant, _asked(args, keys, vault)))))
        return 0
    given = list(args.subject) + [keys.fingerprint(args.tenant, v) for v in args.value]
    if len(given) != 2 or given[0] == given[1]:
        print(f"subject {args.subject_command}: give two different identifiers (--subject or "
              f"--value, twice in all); got {len(set(given))}; nothing was done",
              file=sys.stderr)
        return 2
    known = {e.subject for e in vault.entries_of(args.tenant, given)}
    missing = [i + 1 for i, s in enumerate(given) if s not in known]
    if missing:
        print(f"subject {args.subject_command}: douane keeps no value for identifier "
              f"{' and '.join(map(str, missing))} of the two given (not repeated here); check "
              "the spelling or the tenant; nothing was done", file=sys.stderr)
        return 1
    same = args.subject_command == "confirm"
    with open_writer(settings) as audit:
        record_id = decide_link(keys, vault, audit, args.tenant, given[0], given[1],
                                same_person=same, case=args.case, requested_by=requested_by())
    print(f"subject {args.subject_command}: {given[0][:12]} and {given[1][:12]} "
          + ("are one person's" if same else "are no longer linked (a later request naming "
                                            "both does not link them again)")
          + f"; audit record {record_id}")
    print("\n".join(person_lines(find_person(vault, args.tenant, [given[0]]))))
    return 0


def run_hold(args: argparse.Namespace, settings: Settings, keys: KeyStore,
             vault: PersonalVault, policy: PolicyInForce) -> int:
    print(policy.text())
    if args.hold_command == "add":
        if args.subject is None and args.value is None:
            subjects: list[str | None] = [None]
        else:
            # a value stored before the normal form changed may have two fingerprints
            subjects = [*_asked(args, keys, vault)]
        with open_writer(settings) as audit:
            for subject in subjects:
                hold = place_hold(keys, audit, args.tenant, subject, args.reason)
                print(f"hold {hold.hold_id} placed on tenant {args.tenant}"
                      + (f", subject {subject}" if subject else ", every subject"))
        if subjects != [None]:
            person = find_person(vault, args.tenant, [s for s in subjects if s])
            print(f"it protects the whole person, as linked now and later ({len(person.members)} "
                  "identifiers now); retention runs keep their keys and erasure is refused")
            print("\n".join(person_lines(person)))
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
