"""``douane front-door`` and ``douane keys add|list|revoke`` (the front door's API keys)."""

from __future__ import annotations

import argparse
import contextlib
from datetime import timedelta

from streams.cli import Commands
from streams.config import Settings
from streams.core.durations import parse_duration
from streams.front_door.keys import KeyStore, keys_path


def register(commands: Commands) -> None:
    front = commands.add_parser("front-door", help="run the OpenAI-compatible HTTP endpoint")
    front.add_argument("--port", type=int, default=8080)
    front.add_argument("--host", default="127.0.0.1")
    front.add_argument("--timeout", type=float, default=None,
                       help="seconds to wait for an answer before 504 "
                            "(default DOUANE_FRONT_DOOR_TIMEOUT_S or 60)")
    front.set_defaults(run=run_front_door)

    keys = commands.add_parser("keys", help="API keys of the front door (stored hashed)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add_key = keys_commands.add_parser("add", help="create a key for a tenant; shown once")
    add_key.add_argument("--tenant", required=True)
    add_key.add_argument("--label", default="")
    add_key.add_argument("--expires-in", metavar="DURATION",
                         help="the key stops working after this long (e.g. 90d, 12h, 1y); "
                              "default: never")
    keys_commands.add_parser("list", help="list key ids and tenants (never the keys)")
    revoke = keys_commands.add_parser(
        "revoke", help="revoke a key by its id; a running front door refuses it at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="as 'douane keys list' shows it")
    keys.set_defaults(run=run_keys)


def run_front_door(args: argparse.Namespace, settings: Settings) -> int:
    from streams.front_door.server import serve
    from streams.runtime.event_loop import run

    with contextlib.suppress(KeyboardInterrupt):
        run(serve(settings, args.port, args.host, args.timeout), settings.event_loop)
    return 0


def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    store = KeyStore(keys_path(settings.home, settings.front_door_keys))
    if args.keys_command == "add":
        from streams.worker import load_policy

        tenants = load_policy(settings.policy_path).policy.tenant_ids
        if args.tenant not in tenants:
            print(f"douane keys add: unknown tenant '{args.tenant}' "
                  f"(the policy declares: {', '.join(sorted(tenants))})")
            return 2
        expires_in = None
        if args.expires_in is not None:
            try:
                expires_in = timedelta(seconds=parse_duration(args.expires_in))
            except ValueError as error:
                print(f"douane keys add: --expires-in: {error}")
                return 2
        key, entry = store.add(args.tenant, args.label, expires_in)
        print(key)
        print(f"key id {entry.key_id} for tenant {entry.tenant} stored hashed in {store.path}; "
              f"this is the only time the key is shown"
              + (f"; it expires at {entry.expires_at}" if entry.expires_at else ""))
        return 0
    if args.keys_command == "revoke":
        revoked = store.revoke(args.key_id)
        if not revoked:
            print(f"douane keys revoke: no key with id '{args.key_id}' in {store.path} "
                  "('douane keys list' shows them)")
            return 2
        for entry in revoked:
            print(f"key {entry.key_id} of tenant {entry.tenant} revoked at {entry.revoked_at}; "
                  "running front doors refuse it from their next request")
        return 0
    now = store.clock()
    for entry in store.entries:
        state = entry.state(now)
        until = f"until {entry.expires_at}" if entry.expires_at and state == "valid" else ""
        print(f"{entry.key_id}  {entry.tenant:24}  {entry.created_at}  {state:8} {until:26}"
              f"  {entry.label}".rstrip())
    return 0
