"""Read queries. Plain functions over a read connection; they never write."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from engine.errors import JobNotFound
from engine.schema import Attempt, AuditRecord, Event, Job, JobError, JobFilter

_dec = msgspec.json.decode

JOB_COLUMNS = (
    "seq, id, kind, pool, state, priority, payload, attempts, max_attempts, timeout, created_at, updated_at,"
    " not_before, deadline, idempotency_key, started_at, finished_at, progress, result, error, backoff"
)


def _maybe(raw: str | None) -> Any:
    return None if raw is None else _dec(raw)


def row_to_job(row: tuple[Any, ...]) -> Job:
    (_seq, id_, kind, pool, state, priority, payload, attempts, max_attempts, timeout, created_at, updated_at,
     not_before, deadline, key, started_at, finished_at, progress, result, error, backoff) = row
    return Job(
        id=id_, kind=kind, pool=pool, state=state, priority=priority, payload=_dec(payload), attempts=attempts,
        max_attempts=max_attempts, timeout=timeout, backoff=backoff, created_at=created_at, updated_at=updated_at,
        not_before=not_before, deadline=deadline, idempotency_key=key, started_at=started_at,
        finished_at=finished_at, progress=_maybe(progress), result=_maybe(result),
        error=None if error is None else _dec(error, type=JobError),
    )


def filter_sql(flt: JobFilter) -> tuple[str, list[Any]]:
    """``WHERE …`` and its parameters for a job filter (empty string when it matches all)."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.state:
        clauses.append(f"state IN ({','.join('?' * len(flt.state))})")
        params.extend(flt.state)
    if flt.kind:
        clauses.append("kind = ?")
        params.append(flt.kind)
    if flt.pool:
        clauses.append("pool = ?")
        params.append(flt.pool)
    if flt.text:
        like = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(id LIKE ? ESCAPE '\\' OR kind LIKE ? ESCAPE '\\' OR payload LIKE ? ESCAPE '\\'"
            " OR error LIKE ? ESCAPE '\\' OR idempotency_key LIKE ? ESCAPE '\\')"
        )
        params.extend([like] * 5)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def get_job(conn: sqlite3.Connection, job_id: str) -> Job:
    row = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(job_id)
    job = row_to_job(row)
    job.history = [
        Attempt(n=n, started_at=started, finished_at=finished, outcome=outcome, worker=worker,
                error=None if error is None else _dec(error, type=JobError))
        for n, started, finished, outcome, worker, error in conn.execute(
            "SELECT n, started_at, finished_at, outcome, worker, error FROM attempts WHERE job_id = ? ORDER BY rowid",
            (job_id,),
        )
    ]
    if job.state in ("running", "cancelling"):
        job.history.append(Attempt(n=job.attempts, started_at=job.started_at or 0.0, outcome=job.state))
    return job


# ``sort`` values of GET /v1/jobs (engine.schema.JOB_SORTS) as ORDER BY clauses; ties go newest first.
_ORDER = {
    "-created": "seq DESC", "created": "seq ASC",
    "-priority": "priority DESC, seq DESC", "priority": "priority ASC, seq DESC",
    "-updated": "updated_at DESC, seq DESC", "updated": "updated_at ASC, seq DESC",
    "state": "state ASC, seq DESC", "kind": "kind ASC, seq DESC", "pool": "pool ASC, seq DESC",
}


def list_jobs(
    conn: sqlite3.Connection, flt: JobFilter, cursor: int | None, limit: int, *, count: bool = True,
    sort: str = "-created", offset: int = 0,
) -> tuple[list[Job], int | None, int]:
    """Newest first unless ``sort`` says otherwise. Returns (jobs, cursor for the next page or None,
    total matching). ``cursor`` pages the default order; ``offset`` pages any order (the console's
    virtual table jumps to any row with it)."""
    where, params = filter_sql(flt)
    page_where = where
    page_params = list(params)
    if cursor is not None:
        page_where = (where + " AND " if where else "WHERE ") + "seq < ?"
        page_params.append(cursor)
    rows = conn.execute(
        f"SELECT {JOB_COLUMNS} FROM jobs {page_where} ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
        (*page_params, limit + 1, offset),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    total = conn.execute(f"SELECT count(*) FROM jobs {where}", params).fetchone()[0] if count else 0
    return [row_to_job(r) for r in rows], (rows[-1][0] if more else None), total


def job_audit(conn: sqlite3.Connection, job_id: str) -> list[AuditRecord]:
    return _audit_rows(conn.execute(
        "SELECT id, ts, actor, action, target, reason, details FROM audit WHERE target = ? ORDER BY id", (job_id,)
    ))


#: actors of records the engine writes by itself (demo load, start-up recovery, chain scans)
AUTOMATIC_ACTORS = ("demo", "engine")


def audit_page(conn: sqlite3.Connection, cursor: int | None, limit: int, *, actions: list[str] | None = None,
               actor: str | None = None, operator: bool = False) -> tuple[list[AuditRecord], int | None]:
    """Newest first, ``limit`` per page after ``cursor``; only ``actions``, only ``actor`` (a
    substring), only what operators did (``operator``: not demo load, recovery or chain scans)."""
    clauses: list[str] = ["id < ?"]
    params: list[Any] = [cursor if cursor is not None else 2**62]
    if actions:
        clauses.append(f"action IN ({','.join('?' * len(actions))})")
        params.extend(actions)
    if actor:
        clauses.append("instr(actor, ?) > 0")
        params.append(actor)
    if operator:
        clauses.append(f"actor NOT IN ({','.join('?' * len(AUTOMATIC_ACTORS))}) AND actor NOT LIKE 'chain:%'")
        params.extend(AUTOMATIC_ACTORS)
    rows = conn.execute(
        f"SELECT id, ts, actor, action, target, reason, details FROM audit WHERE {' AND '.join(clauses)}"
        " ORDER BY id DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    records = _audit_rows(rows[:limit])
    return records, (records[-1].id if more else None)


def _audit_rows(rows: Any) -> list[AuditRecord]:
    return [
        AuditRecord(id=i, ts=ts, actor=actor, action=action, target=target, reason=reason, details=_maybe(details))
        for i, ts, actor, action, target, reason, details in rows
    ]


def events_since(conn: sqlite3.Connection, since: int, limit: int, job_id: str | None = None) -> list[Event]:
    """Events after ``since`` in order (only ``job_id``'s, if given)."""
    where, params = ("seq > ?", [since]) if job_id is None else ("job_id = ? AND seq > ?", [job_id, since])
    return [
        Event(seq=seq, ts=ts, type=type_, job_id=job_id, pool=pool, data=_dec(data))
        for seq, ts, type_, job_id, pool, data in conn.execute(
            f"SELECT seq, ts, type, job_id, pool, data FROM events WHERE {where} ORDER BY seq LIMIT ?", (*params, limit)
        )
    ]


def oldest_event(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(min(seq), 0) FROM events").fetchone()[0])


def last_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])


def state_counts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {(pool, state): n for pool, state, n in conn.execute("SELECT pool, state, count(*) FROM jobs GROUP BY 1, 2")}


def database_id(conn: sqlite3.Connection) -> str:
    """The id this database got when it was created."""
    row = conn.execute("SELECT value FROM control WHERE key = 'database'").fetchone()
    return str(_dec(row[0])["id"]) if row else ""


def controls(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    return {key: _dec(value) for key, value in conn.execute("SELECT key, value FROM control")}


def attempts_by_outcome(conn: sqlite3.Connection, outcome: str) -> dict[str, int]:
    """How many attempts of each job ended with ``outcome`` (for audits and tests)."""
    return dict(conn.execute("SELECT job_id, count(*) FROM attempts WHERE outcome = ? GROUP BY job_id", (outcome,)))


def engines(conn: sqlite3.Connection, now: float) -> list[dict[str, Any]]:
    """The engines that share this store, newest first, each with the services it leads now
    (the leases it holds: ``chain.head:<chain>``, ``EvmTx…tracker:…``, ``kale.farm:<chain>`` …)."""
    rows = conn.execute("SELECT id, host, pid, version, started_at, heartbeat_at, stopped_at FROM engines"
                        " ORDER BY started_at DESC").fetchall()
    services: dict[str, list[str]] = {}
    for name, owner in conn.execute("SELECT name, owner FROM leases WHERE until >= ? ORDER BY name",
                                    (now,)).fetchall():
        services.setdefault(owner, []).append(name)
    return [{"id": i, "host": h, "pid": p, "version": v, "started_at": s, "heartbeat_at": b, "stopped_at": x,
             "services": services.get(i, [])} for i, h, p, v, s, b, x in rows]


def where_in(conn: Any, select: str, column: str, keys: Sequence[Any]) -> list[Any]:
    """The rows of ``select`` (``SELECT … FROM t``) whose ``column`` is one of ``keys`` — the
    query behind a :meth:`Store.lookup`."""
    return list(conn.execute(f"{select} WHERE {column} IN ({','.join('?' * len(keys))})", list(keys)).fetchall())
