"""``douane front-door``, ``douane keys add|list`` and ``douane stand-in``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from streams.config import Settings
from streams.front_door.keys import KeyStore, keys_path


def run_front_door_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "front-door":
        from streams.front_door.server import serve

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings, args.port, args.host, args.timeout))
        return 0
    if args.command == "stand-in":
        from streams.devtools.stand_ins.server import serve as serve_stand_in

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_stand_in(args.kind, args.port, tuple(args.model), args.api_key))
        return 0
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
