"""The store facade: one writer (group commit) and a small pool of read connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, NoReturn, ParamSpec, TypeVar

import trio

from engine.clock import Clock, wall
from engine.errors import StoreError
from engine.store import _db, _queries
from engine.store._writer import Tx, Writer

T = TypeVar("T")
P = ParamSpec("P")


class Store:
    """Durable job store on one SQLite file in WAL mode.

    Writes: :meth:`write` runs an op from :mod:`engine.store._ops` in the next group commit.
    Reads: :meth:`read` runs a query from :mod:`engine.store._queries` on a pooled read
    connection in a worker thread, so the event loop never waits on the disk.

    Resource handling: :meth:`open` checks and migrates the file (raising
    :class:`~engine.errors.DatabaseUnusable` with a readable reason); :meth:`run` serves
    writes until cancelled and closes every connection when it ends.
    """

    def __init__(self, path: Path, writer_conn: sqlite3.Connection, *, synchronous: str, group_commit_max: int,
                 readers: int = 3, clock: Clock = wall) -> None:
        self.path = path
        self.synchronous = synchronous
        self.clock = clock
        self.database_id = _queries.database_id(writer_conn)
        self.writer = Writer(writer_conn, max_batch=group_commit_max, last_seq=_queries.last_seq(writer_conn),
                             clock=clock)
        self._readers = [_db.connect(path, synchronous=synchronous, readonly=True) for _ in range(readers)]
        self._pool_send, self._pool_recv = trio.open_memory_channel[sqlite3.Connection](readers)
        for conn in self._readers:
            self._pool_send.send_nowait(conn)

    @classmethod
    def open(cls, path: Path, *, synchronous: str = "FULL", group_commit_max: int = 5000, clock: Clock = wall,
             busy_timeout: float = 30.0) -> Store:
        """Check and migrate the file, then open it. ``clock`` gives every op's ``tx.now``;
        ``busy_timeout`` is how long a write waits for another process's lock before it fails."""
        conn = _db.prepare(path, synchronous=synchronous, busy_timeout=busy_timeout)
        return cls(path, conn, synchronous=synchronous, group_commit_max=group_commit_max, clock=clock)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        try:
            await self.writer.run(task_status=task_status)
        finally:
            for conn in self._readers:
                conn.close()

    async def write(self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the op ``fn(tx, *args, **kwargs)`` in the next group commit; its result once durable."""

        def op(tx: Tx) -> T:
            return fn(tx, *args, **kwargs)

        return await self.writer.call(op)

    async def read(self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the query ``fn(conn, *args, **kwargs)`` on a pooled read connection in a thread."""
        conn = await self._pool_recv.receive()
        try:
            return await trio.to_thread.run_sync(lambda: _translate(fn, conn, *args, **kwargs))
        finally:
            self._pool_send.send_nowait(conn)

    def read_now(self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read on the calling thread — for start-up, before the event loop is busy."""
        return _translate(fn, self._readers[0], *args, **kwargs)

    @property
    def last_seq(self) -> int:
        return self.writer.last_seq

    @property
    def writable(self) -> bool:
        """False while commits fail (disk full, a lock held too long): the engine runs degraded."""
        return self.writer.failing_since is None


def _translate(fn: Callable[Concatenate[sqlite3.Connection, P], T], conn: sqlite3.Connection,
               *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return fn(conn, *args, **kwargs)
    except sqlite3.Error as exc:
        raise StoreError(f"store read failed: {exc}") from exc
