"""API keys for the front door: each maps to one tenant; only their SHA-256 is stored.

Keys are 256-bit random strings, so a plain SHA-256 cannot be reversed or guessed (a slow
password hash is for low-entropy secrets). The file holds no secret: leaking it does not let
anyone in. ``douane keys add --tenant T`` prints a new key once; it cannot be shown again.

A key may expire (``--expires-in 90d``) and be revoked (``douane keys revoke KEY_ID``). A
running front door sees both at once: it re-reads the file whenever it changed (one ``stat``
per request), and checks expiry against the clock on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.adapters.private_files import make_private_folder
from streams.errors import DouaneError

KEY_PREFIX = "dk-"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class KeyFileError(DouaneError, ValueError):
    """The key file cannot be read as douane's key list; names the file and what is wrong."""


@dataclass(frozen=True)
class KeyEntry:
    key_id: str      # first 8 hex of the digest: safe to show in logs and lists
    sha256: str
    tenant: str
    label: str
    created_at: str
    expires_at: str | None = None  # UTC, TIME_FORMAT; None: never
    revoked_at: str | None = None

    def state(self, now: datetime) -> str:
        """'valid', 'revoked' or 'expired' at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= _parse_time(self.expires_at):
            return "expired"
        return "valid"


@dataclass(frozen=True)
class Caller:
    """Who an accepted key belongs to."""

    key_id: str
    tenant: str


@dataclass(frozen=True)
class KeyRefusal:
    """Why a key offered was not accepted: 'unknown', 'revoked' or 'expired'."""

    reason: str
    key_id: str | None = None  # known keys only


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_path(home: Path, configured: Path | None = None) -> Path:
    """The API key file: ``configured`` (DOUANE_FRONT_DOOR_KEYS), else in the data folder."""
    return configured if configured is not None else home / "front-door-keys.json"


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


class KeyStore:
    def __init__(self, path: Path,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self.clock = clock
        self.entries: list[KeyEntry] = []
        self._seen: tuple[int, int, int] | None = None  # the file version entries come from
        self.refresh()

    def refresh(self) -> bool:
        """Re-read the file if it changed since it was last read; True if it was re-read.
        Writers replace the file whole (``_save``), so a reader never sees half of one."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            changed = self._seen is not None
            self.entries, self._seen = [], None
            return changed
        version = (status.st_ino, status.st_mtime_ns, status.st_size)
        if version == self._seen:
            return False
        try:
            data = json.loads(self.path.read_text("utf-8"))
            self.entries = [KeyEntry(**entry) for entry in data.get("keys", [])]
        except (ValueError, TypeError, AttributeError) as error:
            raise KeyFileError(f"{self.path}: not a douane key file "
                               f"({type(error).__name__}); fix or restore it") from None
        self._seen = version
        return True

    def add(self, tenant: str, label: str = "",
            expires_in: timedelta | None = None) -> tuple[str, KeyEntry]:
        self.refresh()
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        hashed = digest(key)
        now = self.clock()
        entry = KeyEntry(hashed[:8], hashed, tenant, label, _format_time(now),
                         _format_time(now + expires_in) if expires_in is not None else None)
        self.entries.append(entry)
        self._save()
        return key, entry

    def revoke(self, key_id: str) -> list[KeyEntry]:
        """Revoke every key whose id is ``key_id``; returns them (empty: no such key)."""
        self.refresh()
        now = _format_time(self.clock())
        revoked = [KeyEntry(**{**asdict(e), "revoked_at": e.revoked_at or now})
                   for e in self.entries if e.key_id == key_id]
        if revoked:
            self.entries = [next((r for r in revoked if r.sha256 == e.sha256), e)
                            for e in self.entries]
            self._save()
        return revoked

    def caller(self, key: str) -> Caller | KeyRefusal:
        """Who ``key`` belongs to, if it is valid now (the file re-read if it changed)."""
        self.refresh()
        offered = digest(key)
        for entry in self.entries:
            if hmac.compare_digest(entry.sha256, offered):
                state = entry.state(self.clock())
                if state != "valid":
                    return KeyRefusal(state, entry.key_id)
                return Caller(entry.key_id, entry.tenant)
        return KeyRefusal("unknown")

    def tenant_for(self, key: str) -> str | None:
        found = self.caller(key)
        return found.tenant if isinstance(found, Caller) else None

    def _save(self) -> None:
        make_private_folder(self.path.parent)
        body = {"keys": [asdict(entry) for entry in self.entries]}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(body, indent=2) + "\n", "utf-8")
        temporary.chmod(0o600)
        temporary.replace(self.path)
        status = self.path.stat()
        self._seen = (status.st_ino, status.st_mtime_ns, status.st_size)
