"""Opening douane's own SQLite files the one way they are all opened.

Every store douane keeps in SQLite (audit log, key store, vaults) runs in WAL mode with a busy
timeout, so that several processes and threads can take turns. Switching a fresh file to WAL
needs an exclusive lock, and SQLite does not call the busy handler for that switch: two processes
opening the same new file at once could fail with "database is locked" even with a generous busy
timeout. ``open_wal_database`` retries the switch until the timeout instead.

Every store is readable by douane's own account only: the file is created 0600 in a 0700 folder
before SQLite opens it, and SQLite gives its ``-wal`` and ``-shm`` files the database file's
mode, so they are 0600 too whatever the umask (a store left 0644 by an older version is
tightened when opened).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from streams.adapters.private_files import create_private_file, tighten_to_private
from streams.errors import DouaneError

_RETRY_PAUSE_S = 0.02


class SqliteOpenError(DouaneError, RuntimeError):
    """The file could not be opened in WAL mode within the busy timeout."""


def open_wal_database(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with durable commits (``synchronous=FULL``),
    autocommit (``isolation_level=None``) and usable from several threads (callers serialise
    their own transactions)."""
    create_private_file(path)
    for own in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten_to_private(own)
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
