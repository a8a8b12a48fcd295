"""``douane console``: the web console for DPOs, auditors and security teams.

console [--host H] [--port N]           serve it (loopback by default)
console users add NAME --role ROLE      a local account; the password is asked twice on a
                                        terminal, or read from --password-file (``-``: stdin)
console users list | remove NAME        the accounts (names, roles, locks; never a hash)

A password is never an argument: arguments are visible to every local account (``ps``) and
kept in shell histories.
"""

from __future__ import annotations

import argparse
import getpass
import ssl
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from streams.cli import Commands
from streams.config import Settings

if TYPE_CHECKING:
    from streams.console.accounts import AccountStore

DEFAULT_PORT = 8090


def register(commands: Commands) -> None:
    console = commands.add_parser("console", help="the web console for DPOs and auditors")
    console.set_defaults(run=run_console)
    console.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default: loopback only)")
    console.add_argument("--port", type=int, default=DEFAULT_PORT)
    console.add_argument("--certificate", type=Path,
                         help="TLS certificate (PEM) to serve HTTPS, with --private-key")
    console.add_argument("--private-key", type=Path, help="its private key (PEM)")
    actions = console.add_subparsers(dest="console_command", metavar="ACTION")
    users = actions.add_parser("users", help="the console's local accounts")
    user_actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = user_actions.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("dpo", "auditor", "security"),
                     help="auditor: reads and verifies; dpo: also subject access, erasure, "
                          "holds, exports; security: decisions and policies, nothing "
                          "person-level")
    add.add_argument("--password-file", type=Path,
                     help="read the password from this file's first line ('-': standard "
                          "input) instead of asking for it")
    user_actions.add_parser("list", help="list the accounts")
    remove = user_actions.add_parser("remove", help="remove an account (its sessions end)")
    remove.add_argument("name")


def run_console(args: argparse.Namespace, settings: Settings) -> int:
    from streams.console.accounts import AccountStore, accounts_path

    accounts = AccountStore(accounts_path(settings.home))
    try:
        if args.console_command == "users":
            code = run_users(args, accounts)
            if code == 0 and args.users_command in ("add", "remove"):
                record_account_change(settings, args)
            return code
        return serve(args, settings, accounts)
    finally:
        accounts.close()


def record_account_change(settings: Settings, args: argparse.Namespace) -> None:
    """Who may read the evidence is evidence too: a ``console_access`` record of the change,
    naming the operator's account and host."""
    import functools

    from streams.cli.retention import requested_by
    from streams.core import audit_events
    from streams.services.audit_log import append_record, open_writer

    with open_writer(settings) as audit:
        record_id = append_record(audit, functools.partial(
            audit_events.console_access, requested_by(), "operator",
            f"account-{'added' if args.users_command == 'add' else 'removed'}", None,
            {"account": args.name, **({"role": args.role} if args.users_command == "add"
                                      else {})}))
    print(f"audit record {record_id}")


def read_password(path: Path | None) -> str:
    if path is not None:
        text = sys.stdin.readline() if str(path) == "-" else path.read_text("utf-8")
        return text.splitlines()[0] if text.strip() else ""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("console users add: the two passwords differ; nothing was added", file=sys.stderr)
        return ""
    return first


def run_users(args: argparse.Namespace, accounts: AccountStore) -> int:
    from streams.console.accounts import AccountError

    if args.users_command == "add":
        password = read_password(args.password_file)
        if not password:
            print("console users add: no password given; nothing was added", file=sys.stderr)
            return 2
        try:
            account = accounts.add(args.name, args.role, password)
        except AccountError as problem:
            print(f"console users add: {problem.diagnostics()}", file=sys.stderr)
            return 2
        print(f"console users add: account {account.name} ({account.role}) added")
        return 0
    if args.users_command == "remove":
        if not accounts.remove(args.name):
            print(f"console users remove: no account {args.name!r}", file=sys.stderr)
            return 1
        print(f"console users remove: account {args.name} removed (its sessions ended)")
        return 0
    found = accounts.accounts()
    if not found:
        print("no account yet: douane console users add NAME --role dpo|auditor|security")
    now = time.time()
    for account in found:
        created = datetime.fromtimestamp(account.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        locked = (" LOCKED until " + datetime.fromtimestamp(account.locked_until, UTC)
                  .strftime("%H:%M UTC") if account.locked_until > now else "")
        print(f"{account.name:<24} {account.role:<9} added {created}{locked}")
    return 0


def serve(args: argparse.Namespace, settings: Settings, accounts: AccountStore) -> int:
    from streams.console.app import is_loopback
    from streams.console.server import run_server
    from streams.runtime.event_loop import run

    tls = None
    if args.certificate or args.private_key:
        if not (args.certificate and args.private_key):
            print("console: --certificate and --private-key go together", file=sys.stderr)
            return 2
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.certificate, args.private_key)
    if not is_loopback(args.host) and tls is None:
        print("console: listening beyond loopback needs HTTPS (--certificate, --private-key):"
              " session cookies are marked Secure there", file=sys.stderr)
        return 2
    if not accounts.accounts():
        print("console: no account yet; add one with: douane console users add NAME "
              "--role dpo", file=sys.stderr)
    return run(run_server(settings, accounts, args.host, args.port, tls), settings.event_loop)
