"""``douane front-door`` and ``douane keys add|list`` (the front door's API keys)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from streams.cli import Commands
from streams.config import Settings
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
    keys_commands.add_parser("list", help="list key ids and tenants (never the keys)")
    keys.set_defaults(run=run_keys)


def run_front_door(args: argparse.Namespace, settings: Settings) -> int:
    from streams.front_door.server import serve

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, args.port, args.host, args.timeout))
    return 0


def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    store = KeyStore(keys_path(settings.home))
    if args.keys_command == "add":
        from streams.worker import load_policy

        tenants = load_policy(settings.policy_path).policy.tenant_ids
        if args.tenant not in tenants:
            print(f"douane keys add: unknown tenant '{args.tenant}' "
                  f"(the policy declares: {', '.join(sorted(tenants))})")
            return 2
        key, entry = store.add(args.tenant, args.label)
        print(key)
        print(f"key id {entry.key_id} for tenant {entry.tenant} stored hashed in {store.path}; "
              f"this is the only time the key is shown")
        return 0
    for entry in store.entries:
        print(f"{entry.key_id}  {entry.tenant:24}  {entry.created_at}  {entry.label}")
    return 0
