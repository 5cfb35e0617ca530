"""The store facade: one writer (group commit) and a small pool of read connections — on one
SQLite file (the embedded default) or on PostgreSQL (``postgresql://…``, several engines)."""

from __future__ import annotations

import functools
import os
import secrets
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import psycopg
import trio

from engine.clock import Clock, wall
from engine.errors import StoreError
from engine.gather import Gathered
from engine.store import _db, _ops, _pg, _queries
from engine.store._writer import DB_ERRORS, Tx, Writer

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
P = ParamSpec("P")
LOOKUP_CHUNK = 500  # keys per query of a lookup (SQLite allows 32,766 parameters)


class Store:
    """Durable job store on one SQLite file in WAL mode.

    Writes: :meth:`write` runs an op from :mod:`engine.store._ops` in the next group commit.
    Reads: :meth:`read` runs a query from :mod:`engine.store._queries` on a pooled read
    connection in a worker thread, so the event loop never waits on the disk.

    Resource handling: :meth:`open` checks and migrates the file (raising
    :class:`~engine.errors.DatabaseUnusable` with a readable reason); :meth:`run` serves
    writes until cancelled and closes every connection when it ends.
    """

    def __init__(self, path: Path | str, writer_conn: Any, *, synchronous: str, group_commit_max: int,
                 readers: int = 3, clock: Clock = wall, password: str | None = None) -> None:
        self.path = path
        self.synchronous = synchronous
        self.clock = clock
        self.database_id = _queries.database_id(writer_conn)
        self.postgres = isinstance(writer_conn, _pg.PgConn)
        #: this engine among those sharing the store (host:pid:token): owner of its jobs and leases
        self.engine_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        #: service leases (:meth:`lead`) by name: whether this engine held it at its last renewal
        self.leading: dict[str, bool] = {}
        self._stepped_down = False
        shared: dict[str, Any] = {}  # PostgreSQL: event numbers shared with other engines, reconnecting
        if self.postgres:
            url = str(path)
            shared = {"reserve_seqs": _pg.reserve_seqs, "begin": "BEGIN", "reconnect": lambda: _pg.connect(url, password)}
            self._readers: list[Any] = [_pg.connect(url, password) for _ in range(readers)]
        else:
            self._readers = [_db.connect(Path(path), synchronous=synchronous, readonly=True) for _ in range(readers)]
        self.writer = Writer(writer_conn, max_batch=group_commit_max, last_seq=_queries.last_seq(writer_conn),
                             clock=clock, **shared)
        self._password = password
        self._pool_send, self._pool_recv = trio.open_memory_channel[Any](readers)
        for conn in self._readers:
            self._pool_send.send_nowait(conn)
        self._lookups: dict[Callable[..., Any], Gathered[Any, Any]] = {}  # query → the keys looked up with it

    @classmethod
    def open(cls, path: Path | str, *, synchronous: str = "FULL", group_commit_max: int = 5000, clock: Clock = wall,
             busy_timeout: float = 30.0, password: str | None = None) -> Store:
        """Check and migrate the database, then open it: an SQLite file, or a PostgreSQL URL
        (``postgresql://user@host/db``; its ``password`` given apart). ``clock`` gives every op's
        ``tx.now``; ``busy_timeout`` is how long an SQLite write waits for another process's lock."""
        if is_postgres(path):
            return cls(str(path), _pg.prepare(str(path), password), synchronous=synchronous,
                       group_commit_max=group_commit_max, clock=clock, password=password)
        conn = _db.prepare(Path(path), synchronous=synchronous, busy_timeout=busy_timeout)
        return cls(path, conn, synchronous=synchronous, group_commit_max=group_commit_max, clock=clock)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        try:
            await self.writer.run(task_status=task_status)
        finally:
            for conn in self._readers:
                conn.close()

    async def follow(self, fallback: float = 2.0, *,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """PostgreSQL: the events other engines commit, read as they appear and handed to the
        same hooks as this engine's own (the event stream, stats, the scheduler's wake-ups and
        e-stop). Woken by ``LISTEN`` (every commit with events notifies), and every ``fallback``
        seconds anyway. Sequence numbers are taken under one row lock until commit, so every
        number below a visible one is visible too: the follower never skips one."""
        cursor = self.writer.last_seq
        listener: Any = None
        task_status.started()
        try:
            while True:
                if listener is None or listener.closed:
                    try:
                        listener = _pg.connect(str(self.path), self._password)
                        listener.raw.execute(f"LISTEN {_pg.CHANNEL}")
                    except (StoreError, psycopg.Error):
                        listener = None
                if listener is None:
                    await trio.sleep(fallback)
                else:
                    try:
                        await trio.to_thread.run_sync(_pg.wait_notify, listener, fallback, abandon_on_cancel=True)
                    except DB_ERRORS:
                        listener = None  # the database went away: reconnect next round
                cursor = await self._follow_once(cursor)
        finally:
            if listener is not None:
                listener.close()

    async def _follow_once(self, cursor: int) -> int:
        try:
            page = await self.read(_queries.events_since, cursor, 2000)
        except StoreError:
            return cursor  # the database is away: the engine shows it through the writer
        while page:
            own = self.writer.own_seqs
            foreign = [e for e in page if e.seq not in own]
            cursor = page[-1].seq
            own.difference_update([e.seq for e in page])
            self.writer.last_seq = max(self.writer.last_seq, cursor)
            if foreign:
                self.writer.publish(foreign)
            if len(page) < 2000:
                break
            page = await self.read(_queries.events_since, cursor, 2000)
        return cursor

    async def lead(self, name: str, ttl: float) -> bool:
        """Whether this engine runs the service ``name`` (a head recorder, a tracker, a scan)
        now. On PostgreSQL it takes or renews the service's lease for ``ttl`` seconds — one
        engine at a time; when that engine dies its lease lapses and the next to ask takes it.
        On SQLite there is one engine, which always leads."""
        if not self.postgres:
            return True
        held = not self._stepped_down and await self.write(_ops.take_lease, name, self.engine_id, ttl)
        self.leading[name] = held
        return held

    def leads(self, name: str) -> bool:
        """Whether this engine held the service ``name``'s lease at its last renewal (SQLite:
        always; PostgreSQL: not before its first)."""
        return self.leading.get(name, not self.postgres)

    def step_down(self) -> None:
        """The engine is stopping: it takes no service lease from now on (the ones it holds are
        dropped when it unregisters)."""
        self._stepped_down = True

    def close(self) -> None:
        """Close every connection of a store that was opened but not run (a read-only use)."""
        self.writer.close()
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
            conn = self._alive(conn)
            try:
                return await trio.to_thread.run_sync(lambda: _translate(fn, conn, *args, **kwargs))
            except StoreError:
                if not (self.postgres and conn.closed):
                    raise
                conn = self._alive(conn)  # the database restarted since this connection was made: once more
                return await trio.to_thread.run_sync(lambda: _translate(fn, conn, *args, **kwargs))
        finally:
            self._pool_send.send_nowait(conn)

    async def lookup(self, fn: Callable[[Any, list[K]], dict[K, V]], key: K) -> V | None:
        """``key``'s row from ``fn(conn, keys) → {key: row}``, a query that answers many keys at
        once: the keys that tasks look up while a read of ``fn`` is in flight go together in the
        next one. A thousand jobs each checking their transaction make a few reads, not a
        thousand — and other reads (a tracker's) do not queue behind them."""
        gathered = self._lookups.get(fn)
        if gathered is None:
            gathered = self._lookups[fn] = Gathered(functools.partial(self._read_keys, fn),
                                                    lambda: StoreError("the store is closing"))
        return await gathered.add(key)

    async def _read_keys(self, fn: Callable[[Any, list[Any]], dict[Any, Any]], keys: list[Any]) -> list[Any]:
        """``fn``'s rows for ``keys`` (each once), :data:`LOOKUP_CHUNK` keys a query."""
        rows: dict[Any, Any] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), LOOKUP_CHUNK):
            rows.update(await self.read(fn, unique[i:i + LOOKUP_CHUNK]))
        return [rows.get(key) for key in keys]

    def read_now(self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read on the calling thread — for start-up, before the event loop is busy."""
        self._readers[0] = self._alive(self._readers[0])
        return _translate(fn, self._readers[0], *args, **kwargs)

    def _alive(self, conn: Any) -> Any:
        """A PostgreSQL reader whose connection broke (the database restarted) is replaced."""
        if not (self.postgres and conn.closed):
            return conn
        try:
            fresh = _pg.connect(str(self.path), self._password)
        except StoreError:
            return conn  # still away: this read fails, the next one tries again
        self._readers = [fresh if r is conn else r for r in self._readers]
        return fresh

    @property
    def last_seq(self) -> int:
        return self.writer.last_seq

    @property
    def writable(self) -> bool:
        """False while commits fail (disk full, a lock held too long): the engine runs degraded."""
        return self.writer.failing_since is None


def is_postgres(target: Path | str) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def _translate(fn: Callable[Concatenate[sqlite3.Connection, P], T], conn: Any,
               *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return fn(conn, *args, **kwargs)
    except DB_ERRORS as exc:
        raise StoreError(f"store read failed: {exc}") from exc
