"""The store on PostgreSQL (psycopg 3): the same schema and the same ops as on SQLite, for
several engines sharing one queue.

The ops are written once, in the SQL both databases speak (``ON CONFLICT``, ``RETURNING``,
partial indexes); :class:`PgConn` gives them the sqlite3 connection's ``execute`` with ``?``
placeholders. The schema is SQLite's migrations with PostgreSQL's types
(``INTEGER PRIMARY KEY`` → ``BIGSERIAL``, ``REAL`` → ``DOUBLE PRECISION``, ``INTEGER`` →
``BIGINT``), applied under an advisory lock so engines starting together migrate once, versioned
in ``shiftboss_meta`` (a newer schema is refused). Event sequence numbers come from one counter
row, updated in the committing transaction: gap-free and in commit order across engines.

Passwords never come from the URL in config.toml: ``store.password_env`` or
``store.password_file``, handed to :func:`connect` apart.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import pq

from engine.errors import DatabaseUnusable
from engine.store._db import MIGRATIONS, SCHEMA_VERSION, statements

_MIGRATION_LOCK = 0x53424F53  # "SBOS": the advisory lock engines take to migrate one at a time


_PG_ONLY = re.compile(r"/\*pg: ([^*]*)\*/")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """sqlite3's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled first), and the
    clauses only PostgreSQL has, written as ``/*pg: FOR UPDATE SKIP LOCKED*/`` (a comment to
    SQLite), put in."""
    return _PG_ONLY.sub(r"\1", sql.replace("%", "%%")).replace("?", "%s")


_PLAIN_INSERT = re.compile(r"\s*INSERT INTO (\w+) \(([\w, ]+)\)\s*VALUES \(\?(?:\s*,\s*\?)*\)\s*", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _copy_of(sql: str) -> str | None:
    """``COPY t (columns) FROM STDIN`` for a plain one-row ``INSERT INTO t (columns) VALUES
    (?, …)`` (no ``ON CONFLICT``, no ``RETURNING``), else None."""
    plain = _PLAIN_INSERT.fullmatch(sql)
    if plain is None or plain.group(2).count(",") != sql.count("?") - 1:
        return None
    return f"COPY {plain.group(1)} ({plain.group(2)}) FROM STDIN"


def translate_ddl(sql: str) -> str:
    sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGSERIAL PRIMARY KEY", sql)
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    return re.sub(r"\bINTEGER\b", "BIGINT", sql)


class PgConn:
    """A psycopg connection with the sqlite3 connection's ``execute``/``executemany``."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(translate(sql), params)  # type: ignore[arg-type]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        """Many rows of one statement; a plain ``INSERT … VALUES (?, …)`` of several rows goes
        as one ``COPY`` (the jobs of a submit, a batch's events and attempts): one statement,
        not one per row."""
        cur = self.raw.cursor()
        copy = _copy_of(sql)
        rows = rows if copy is None or isinstance(rows, list) else list(rows)
        if copy is not None and len(rows) > 1:  # type: ignore[arg-type]
            with cur.copy(copy) as stream:
                for row in rows:
                    stream.write_row(row)
        else:
            cur.executemany(translate(sql), rows)  # type: ignore[arg-type]
        return cur

    def lock(self, key: str) -> None:
        """Hold the advisory lock ``key`` until this transaction ends (another engine's
        transaction taking it waits for our commit)."""
        self.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed or self.raw.broken)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def connect(url: str, password: str | None = None, *, autocommit: bool = True) -> PgConn:
    try:
        raw = psycopg.connect(url, autocommit=autocommit, password=password)  # None: not passed
    except psycopg.Error as exc:
        raise DatabaseUnusable(f"{redact(url)}: cannot connect: {exc}".strip()) from exc
    return PgConn(raw)


def redact(url: str) -> str:
    """The URL without a password (should one be in it)."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:…@", url)


def prepare(url: str, password: str | None = None) -> PgConn:
    """Check that the database is (or can become) a Shiftboss store and migrate it; the writer
    connection. Raises :class:`DatabaseUnusable` with an operator-readable reason."""
    conn = connect(url, password)
    try:
        with conn.raw.transaction():
            conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.raw.execute("CREATE TABLE IF NOT EXISTS shiftboss_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            rows = dict(conn.raw.execute("SELECT key, value FROM shiftboss_meta").fetchall())
            tables = conn.raw.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
                " AND table_name <> 'shiftboss_meta'").fetchone()
            version = int(rows.get("schema_version", 0))
            if not rows and tables and tables[0]:
                raise DatabaseUnusable(f"{redact(url)} holds tables of another application, not Shiftboss")
            if version > SCHEMA_VERSION:
                raise DatabaseUnusable(f"{redact(url)} has schema version {version}, newer than this Shiftboss "
                                       f"knows ({SCHEMA_VERSION}); upgrade Shiftboss")
            for target in range(version, SCHEMA_VERSION):
                for statement in statements(MIGRATIONS[target]):
                    conn.raw.execute(translate_ddl(statement))  # type: ignore[call-overload]
            if version < SCHEMA_VERSION:
                conn.raw.execute("CREATE TABLE IF NOT EXISTS event_counter (id INT PRIMARY KEY, last BIGINT NOT NULL)")
                conn.raw.execute("INSERT INTO event_counter (id, last) SELECT 1, coalesce(max(seq), 0) FROM events"
                                 " ON CONFLICT (id) DO NOTHING")
                conn.raw.execute("INSERT INTO shiftboss_meta (key, value) VALUES ('schema_version', %s)"
                                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
            conn.raw.execute("INSERT INTO control (key, value) VALUES ('database', %s) ON CONFLICT (key) DO NOTHING",
                             (json.dumps({"id": uuid.uuid4().hex}),))
    except psycopg.Error as exc:
        conn.close()
        raise DatabaseUnusable(f"{redact(url)} cannot be used as a Shiftboss store: {exc}") from exc
    except DatabaseUnusable:
        conn.close()
        raise
    return conn


CHANNEL = "shiftboss_events"


def reserve_seqs(conn: PgConn, count: int) -> int:
    """The last of ``count`` new event sequence numbers (the row stays locked until commit); the
    other engines' followers are notified when the transaction commits."""
    row = conn.raw.execute("UPDATE event_counter SET last = last + %s WHERE id = 1 RETURNING last", (count,)).fetchone()
    assert row is not None
    conn.raw.execute(f"NOTIFY {CHANNEL}")
    return int(row[0])


def wait_notify(conn: PgConn, timeout: float) -> bool:
    """Block (in a worker thread) until a notification on :data:`CHANNEL` or ``timeout``; whether
    one came."""
    return any(True for _ in conn.raw.notifies(timeout=timeout, stop_after=1))
