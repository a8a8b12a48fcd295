"""One SQLite transaction, and one durable commit, for the writes of many threads at once.

The vault and the key store each share one connection between the worker's store threads, and
each commit of theirs waits for the disk (``synchronous=FULL``: an ``fsync``). With many
requests in flight, threads queued on the connection's lock to commit one write each. Here, as
in the audit log's group commit (:mod:`streams.adapters.audit.group_commit`), the writes that
arrive while a commit is under way wait for it and then go together: the first of them leads
the next group, runs every write of the group in one transaction and commits once.

Each write runs inside its own savepoint: one that fails (an error of its own: a constraint, a
missing key-encryption key) is rolled back alone and its caller gets its error, while the others
of the group are committed. A failure of the transaction itself (``BEGIN``, ``COMMIT``, the
disk) fails every write of the group, as it would have failed each alone. Durability is
unchanged: a caller returns only once the commit holding its write has returned.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
MAX_GROUP = 256  # writes committed in one transaction at most


class _Write(Generic[T]):
    """One caller's write, waiting for a group commit."""

    __slots__ = ("bell", "done", "error", "result", "work")

    def __init__(self, work: Callable[[sqlite3.Connection], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        # released once, when the write is done or its caller is to lead the next group: a
        # bare lock is the cheapest wake-up there is
        self.bell = threading.Lock()
        self.bell.acquire()


class GroupedWrites:
    """Writes of many threads to one connection, committed together (see the module).

    ``lock`` is the connection's lock, also taken by the store's own transactions (erasure,
    retention, ...): a group's transaction holds it from ``BEGIN`` to ``COMMIT``."""

    def __init__(self, db: sqlite3.Connection, lock: AbstractContextManager[object],
                 max_group: int = MAX_GROUP) -> None:
        self._db = db
        self._lock = lock
        self._max_group = max_group
        self._mutex = threading.Lock()  # guards the two fields below
        self._queue: list[_Write[Any]] = []  # writes not yet taken into a group
        self._busy = False  # a group is being committed, or its leader chosen
        self.commits = 0  # transactions committed so far (groups)

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` inside a write transaction, shared with the writes of other
        threads; its result once the transaction is durably committed, or its error."""
        mine: _Write[T] = _Write(work)
        with self._mutex:
            self._queue.append(mine)
            leading = not self._busy
            self._busy = True
        if not leading:
            mine.bell.acquire()  # done by a leader, or chosen to lead the next group
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            raise mine.error
        return cast(T, mine.result)

    def waiting(self) -> int:
        """How many writes wait for a group to take them."""
        with self._mutex:
            return len(self._queue)

    def _lead(self, mine: _Write[T]) -> None:
        with self._mutex:
            group = self._queue[:self._max_group]
            self._queue = self._queue[self._max_group:]
        try:
            self._commit(group)
        except BaseException as failure:  # the transaction failed: so did every write in it
            for write in group:
                write.result, write.error = None, failure
        finally:
            for write in group:
                write.done = True
            with self._mutex:  # hand the lead to the first write that arrived meanwhile
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._busy = False
            for write in group:
                if write is not mine:
                    write.bell.release()
            if following is not None:
                following.bell.release()

    def _commit(self, group: list[_Write[Any]]) -> None:
        db = self._db
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                for write in group:
                    db.execute("SAVEPOINT grouped_write")
                    try:
                        write.result = write.work(db)
                    except Exception as error:  # this write only; the others go on
                        db.execute("ROLLBACK TO grouped_write")
                        write.error = error
                    db.execute("RELEASE grouped_write")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self.commits += 1
