"""The console's local accounts and their sessions, in one SQLite file under ``DOUANE_HOME``.

Passwords are hashed with Argon2id (``argon2-cffi``, its RFC 9106 low-memory profile); only
the hash is kept. After :data:`MAX_FAILURES` wrong passwords in a row an account is locked for
:data:`LOCK_S` seconds, even for the right password, so a guesser gets five tries a quarter
of an hour. A session is a random 256-bit token in a cookie; the file keeps only its SHA-256
(a copy of the file lets nobody in), with the account, the session's CSRF token and when it
ends. The clock is passed in, so tests move time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from streams.adapters.sqlite_files import open_wal_database
from streams.errors import DouaneError

Clock = Callable[[], float]

DPO, AUDITOR, SECURITY = "dpo", "auditor", "security"
ROLES = (DPO, AUDITOR, SECURITY)
# what each role may do: auditors read and verify; a DPO also runs the person-level
# workflows and exports; security teams see decisions and policies, nothing person-level
READ, VERIFY, EVIDENCE, EXPORT, PEOPLE = "read", "verify", "evidence", "export", "people"
PERMISSIONS: dict[str, frozenset[str]] = {
    AUDITOR: frozenset({READ, VERIFY, EVIDENCE}),
    DPO: frozenset({READ, VERIFY, EVIDENCE, EXPORT, PEOPLE}),
    SECURITY: frozenset({READ}),
}
MAX_FAILURES = 5
LOCK_S = 15 * 60
SESSION_S = 8 * 3600  # a working day; signing in again after that
MIN_PASSWORD_CHARS = 12
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


class AccountError(DouaneError, ValueError):
    """An account cannot be added or changed as asked (names the account, never a password)."""


def accounts_path(home: Path) -> Path:
    return home / "console.sqlite3"


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    created_at: float
    failures: int = 0
    locked_until: float = 0.0

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    expires_at: float


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session token, or why not (``locked_until`` when locked)."""

    token: str | None
    session: Session | None
    locked_until: float | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class AccountStore:
    def __init__(self, path: Path, clock: Clock = time.time,
                 hasher: PasswordHasher | None = None) -> None:
        self.path, self.clock = path, clock
        self.hasher = hasher or PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
        self._conn = open_wal_database(path, 10.0)
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._decoy: str | None = None

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------------ accounts

    def add(self, name: str, role: str, password: str) -> Account:
        if not ACCOUNT_NAME.fullmatch(name):
            raise AccountError(f"account name {name!r}: use 1 to 64 lower-case letters, digits, "
                               "'.', '_' or '-', starting with a letter or digit")
        if role not in ROLES:
            raise AccountError(f"role {role!r} for account {name!r}: one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"the password for account {name!r} has {len(password)} "
                               f"characters: at least {MIN_PASSWORD_CHARS} are needed")
        now = self.clock()
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO accounts(name, role, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?)", (name, role, self.hasher.hash(password), now))
            except sqlite3.IntegrityError:
                raise AccountError(f"account {name!r} exists already (remove it first to "
                                   "change its role or password)") from None
        return Account(name, role, now)

    def remove(self, name: str) -> bool:
        with self._lock:
            removed = self._conn.execute("DELETE FROM accounts WHERE name = ?", (name,))
        return removed.rowcount > 0

    def accounts(self) -> list[Account]:
        rows = self._conn.execute(
            "SELECT name, role, created_at, failures, locked_until FROM accounts ORDER BY name")
        return [Account(*row) for row in rows]

    def get(self, name: str) -> Account | None:
        row = self._conn.execute(
            "SELECT name, role, created_at, failures, locked_until FROM accounts "
            "WHERE name = ?", (name,)).fetchone()
        return None if row is None else Account(*row)

    # ------------------------------------------------------------------ sessions

    def sign_in(self, name: str, password: str) -> SignIn:
        """A new session for the right password of an unlocked account; a failure counts
        towards the lock (the answer never says whether the name exists)."""
        now = self.clock()
        row = self._conn.execute("SELECT password_hash FROM accounts WHERE name = ?",
                                 (name,)).fetchone()
        account = self.get(name)
        if row is None or account is None:
            # checked against a hash all the same, so that a wrong name takes as long as a
            # wrong password and names cannot be told apart by timing
            if self._decoy is None:
                self._decoy = self.hasher.hash(secrets.token_hex(16))
            self._verify(self._decoy, password)
            return SignIn(None, None)
        if account.locked_until > now:
            return SignIn(None, None, account.locked_until)
        if not self._verify(row[0], password):
            failures = account.failures + 1
            locked_until = now + LOCK_S if failures >= MAX_FAILURES else 0.0
            with self._lock:
                self._conn.execute(
                    "UPDATE accounts SET failures = ?, locked_until = ? WHERE name = ?",
                    (0 if locked_until else failures, locked_until, name))
            return SignIn(None, None, locked_until or None)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute("UPDATE accounts SET failures = 0, locked_until = 0 "
                               "WHERE name = ?", (name,))
            self._conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            self._conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                               (_digest(token), name, csrf, now + SESSION_S))
        return SignIn(token, Session(Account(name, account.role, account.created_at), csrf,
                                     now + SESSION_S))

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie's token; None when unknown, expired or its account
        was removed."""
        if not token or len(token) > 128 or not token.isascii():
            return None
        row = self._conn.execute(
            "SELECT a.name, a.role, a.created_at, s.csrf, s.expires_at FROM sessions s "
            "JOIN accounts a ON a.name = s.name WHERE s.token_sha256 = ?",
            (_digest(token),)).fetchone()
        if row is None or row[4] <= self.clock():
            return None
        return Session(Account(row[0], row[1], row[2]), row[3], row[4])

    def sign_out(self, token: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
