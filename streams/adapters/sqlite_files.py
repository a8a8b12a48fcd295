"""Opening douane's own SQLite files the one way they are all opened.

Every store douane keeps in SQLite (audit log, key store, vaults) runs in WAL mode with a busy
timeout, so that several processes and threads can take turns. Switching a fresh file to WAL
needs an exclusive lock, and SQLite does not call the busy handler for that switch: two processes
opening the same new file at once could fail with "database is locked" even with a generous busy
timeout. ``open_wal_database`` retries the switch until the timeout instead.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from streams.errors import DouaneError

_RETRY_PAUSE_S = 0.02


class SqliteOpenError(DouaneError, RuntimeError):
    """The file could not be opened in WAL mode within the busy timeout."""


def open_wal_database(path: Path, busy_timeout_s: float, *,
                      private: bool = True) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with durable commits (``synchronous=FULL``),
    autocommit (``isolation_level=None``) and usable from several threads (callers serialise
    their own transactions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if private and not path.exists():  # created readable by douane only
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _switch_to_wal(conn, path, busy_timeout_s)
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection, path: Path, busy_timeout_s: float) -> None:
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise SqliteOpenError(
                    f"{path}: still locked by another process after {busy_timeout_s:g} s "
                    f"while switching to WAL mode") from exc
            time.sleep(_RETRY_PAUSE_S)
            continue
        if mode != "wal":
            raise SqliteOpenError(f"{path}: SQLite refused WAL mode (got {mode})")
        return
