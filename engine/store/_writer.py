"""The single writer: every change to the store goes through here, batched into group commits.

Callers hand in an *op* — a plain function ``op(tx) -> result`` — and await its result. The
writer task takes every op waiting at that moment (up to ``group_commit_max``), runs them in
one SQLite transaction in a worker thread (each inside its own savepoint, so one failing op
does not undo the others), appends the events they emitted with consecutive sequence numbers,
commits once, and only then wakes the callers and publishes the events. Throughput therefore
grows with load instead of collapsing into one commit (one fsync with ``synchronous=FULL``)
per job.

Resource handling: the writer owns its connection and closes it when :meth:`run` ends. Ops
already accepted when it is cancelled still complete (the thread is not abandoned).

Error handling: an op that raises gets its savepoint rolled back and the exception re-raised
in its caller. A failure of the transaction itself (disk full, I/O error, corruption) fails
every op of the batch with :class:`~engine.errors.StoreError`.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import msgspec
import psycopg
import trio

from engine.clock import Clock, wall
from engine.errors import StoreError
from engine.schema import Event

#: what a database driver raises: the store's own failures, never the caller's
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

T = TypeVar("T")
log = logging.getLogger("shiftboss.store")

_encode = msgspec.json.encode


class Tx:
    """What a write op sees: the connection, one clock reading per batch, and emitters."""

    __slots__ = ("conn", "now", "events")

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now
        self.events: list[tuple[str, str | None, str | None, dict[str, Any]]] = []

    def emit(self, type_: str, job_id: str | None = None, pool: str | None = None, /, **data: Any) -> None:
        self.events.append((type_, job_id, pool, data))

    def lock(self, key: str) -> None:
        """Serialise this op with every other engine's op that locks ``key`` (PostgreSQL: an
        advisory lock held until commit; SQLite has one writer, so nothing to do)."""
        lock = getattr(self.conn, "lock", None)
        if lock is not None:
            lock(key)

    def audit(
        self, actor: str, action: str, target: str, reason: str = "", details: dict[str, Any] | None = None
    ) -> int:
        """Append an audit record (and its ``audit`` event); return its id."""
        row = self.conn.execute(
            "INSERT INTO audit (ts, actor, action, target, reason, details) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (self.now, actor, action, target, reason, _encode(details).decode() if details else None),
        ).fetchone()
        record_id = int(row[0]) if row else 0
        self.emit(
            "audit", None, None, id=record_id, actor=actor, action=action, target=target, reason=reason,
            details=details,
        )
        return record_id


class _CommitFailed(StoreError):
    """The batch's transaction failed as a whole (not one op's own error)."""


class _Op:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[Tx], Any]) -> None:
        self.fn = fn
        self.done = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Writer:
    """Owner of the write connection; see the module docstring."""

    def __init__(self, conn: Any, *, max_batch: int, last_seq: int, clock: Clock = wall,
                 reserve_seqs: Callable[[Any, int], int] | None = None, begin: str = "BEGIN IMMEDIATE",
                 reconnect: Callable[[], Any] | None = None) -> None:
        """``conn``: a sqlite3 connection, or a :class:`~engine.store._pg.PgConn`; then
        ``reserve_seqs(conn, n)`` gives the last of ``n`` event numbers shared with other
        engines (inside the transaction), and ``reconnect()`` a new connection after the
        database went away."""
        self._conn = conn
        self._reserve_seqs = reserve_seqs
        self._begin = begin
        self._reconnect = reconnect
        self._clock = clock
        self._max_batch = max_batch
        self._send, self._recv = trio.open_memory_channel[_Op](math.inf)
        self._hooks: list[Callable[[list[Event]], None]] = []
        self.last_seq = last_seq
        #: seqs of events this writer committed that the follower has not passed yet (PostgreSQL)
        self.own_seqs: set[int] = set()
        self.batches = 0
        self.ops = 0
        #: batches whose commit failed, since start; when the current run of failures began, and why
        self.failures = 0
        self.failing_since: float | None = None
        self.last_error: str | None = None

    def close(self) -> None:
        """Close the connection of a writer that is not running."""
        self._conn.close()

    def on_commit(self, hook: Callable[[list[Event]], None]) -> None:
        """Call ``hook(events)`` on the Trio thread after every commit that emitted events (and,
        on PostgreSQL, with other engines' events as the store's follower finds them)."""
        self._hooks.append(hook)

    def publish(self, events: list[Event]) -> None:
        for hook in self._hooks:
            hook(events)

    async def call(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in the next group commit and return its result once it is durable."""
        op = _Op(fn)
        self._send.send_nowait(op)
        await op.done.wait()
        if op.error is not None:
            raise op.error
        return op.result  # type: ignore[no-any-return]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        task_status.started()
        try:
            while True:
                batch = [await self._recv.receive()]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._recv.receive_nowait())
                    except trio.WouldBlock:
                        break
                now = self._clock()
                events = await trio.to_thread.run_sync(self._apply, batch, now)
                self._health(batch, now)
                self.batches += 1
                self.ops += len(batch)
                for op in batch:
                    op.done.set()
                if events:
                    for hook in self._hooks:
                        hook(events)
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._conn.close)

    def _health(self, batch: list[_Op], now: float) -> None:
        failed = next((op.error for op in batch if isinstance(op.error, _CommitFailed)), None)
        if failed is None:
            if self.failing_since is not None:
                log.warning("the store writes again (it could not for %.1f s)", now - self.failing_since)
            self.failing_since = self.last_error = None
            return
        self.failures += 1
        self.last_error = str(failed)
        if self.failing_since is None:
            self.failing_since = now
            log.error("the store cannot write: %s — running degraded until it can", failed)

    def _apply(self, batch: list[_Op], now: float) -> list[Event]:
        if self._reconnect is not None and getattr(self._conn, "closed", False):
            try:
                self._conn = self._reconnect()
            except StoreError as exc:  # still away (DatabaseUnusable): this batch fails, the next tries again
                return self._fail_all(batch, exc)
        conn = self._conn
        # SQLite: a savepoint per op (a function call each). PostgreSQL: a savepoint is a round trip
        # and a subtransaction (past 64 in one transaction every other session's snapshots slow
        # down), so the batch runs without them, and only if an op fails is it run again with them.
        try:
            tx = Tx(conn, now)
            if self._run_ops(conn, tx, batch, careful=self._reserve_seqs is None):
                conn.execute("ROLLBACK")  # an op failed: again, each in its own savepoint
                tx = Tx(conn, now)
                self._run_ops(conn, tx, batch, careful=True)
        except DB_ERRORS as exc:
            return self._fail(conn, batch, exc)
        return self._commit(conn, tx, batch)

    def _run_ops(self, conn: Any, tx: Tx, batch: list[_Op], *, careful: bool) -> bool:
        """Run the batch's ops in a new transaction. ``careful``: each in a savepoint, a failing
        one rolled back alone. Otherwise the first failure stops the run and True is returned:
        the transaction is then unusable, and the batch must be run again carefully."""
        conn.execute(self._begin)
        for op in batch:
            mark = len(tx.events)
            op.result, op.error = None, None
            if careful:
                conn.execute("SAVEPOINT op")
            try:
                op.result = op.fn(tx)
            except Exception as exc:  # noqa: BLE001 - handed back to the op's caller
                if not careful:
                    return True
                conn.execute("ROLLBACK TO op")
                del tx.events[mark:]
                op.error = exc
                if isinstance(exc, DB_ERRORS):
                    op.error = StoreError(f"store write failed: {exc}")
                    op.error.__cause__ = exc
            if careful:
                conn.execute("RELEASE op")
        return False

    def _commit(self, conn: Any, tx: Tx, batch: list[_Op]) -> list[Event]:
        """Number the batch's events, store them, commit."""
        reserved = range(0)
        seq = self.last_seq
        try:
            events = []
            if tx.events and self._reserve_seqs is not None:
                seq = self._reserve_seqs(conn, len(tx.events)) - len(tx.events)
                reserved = range(seq + 1, seq + len(tx.events) + 1)
                self.own_seqs.update(reserved)  # before the commit makes them visible to the follower
            for type_, job_id, pool, data in tx.events:
                seq += 1
                events.append(Event(seq=seq, ts=tx.now, type=type_, job_id=job_id, pool=pool, data=data))
            if events:
                conn.executemany(
                    "INSERT INTO events (seq, ts, type, job_id, pool, data) VALUES (?, ?, ?, ?, ?, ?)",
                    [(e.seq, e.ts, e.type, e.job_id, e.pool, _encode(e.data).decode()) for e in events],
                )
            conn.execute("COMMIT")
        except DB_ERRORS as exc:
            self.own_seqs.difference_update(reserved)  # rolled back: another engine gets these numbers
            return self._fail(conn, batch, exc)
        self.last_seq = max(self.last_seq, seq)
        return events

    def _fail(self, conn: Any, batch: list[_Op], exc: Exception) -> list[Event]:
        """The batch's transaction failed as a whole: rolled back, every op gets the error."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except DB_ERRORS:
            pass  # the connection is gone: reconnected next batch
        return self._fail_all(batch, exc)

    @staticmethod
    def _fail_all(batch: list[_Op], exc: Exception) -> list[Event]:
        error = _CommitFailed(f"store write failed: {exc}")
        for op in batch:
            op.result, op.error = None, error
        return []
