"""API keys for the front door: each maps to one tenant; only their SHA-256 is stored.

Keys are 256-bit random strings, so a plain SHA-256 cannot be reversed or guessed (a slow
password hash is for low-entropy secrets). The file holds no secret: leaking it does not let
anyone in. ``douane keys add --tenant T`` prints a new key once; it cannot be shown again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from streams.adapters.private_files import make_private_folder

KEY_PREFIX = "dk-"


@dataclass(frozen=True)
class KeyEntry:
    key_id: str      # first 8 hex of the digest: safe to show in logs and lists
    sha256: str
    tenant: str
    label: str
    created_at: str


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_path(home: Path) -> Path:
    return Path(os.environ.get("DOUANE_FRONT_DOOR_KEYS", str(home / "front-door-keys.json")))


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[KeyEntry] = []
        if path.exists():
            data = json.loads(path.read_text("utf-8"))
            self.entries = [KeyEntry(**entry) for entry in data.get("keys", [])]

    def add(self, tenant: str, label: str = "") -> tuple[str, KeyEntry]:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        hashed = digest(key)
        entry = KeyEntry(hashed[:8], hashed, tenant, label,
                         datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.entries.append(entry)
        self._save()
        return key, entry

    def tenant_for(self, key: str) -> str | None:
        offered = digest(key)
        for entry in self.entries:
            if hmac.compare_digest(entry.sha256, offered):
                return entry.tenant
        return None

    def _save(self) -> None:
        make_private_folder(self.path.parent)
        body = {"keys": [entry.__dict__ for entry in self.entries]}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(body, indent=2) + "\n", "utf-8")
        temporary.chmod(0o600)
        temporary.replace(self.path)
