"""The writing half every audit store shares: group commit, signing, checkpoints, key rotation.

Appends are grouped: concurrent callers (threads) queue their events and the first one to get
the write lock commits everybody's in one transaction; each caller returns only after *its*
batch is durable (group commit keeps "durable before forward" and contiguous seqs).

The records are the leaves of an RFC 6962 Merkle tree. The log signs checkpoints of that tree
(C2SP tlog-checkpoint in a signed note) every ``checkpoint_every`` records or
``checkpoint_interval_s`` seconds, and on demand. Public keys with their validity windows live
in a keyring file next to the database (``audit.keyring.json``); key rotation is itself a
signed record.

A process writes with the key of its **role** (``streams.core.keyring``): the worker with the
worker's key, the DPO commands with theirs. Each role has its own active key in the log's
``audit_meta`` (``active_key_id`` for the worker, ``active_key_id/dpo``), claimed by the first
process of that role (which also adds its public key to the keyring), and a process appends
only the record kinds its role may sign.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from streams.adapters.audit import index, report_facts
from streams.adapters.audit.backend import Backend, Values
from streams.adapters.audit.protocols import (
    DEFAULT_ORIGIN,
    AppendResult,
    AuditStoreCorruptError,
    AuditStoreError,
    StoredCheckpoint,
    StoredRecord,
)
from streams.adapters.audit.records import SqlRecords, blob, insert_values, stored_record
from streams.adapters.audit.schema import COLUMNS
from streams.adapters.audit.spend_ledger import (
    add_spend,
    countable_spend,
    ledger_is_complete,
    rebuild_ledger,
)
from streams.adapters.signer import (
    AuditSigner,
    load_keyring,
    raw_public_key,
    save_keyring,
    verifier_for_raw,
)
from streams.core import audit_events, merkle
from streams.core.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditPayloadError,
    PreparedRecord,
    format_timestamp,
    leaf_hash,
    signing_input,
)
from streams.core.checkpoint import Checkpoint, NoteSignature, sign_checkpoint
from streams.core.cosignature import add_signature
from streams.core.keyring import WORKER, KeyEntry, Keyring, role_may_sign

CHECKPOINT_EVERY = 1000
CHECKPOINT_INTERVAL_S = 60.0
MAX_GROUP = 4096  # events committed in one transaction at most
# After a batch signed ahead turned out to follow a record another process wrote, this many
# batches are signed inside their transaction (each would likely be signed twice otherwise).
_UNGUESSED_AFTER_MISS = 16
_MAX_LEAVES = 200_000  # leaf hashes kept for the next checkpoint at most (about 20 MB)
_ID_CHUNK = 500  # record ids per idempotency query (SQLite allows 999 parameters at least)


class _Pending:
    """One caller's event waiting for a group commit, prepared before the lock is taken."""

    __slots__ = ("done", "error", "prepared", "result", "taken", "wake")

    def __init__(self, event: AuditEvent) -> None:
        self.prepared = PreparedRecord(event)
        self.result: AppendResult | None = None
        self.error: BaseException | None = None
        self.taken = False  # in a batch being signed or committed
        self.done = False
        self.wake: _Wakeup | None = None  # on the last event of each append call


class _Wakeup:
    """A waiting appender's bell, rung (under _queue) when it is done or chosen to sign.

    A bare lock, unlocked exactly while ``rung``: much cheaper than threading.Event, which
    matters when every appended record wakes one thread. ``ring`` and ``reset`` run under
    _queue; only the owner calls ``reset`` and ``wait``.
    """

    __slots__ = ("_lock", "rung")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.rung = False

    def ring(self) -> None:
        if not self.rung:
            self.rung = True
            self._lock.release()

    def reset(self) -> None:
        if self.rung:
            self.rung = False
            self._lock.acquire()  # unlocked while rung: does not block

    def wait(self) -> None:
        """Until rung (at once if it was); stays rung until ``reset``."""
        self._lock.acquire()
        self._lock.release()


_Head = tuple[int, str, str]  # (seq, leaf hash hex, key id) of the last record
_Outcome = tuple[_Pending, AppendResult | None, BaseException | None]


@dataclass(frozen=True)
class _Signed:
    """A batch signed before its transaction, valid only if the log's head is ``start``."""

    start: _Head
    end: _Head
    outcomes: list[_Outcome]
    rows: list[Values]
    record_ids: list[str]  # of the records it creates


def now_utc() -> datetime:
    return datetime.now(UTC)


class LogOptions(TypedDict, total=False):
    """What a caller may set on the log beyond its backend, signer and keyring; the named
    constructors of each database (``sqlite.open_sqlite_log``, ``postgres.open_postgres_log``)
    pass them on unchanged."""

    origin: str | None
    checkpoint_every: int
    checkpoint_interval_s: float
    signer_loader: Callable[[], AuditSigner] | None
    clock: Callable[[], datetime]
    role: str
    index_progress: Callable[[int, int], None] | None


class GroupCommitLog(SqlRecords):
    """The audit store, whatever the database: group commit, signing, checkpoints, key rotation,
    and (as ``SqlRecords``, over the same connection and lock) reading.

    It writes through a ``backend.Backend`` (a connection to the tables, and a transaction
    holding the log's write lock, so that one appender at a time computes the next seq and the
    previous hash); everything else is plain SQL both databases speak. There is no subclass
    per database: ``sqlite.open_sqlite_log`` and ``postgres.open_postgres_log`` open a backend
    and hand it over. The log closes the backend when it is closed; whoever opened the backend
    closes it if the log cannot start.
    """

    def __init__(
        self,
        backend: Backend,
        signer: AuditSigner,
        *,
        keyring_path: Path,
        origin: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        signer_loader: Callable[[], AuditSigner] | None = None,
        clock: Callable[[], datetime] = now_utc,
        role: str = WORKER,
        index_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(backend)
        self._backend = backend
        self.role = role
        self._signer = signer
        self._signer_loader = signer_loader
        self._clock = clock
        self.keyring_path = keyring_path
        # under the log's write lock: two processes of different roles opening a new log at
        # once must both end up in the keyring (the file is read, extended and written back)
        def valid_from() -> str:
            # A key new to an existing log (the DPO tools' first key) is valid from the log's
            # last record, not from now: its first act may be to sign a checkpoint of records
            # written before it existed, and a checkpoint's key must be valid at its last record.
            now = format_timestamp(clock())
            size = self.size()
            latest = self.get_seq(size) if size else None
            return min(now, str(latest.payload["occurred_at"])) if latest else now

        with self._write_transaction():
            self.keyring = _open_keyring(self.keyring_path, signer, origin, role, valid_from)
        self.origin = self.keyring.origin
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self._commit_lock = threading.Lock()  # one group committer at a time
        self._pending: list[_Pending] = []  # queued by appenders, taken by the leader
        # Appending is a two-stage pipeline: one appender at a time signs the next batch
        # (outside the database's write lock, on the chain head the batch before it will
        # leave), then batches commit in the order they were signed; so signing one batch
        # overlaps the disk write of the one before. The commit checks the guess (see
        # _commit). _queue guards the fields below.
        self._queue = threading.Condition(threading.Lock())
        self._signing = False  # an appender is signing a batch right now (or is chosen to)
        self._elected: _Pending | None = None  # the last event of the appender chosen to sign
        self._head: _Head | None = None  # the chain head after the last signed batch
        self._tickets = 0  # batches signed so far, in order
        self._committed = 0  # batches committed (or failed) so far: the next one's ticket
        self._last_end: _Head | None = None  # the real head after the last committed batch
        self._unguessed = 0  # batches still to sign inside their transaction after a miss
        self._known_size = 0  # the highest seq this process has committed or seen
        self._checkpointing = threading.Lock()
        self._tree = merkle.CompactRange()
        # leaf hashes of records this process committed since the tree was last extended,
        # by seq, so a checkpoint need not read and hash them again
        self._leaves: dict[int, bytes] = {}
        self._last_checkpoint = (0, time.monotonic())  # (size, when)
        self._claim_active_key()
        self._ensure_spend_ledger()
        latest = self.latest_checkpoint()
        if latest is not None:
            self._last_checkpoint = (latest.size, time.monotonic())
        self.catch_up_index(index_progress or index.ProgressLog())
        self.catch_up_report_facts(index_progress or index.ProgressLog(
            what="report facts filling (douane report reads them; once per older log)"))

    def catch_up_report_facts(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Store the report's facts of the records that lack them (an older log, or records a
        process of an older version appended), as :meth:`catch_up_index` does. Returns how
        many were added."""
        done = 0
        while True:
            with self._write_transaction():
                start = report_facts.facts_up_to(self._backend)
                batch = index.payloads_after(self._backend, start, report_facts.CATCH_UP_BATCH)
                added = report_facts.add(self._backend, batch)
            if not batch or not added:
                return done
            done += len(batch)
            if progress is not None:
                progress(batch[-1][0], self.size())

    def catch_up_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index the records the search index lacks (an older log, or records a process of an
        older version appended), ``index.CATCH_UP_BATCH`` per transaction so appenders of
        other processes go on meanwhile; ``progress(indexed, records)`` after each. Returns
        how many were indexed."""
        done = 0
        while True:
            with self._write_transaction():
                start = index.indexed_up_to(self._backend)
                batch = index.payloads_after(self._backend, start, index.CATCH_UP_BATCH)
                # a record missing after ``start`` (deleted behind douane's back): the index
                # stops there, searches read the records, and verification names the gap
                indexed = index.add(self._backend, batch)
            if not batch or not indexed:
                return done
            done += len(batch)
            if progress is not None:
                progress(batch[-1][0], self.size())

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Empty the search index and the report's facts and fill them again from the signed
        records. Returns how many records were indexed."""
        with self._write_transaction():
            index.clear(self._backend)
            report_facts.clear(self._backend)
        indexed = self.catch_up_index(progress)
        self.catch_up_report_facts(progress)
        return indexed

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """Commit on success (durable before returning), roll back on any failure."""
        with self._lock:
            try:
                self._backend.begin_write()  # may fail half-way (PostgreSQL: BEGIN, then no lock)
                yield
                self._backend.commit()
            except BaseException:
                self._backend.rollback()
                raise

    @property
    def signer(self) -> AuditSigner:
        return self._signer

    # ------------------------------------------------------------------ keys

    @property
    def _active_key_name(self) -> str:
        """The ``audit_meta`` row naming our role's active key (the worker's has the name it
        had before roles, so older logs keep theirs)."""
        return "active_key_id" if self.role == WORKER else f"active_key_id/{self.role}"

    def _active_key_id(self) -> str | None:
        row = self._execute("SELECT value FROM audit_meta WHERE name = ?",
                            (self._active_key_name,)).fetchone()
        return None if row is None else str(row["value"])

    def _claim_active_key(self) -> None:
        """Record our key as the active one on a new log; on an old one, it must be the active."""
        with self._write_transaction():
            for name, value in ((self._active_key_name, self._signer.key_id),
                                ("origin", self.origin)):
                self._execute("INSERT INTO audit_meta (name, value) VALUES (?, ?) "
                              "ON CONFLICT (name) DO NOTHING", (name, value))
            self._ensure_current_signer()

    def _ensure_spend_ledger(self) -> None:
        """The budgets' ledger, rebuilt from the records if the log has none (``spend_ledger``):
        under the write lock, so no answer is appended while it is summed."""
        with self._write_transaction():
            if not ledger_is_complete(self._backend):
                rebuild_ledger(self._backend)

    def _ensure_current_signer(self) -> None:
        """Inside a write transaction: our signer must be the log's active key (fail closed)."""
        active = self._active_key_id()
        if active == self._signer.key_id:
            return
        if self._signer_loader is not None:  # another process rotated the key: pick it up
            fresh = self._signer_loader()
            if fresh.key_id == active:
                self._signer = fresh
                self.keyring = load_keyring(self.keyring_path)
                return
        raise AuditStoreError(
            f"signing key {self._signer.key_id} is not the log's active {self.role} key "
            f"{active}; it was rotated: restart with the current {self.role} signing key")

    # ------------------------------------------------------------------ appending

    def append(self, event: AuditEvent) -> AppendResult:
        """Sign and durably store ``event``; idempotent by ``event.record_id``.

        If the record id is already in the log, nothing is written and the stored record is
        returned with ``created=False``; callers that care compare it with their event.
        Concurrent callers share one commit (group commit); each returns once it is durable.
        """
        return self._submit([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AppendResult]:
        """Append several events in one durable transaction (in order)."""
        return self._submit(list(events))

    def _submit(self, events: list[AuditEvent]) -> list[AppendResult]:
        for event in events:  # fail early: the log's verification would refuse the record
            if not role_may_sign(self.role, event.kind):
                raise AuditPayloadError(f"record {event.record_id!r}: a {self.role} key may not "
                                        f"sign a '{event.kind}' record")
            # an answer whose cost the budgets' ledger could not add would fail the whole
            # group commit inside the transaction: refused here, alone
            countable_spend(event)
        # Payload building and canonicalisation happen here, in the caller's thread, before
        # any lock: while one caller commits, the others prepare (and wait for the disk).
        mine = [_Pending(event) for event in events]
        if not mine:
            return []
        last = mine[-1]
        wake = last.wake = _Wakeup()  # rung when ours are done or we are to sign
        with self._queue:
            self._pending.extend(mine)
            taken = self._turn_to_sign(last)
        while True:
            if taken is None:
                wake.wait()
            else:
                self._lead(*taken)
            if last.done:  # set before the ring, so no lock is needed to see it
                break
            with self._queue:
                if last.done:
                    break
                taken = self._turn_to_sign(last)
        self._maybe_checkpoint()
        results = []
        for pending in mine:
            if pending.error is not None:
                raise pending.error
            assert pending.result is not None
            results.append(pending.result)
        return results

    def _turn_to_sign(self, last: _Pending) -> tuple[list[_Pending], _Head | None, int] | None:
        """Under _queue: the batch to sign if it is our turn, else None (and we sleep).

        Batches are taken from the front of the queue, so an appender's events are done when
        its last one is. One appender at a time signs the next batch, when at most one batch
        is being committed (so the queue grows into a batch while the disk writes); the
        others sleep until they are done or chosen to sign next.
        """
        assert last.wake is not None
        if self._elected is last:
            self._elected = None  # chosen by the appender before us: _signing is ours
            return self._take_batch()
        if not last.taken and not self._signing and self._tickets - self._committed <= 1:
            self._signing = True
            return self._take_batch()
        last.wake.reset()  # under _queue, so no ring is lost
        return None

    def _take_batch(self) -> tuple[list[_Pending], _Head | None, int]:
        """Under _queue, by the appender that signs next: the batch, the guessed head, a ticket."""
        batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
        for pending in batch:
            pending.taken = True
        ticket = self._tickets
        self._tickets += 1
        return batch, self._head, ticket

    def _elect_signer(self) -> None:
        """Under _queue: if a batch may be signed now, wake the first appender still queued."""
        if self._signing or self._tickets - self._committed > 1:
            return
        chosen = next((p for p in self._pending if p.wake is not None), None)
        if chosen is not None and chosen.wake is not None:
            self._signing, self._elected = True, chosen
            chosen.wake.ring()

    def _lead(self, batch: list[_Pending], head: _Head | None, ticket: int) -> None:
        """Sign ``batch`` on the guessed chain ``head``, then commit it in its turn."""
        signed: _Signed | None = None
        interrupted: BaseException | None = None
        try:
            if head is None:  # no guess (start, or a guess went wrong): wait for the real head
                with self._queue:
                    while self._committed != ticket:
                        self._queue.wait()
                    head = self._last_end
                    if self._unguessed > 0:  # guesses failed lately: another process appends
                        self._unguessed -= 1
                        head = None  # sign inside the transaction, as without a pipeline
            if head is not None:
                signed = self._sign_batch(batch, head)
        except Exception:
            signed = None  # signed again inside the transaction, which reports what is wrong
        except BaseException as stop:  # still take our turn below, or later batches would wait
            interrupted = stop
        finally:
            with self._queue:
                self._signing = False
                self._head = None if signed is None else signed.end
                self._elect_signer()
        end: _Head | None = None
        try:
            with self._queue:
                while self._committed != ticket:
                    self._queue.wait()
            if interrupted is not None:
                raise interrupted
            with self._commit_lock:
                end = self._commit(batch, signed)
        except BaseException as failure:
            for pending in batch:
                if not pending.done:
                    pending.error, pending.done = failure, True
        finally:
            with self._queue:
                self._committed += 1
                self._last_end = end
                if signed is None or end != signed.end:
                    self._head = None  # batches signed on our guess are signed again
                if signed is not None and end != signed.end:
                    self._unguessed = _UNGUESSED_AFTER_MISS
                for pending in batch:
                    if pending.wake is not None:
                        pending.wake.ring()
                self._elect_signer()
                self._queue.notify_all()  # the leader of the next batch waits for its turn

    def _sign_batch(self, batch: list[_Pending], head: _Head) -> _Signed:
        """Records for ``batch`` if the log's head is ``head`` when it commits."""
        seq, prev, key_id = head
        if key_id != self._signer.key_id:  # rotated since: sign inside the transaction
            raise AuditStoreError("signing key changed")
        signer = self._signer
        created: dict[str, StoredRecord] = {}
        outcomes: list[_Outcome] = []
        rows: list[Values] = []
        for pending in batch:
            record_id = pending.prepared.event.record_id
            if record_id in created:
                outcomes.append((pending, AppendResult(created[record_id], False), None))
                continue
            try:
                record = self._build(pending.prepared, seq + 1, prev, signer)
            except AuditPayloadError as error:
                outcomes.append((pending, None, error))
                continue
            rows.append(insert_values(record))
            seq, prev = record.seq, record.leaf_hash
            created[record_id] = record
            outcomes.append((pending, AppendResult(record, True), None))
        return _Signed(head, (seq, prev, key_id), outcomes, rows, list(created))

    def _last_seq_and_hash(self) -> tuple[int, str]:
        last = self._execute(
            "SELECT seq, canonical FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        if last is None:
            return 0, GENESIS_HASH
        return int(last["seq"]), leaf_hash(blob(last["canonical"])).hex()

    def _existing(self, record_ids: list[str]) -> dict[str, StoredRecord]:
        """The stored records among ``record_ids`` (one query per chunk, not one per id)."""
        found: dict[str, StoredRecord] = {}
        for start in range(0, len(record_ids), _ID_CHUNK):
            chunk = record_ids[start:start + _ID_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in self._execute(f"SELECT {COLUMNS} FROM audit_records WHERE record_id "
                                     f"IN ({marks})", chunk).fetchall():
                found[row["record_id"]] = stored_record(row)
        return found

    def _commit(self, batch: list[_Pending], signed: _Signed | None = None) -> _Head:
        """One transaction for the whole batch; marks each pending event done.

        ``signed`` holds the batch's records signed before the transaction on a guessed head;
        they are stored only if the log's head, the active key and the absence of their
        record ids are confirmed inside the transaction (another process may have appended,
        the key may have been rotated, a retry may have been stored); otherwise the batch is
        signed again here. Returns the head after the batch.
        """
        with self._write_transaction():
            self._ensure_current_signer()
            seq, prev = self._last_seq_and_hash()
            key_id = self._signer.key_id
            known = self._existing(list({p.prepared.event.record_id for p in batch}))
            if (signed is not None and signed.start == (seq, prev, key_id)
                    and not any(record_id in known for record_id in signed.record_ids)):
                outcomes, rows, (seq, prev, _) = signed.outcomes, signed.rows, signed.end
            else:
                outcomes, rows = [], []
                for pending in batch:
                    record_id = pending.prepared.event.record_id
                    existing = known.get(record_id)
                    if existing is not None:  # the first record wins, unchanged
                        outcomes.append((pending, AppendResult(existing, False), None))
                        continue
                    try:
                        record = self._build(pending.prepared, seq + 1, prev)
                    except AuditPayloadError as error:  # this event only; the others go on
                        outcomes.append((pending, None, error))
                        continue
                    rows.append(insert_values(record))
                    seq, prev = record.seq, record.leaf_hash
                    known[record_id] = record
                    outcomes.append((pending, AppendResult(record, True), None))
            self._backend.insert_rows(rows)
            created = [(r.record.seq, r.record.payload)
                       for _, r, _ in outcomes if r is not None and r.created]
            index.add(self._backend, created)
            report_facts.add(self._backend, created)
            # the answers' costs, in the same transaction: the budgets' ledger never differs
            # from the log, and an answer is counted only by the append that creates it
            add_spend(self._backend, [result.record for _, result, _ in outcomes
                                      if result is not None and result.created])
        self._known_size = max(self._known_size, seq)
        with self._lock:  # after the commit: only leaves that are in the log
            if len(self._leaves) > _MAX_LEAVES:  # no checkpoint for long: read them back then
                self._leaves.clear()
            for _, result, _ in outcomes:  # what this transaction stored, for the checkpoint
                if result is not None and result.created:
                    self._leaves[result.record.seq] = bytes.fromhex(result.record.leaf_hash)
        for pending, result, problem in outcomes:  # durable: the commit above returned
            pending.result, pending.error, pending.done = result, problem, True
        return seq, prev, key_id

    def _build(self, event: AuditEvent | PreparedRecord, seq: int, prev_hash: str,
               signer: AuditSigner | None = None) -> StoredRecord:
        prepared = event if isinstance(event, PreparedRecord) else PreparedRecord(event)
        signer = signer or self._signer
        payload, canonical = prepared.build(seq=seq, prev_hash=prev_hash, key_id=signer.key_id)
        source = prepared.event
        return StoredRecord(
            seq=seq,
            record_id=source.record_id,
            kind=source.kind,
            request_id=source.request_id,
            tenant=source.tenant,
            payload=payload,
            canonical=canonical,
            leaf_hash=leaf_hash(canonical).hex(),
            signature=signer.sign(signing_input(canonical)),
            key_id=signer.key_id,
        )

    # ------------------------------------------------------------------ checkpoints

    def _maybe_checkpoint(self) -> None:
        """Sign a checkpoint when one is due; one appender checks, the others go on."""
        if self.checkpoint_every <= 0 and self.checkpoint_interval_s <= 0:
            return
        if not self._checkpointing.acquire(blocking=False):
            return  # another appender is looking at it right now
        try:
            size, when = self._last_checkpoint
            current = self._known_size  # as of this process's last commit (no query)
            due = (self.checkpoint_every > 0 and current - size >= self.checkpoint_every) or (
                self.checkpoint_interval_s > 0 and current > size
                and time.monotonic() - when >= self.checkpoint_interval_s)
            if due:
                self.issue_checkpoint()
        finally:
            self._checkpointing.release()

    def is_signed(self, record: StoredRecord) -> bool:
        """Whether ``record`` is signed by one of this log's keys over exactly its payload
        (what the forward stage requires of an admission before it sends anything)."""
        key = self.keyring.get(record.key_id)
        if key is None or json.loads(record.canonical) != record.payload:
            return False
        return verifier_for_raw(key.public_key)(signing_input(record.canonical),
                                                record.signature)

    def issue_checkpoint(self) -> StoredCheckpoint:
        """Sign a checkpoint of the whole log now (idempotent for an unchanged log)."""
        with self._lock, self._write_transaction():
            self._ensure_current_signer()
            tree = self._tree.copy()
            last = self.size()
            ours = [self._leaves.get(seq) for seq in range(tree.size + 1, last + 1)]
            if None not in ours:  # every new record was committed by this process
                for digest in ours:
                    assert digest is not None
                    tree.append(digest)
            else:  # others appended too: hash what is stored
                rows = self._execute(
                    "SELECT seq, canonical FROM audit_records WHERE seq > ? ORDER BY seq",
                    (tree.size,)).fetchall()
                for row in rows:
                    if row["seq"] != tree.size + 1:
                        raise AuditStoreCorruptError(
                            f"record {tree.size + 1} is missing; run audit verification")
                    tree.append(leaf_hash(blob(row["canonical"])))
            found = self._execute("SELECT size, root_hash, note, issued_at FROM "
                                  "audit_checkpoints WHERE size = ?", (tree.size,)).fetchone()
            if found is None:
                checkpoint = Checkpoint(self.origin, tree.size, tree.root())
                note = sign_checkpoint(checkpoint, self.origin, raw_public_key(self._signer),
                                       self._signer.sign)
                issued_at = format_timestamp(self._clock())
                self._execute("INSERT INTO audit_checkpoints (size, root_hash, note, "
                              "issued_at) VALUES (?, ?, ?, ?)",
                              (tree.size, tree.root().hex(), note, issued_at))
                stored = StoredCheckpoint(tree.size, tree.root(), note, issued_at)
            else:
                stored = StoredCheckpoint(found["size"], bytes.fromhex(found["root_hash"]),
                                          blob(found["note"]), found["issued_at"])
        with self._lock:
            self._tree = tree
            self._last_checkpoint = (tree.size, time.monotonic())
            for seq in [seq for seq in self._leaves if seq <= tree.size]:
                del self._leaves[seq]
        return stored

    def add_note_signature(self, size: int, signature: NoteSignature) -> StoredCheckpoint:
        """Add one signature line (a witness cosignature) to the stored checkpoint at ``size``.

        A later line by the same key replaces the earlier one; the note text is unchanged, so
        the log's own signature still verifies. The caller verified what it signs.
        """
        with self._lock, self._write_transaction():
            found = self._execute("SELECT size, root_hash, note, issued_at FROM "
                                  "audit_checkpoints WHERE size = ?", (size,)).fetchone()
            if found is None:
                raise AuditStoreError(f"no stored checkpoint at size {size}")
            note = add_signature(blob(found["note"]), signature)
            self._execute("UPDATE audit_checkpoints SET note = ? WHERE size = ?", (note, size))
        return StoredCheckpoint(size, bytes.fromhex(found["root_hash"]), note,
                                found["issued_at"])

    # ------------------------------------------------------------------ key rotation

    def rotate_key(self, new_signer: AuditSigner) -> StoredRecord:
        """Retire the current key: a ``key_rotated`` record signed by it names the new key.

        The keyring file is updated (old window closed, new one opened, at the record's time)
        before the commit; a checkpoint signed by the new key follows.
        """
        old = self._signer
        new_public = raw_public_key(new_signer)
        with self._commit_lock, self._lock:
            moment = self._clock()
            event = audit_events.key_rotated(old.key_id, new_signer.key_id, new_public, moment)
            previous_keyring = self.keyring
            try:
                with self._write_transaction():
                    self._ensure_current_signer()
                    seq, prev = self._last_seq_and_hash()
                    record = self._build(event, seq + 1, prev)
                    self._backend.insert_rows([insert_values(record)])
                    index.add(self._backend, [(record.seq, record.payload)])
                    report_facts.add(self._backend, [(record.seq, record.payload)])
                    self._execute("UPDATE audit_meta SET value = ? WHERE name = ?",
                                  (new_signer.key_id, self._active_key_name))
                    keyring = self.keyring.rotated(old.key_id, new_public,
                                                   record.payload["occurred_at"])
                    save_keyring(self.keyring_path, keyring)
            except BaseException:
                save_keyring(self.keyring_path, previous_keyring)
                raise
            self.keyring, self._signer = keyring, new_signer
            with self._queue:
                self._head = self._last_end = None  # batches signed on a guess: signed again
        self.issue_checkpoint()
        return record



def _open_keyring(path: Path, signer: AuditSigner, origin: str | None, role: str,
                  now: Callable[[], str]) -> Keyring:
    """The keyring next to the log, created with ``signer`` as first key on a new log; the
    first key of a role on an older log is added, valid from ``now`` (the first process of a
    role introduces its key; whether the log accepts it is decided when it claims the role's
    active key, in the same way for every process)."""
    if not path.exists():
        keyring = Keyring(origin or DEFAULT_ORIGIN,
                          (KeyEntry(signer.key_id, raw_public_key(signer), role=role),))
        save_keyring(path, keyring)
        return keyring
    keyring = load_keyring(path)
    if origin is not None and origin != keyring.origin:
        raise AuditStoreError(f"{path}: the log's origin is {keyring.origin!r}, "
                              f"not the configured {origin!r}")
    if keyring.get(signer.key_id) is None and keyring.active_for(role) is None:
        keyring = keyring.with_key(KeyEntry(signer.key_id, raw_public_key(signer),
                                            not_before=now(), role=role))
        save_keyring(path, keyring)
    return keyring


if TYPE_CHECKING:  # mypy proves the log and its reading half satisfy the protocols
    from streams.adapters.audit.protocols import AuditLog, AuditReader, AuditStore

    _store: type[AuditStore] = GroupCommitLog
    _log: type[AuditLog] = GroupCommitLog
    _reader: type[AuditReader] = SqlRecords
