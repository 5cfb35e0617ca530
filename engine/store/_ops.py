"""Write operations: every job-model transition, run by the single writer inside a group commit.

Each function takes a :class:`~engine.store._writer.Tx` first and emits one event per state
change (``job.state`` with ``from``/``to``), so the event log is a complete history. Operator
actions also append an audit record. Functions raise :mod:`engine.errors` store errors for
requests the job's state does not allow; the writer rolls back just that op.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import msgspec

from engine.errors import IdempotencyConflict, InvalidTransition, JobNotFound, StoreError
from engine.schema import JOB_STATES, JobError, JobFilter, JobState, SubmitResult
from engine.schema.structs import difficulty
from engine.store._queries import filter_sql
from engine.store._writer import Tx

_enc = msgspec.json.encode
_dec = msgspec.json.decode

RETRYABLE_STATES = ("failed", "cancelled", "expired")
CANCELLABLE_STATES = ("queued", "waiting", "retrying", "running")
_PENDING = ("queued", "waiting", "retrying")


def _jsonable(obj: Any) -> Any:
    """Fallback for values handlers report that JSON has no type for (numpy scalars, arrays…)."""
    for method in ("item", "tolist"):
        convert = getattr(obj, method, None)
        if callable(convert):
            try:
                return convert()
            except (TypeError, ValueError):
                pass
    return str(obj)


def plain(value: Any) -> Any:
    """``value`` as plain JSON types, whatever a handler put in it."""
    return msgspec.to_builtins(value, enc_hook=_jsonable)


def _json(value: Any) -> str | None:
    return None if value is None else _enc(value).decode()


@dataclass(slots=True)
class NewJob:
    """A validated job ready to insert."""

    id: str
    kind: str
    pool: str
    priority: int
    payload: str  # canonical JSON of the validated payload
    max_attempts: int
    timeout: float
    not_before: float | None = None
    deadline: float | None = None
    idempotency_key: str | None = None
    backoff: float | None = None


@dataclass(slots=True)
class AttemptRef:
    """One attempt of one job: what fences its outcome (with the lease owner)."""

    id: str
    pool: str
    attempt: int
    max_attempts: int
    deadline: float | None
    started_at: float


@dataclass(slots=True)
class Claimed(AttemptRef):
    """A job a worker holds: everything needed to run it and to fence its outcome."""

    kind: str
    priority: int
    payload: dict[str, Any]
    timeout: float
    backoff: float | None = None


OutcomeName = Literal["completed", "failed", "cancelled", "interrupted", "expired", "deferred"]


@dataclass(slots=True)
class Outcome:
    """How an attempt ended, as the scheduler records it (see :func:`finish`)."""

    job: AttemptRef
    owner: str
    outcome: OutcomeName
    worker: str
    result: Any = None
    error: JobError | None = None
    retry_delay: float | None = None
    progress: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None


# --- intake ---------------------------------------------------------------------------------


def submit(tx: Tx, jobs: list[NewJob], actor: str, reason: str = "") -> list[SubmitResult]:
    conn, now = tx.conn, tx.now
    results: list[SubmitResult] = []
    rows = []
    in_batch: dict[str, NewJob] = {}
    for job in jobs:
        key = job.idempotency_key
        if key is not None:
            earlier = in_batch.get(key)
            if earlier is not None:
                existing: tuple[str, str, str, str] | None = (earlier.id, "queued", earlier.kind, earlier.payload)
            else:
                existing = conn.execute(
                    "SELECT id, state, kind, payload FROM jobs WHERE idempotency_key = ?", (key,)
                ).fetchone()
            if existing is not None:
                if existing[2] != job.kind or existing[3] != job.payload:
                    raise IdempotencyConflict(key, existing[0])
                state = _state(existing[1]) if earlier is None else _initial_state(earlier, now)
                results.append(SubmitResult(id=existing[0], state=state, created=False))
                continue
            in_batch[key] = job
        state = _initial_state(job, now)
        rows.append(
            (job.id, job.kind, job.pool, state, job.priority, job.payload, job.max_attempts, job.timeout,
             job.not_before, job.deadline, key, now, now, job.backoff)
        )
        results.append(SubmitResult(id=job.id, state=state, created=True))
        tx.emit("job.submitted", job.id, job.pool, kind=job.kind, state=state, priority=job.priority)
    if rows:
        conn.executemany(
            "INSERT INTO jobs (id, kind, pool, state, priority, payload, max_attempts, timeout, not_before,"
            " deadline, idempotency_key, created_at, updated_at, backoff) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        kinds = sorted({r[1] for r in rows})
        target = rows[0][0] if len(rows) == 1 else f"{len(rows)} jobs"
        tx.audit(actor, "submit", target, reason, {"count": len(rows), "kinds": kinds})
    return results


def _state(value: str) -> JobState:
    """A state read from the database, checked against the job model."""
    if value not in JOB_STATES:
        raise StoreError(f"the database holds an unknown job state {value!r}")
    return cast(JobState, value)


def _initial_state(job: NewJob, now: float) -> JobState:
    return "waiting" if job.not_before is not None and job.not_before > now else "queued"


# --- workers ----------------------------------------------------------------------------------


def claim(tx: Tx, pool: str, limit: int, owner: str, lease_ttl: float) -> list[Claimed]:
    """Take up to ``limit`` queued jobs of ``pool``: highest priority first, FIFO within one. On
    PostgreSQL rows another engine is claiming are skipped, not waited for."""
    now = tx.now
    rows = tx.conn.execute(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?,"
        " started_at = ?, updated_at = ? WHERE seq IN (SELECT seq FROM jobs WHERE state = 'queued'"
        " AND pool = ? ORDER BY priority DESC, seq LIMIT ? /*pg: FOR UPDATE SKIP LOCKED*/)"
        " RETURNING seq, id, kind, priority, payload, attempts, max_attempts, timeout, deadline, backoff",
        (owner, now + lease_ttl, now, now, pool, limit),
    ).fetchall()
    rows.sort(key=lambda r: (-r[3], r[0]))
    out = []
    for _seq, id_, kind, priority, payload, attempt, max_attempts, timeout, deadline, backoff in rows:
        out.append(Claimed(id=id_, pool=pool, attempt=attempt, max_attempts=max_attempts, deadline=deadline,
                           started_at=now, kind=kind, priority=priority, payload=_dec(payload), timeout=timeout,
                           backoff=backoff))
        tx.emit("job.state", id_, pool, **{"from": "queued", "to": "running", "attempt": attempt})
    return out


def finish(
    tx: Tx,
    job: AttemptRef,
    owner: str,
    outcome: OutcomeName,
    *,
    worker: str,
    result: Any = None,
    error: JobError | None = None,
    retry_delay: float | None = None,
    progress: dict[str, Any] | None = None,
    gate: dict[str, Any] | None = None,
) -> str | None:
    """Record how an attempt ended and move the job on. Returns the new state, or ``None`` when
    the attempt no longer owns the job (lease lost, force-cancelled): its outcome is discarded.

    ``outcome``: ``completed``; ``failed`` (retried after ``retry_delay`` if the error is
    retryable and attempts remain, else failed); ``cancelled``; ``interrupted`` (e-stop or
    shutdown: back to the queue, the attempt not counted); ``expired`` (deadline passed);
    ``deferred`` (a chain gate is not met: ``waiting`` on ``gate``, the attempt not counted).
    """
    return finish_many(tx, [Outcome(job, owner, outcome, worker, result, error, retry_delay, progress, gate)])[0]


_FINISH_UPDATE = ("UPDATE jobs SET state = ?, attempts = ?, updated_at = ?, finished_at = ?, not_before = ?,"
                  " result = ?, error = ?, progress = coalesce(?, progress), gate = ?, lease_owner = NULL,"
                  " lease_until = NULL WHERE id = ?")
_FINISH_ATTEMPT = ("INSERT INTO attempts (job_id, n, started_at, finished_at, outcome, worker, error)"
                   " VALUES (?,?,?,?,?,?,?)")


def finish_many(tx: Tx, outcomes: list[Outcome]) -> list[str | None]:
    """:func:`finish` for many attempts in one op: one read of their rows, then their updates and
    attempt records each as one batch (a few round trips to PostgreSQL, not three per job).
    Returns each new state (or ``None``)."""
    conn, now = tx.conn, tx.now
    ids = [o.job.id for o in outcomes]
    if len(set(ids)) != len(ids):  # one job twice in a batch: each must see the other's change
        return [finish_many(tx, [o])[0] for o in outcomes]
    rows: dict[str, tuple[str, int, str | None]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for id_, state, attempts, lease_owner in conn.execute(
                f"SELECT id, state, attempts, lease_owner FROM jobs WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            rows[id_] = (state, attempts, lease_owner)
    updates: list[tuple[Any, ...]] = []
    attempts_rows: list[tuple[Any, ...]] = []
    states: list[str | None] = []
    for o in outcomes:
        job, outcome, error = o.job, o.outcome, o.error
        row = rows.get(job.id)
        if row is None or row[0] not in ("running", "cancelling") or row[1] != job.attempt or row[2] != o.owner:
            states.append(None)
            continue
        old_state = row[0]
        attempts, not_before, finished_at = job.attempt, None, cast(float | None, now)
        if outcome == "completed":
            state = "completed"
        elif outcome == "failed":
            assert error is not None
            retry_at = None if o.retry_delay is None else now + o.retry_delay
            if (error.retryable and retry_at is not None and job.attempt < job.max_attempts
                    and (job.deadline is None or retry_at < job.deadline) and old_state != "cancelling"):
                state, not_before, finished_at = "retrying", retry_at, None
            else:
                state = "cancelled" if old_state == "cancelling" else "failed"
        elif outcome == "interrupted":
            state, attempts, finished_at = "queued", job.attempt - 1, None
            if old_state == "cancelling":
                state, attempts, finished_at = "cancelled", job.attempt, now
        elif outcome == "deferred" and old_state == "running":
            state, attempts, finished_at = "waiting", job.attempt - 1, None
        elif outcome in ("cancelled", "expired", "deferred"):
            state = "cancelled" if outcome == "deferred" else outcome
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown outcome {outcome!r}")
        updates.append((state, attempts, now, finished_at, not_before, _json(plain(o.result)), _json(error),
                        _json(plain(o.progress)), _json(o.gate) if state == "waiting" else None, job.id))
        attempts_rows.append((job.id, job.attempt, job.started_at, now, outcome, o.worker, _json(error)))
        data: dict[str, Any] = {"from": old_state, "to": state, "attempt": job.attempt}
        if error is not None:
            data["error"] = {"code": error.code, "message": error.message, "retryable": error.retryable}
        if not_before is not None:
            data["not_before"] = not_before
        tx.emit("job.state", job.id, job.pool, **data)
        states.append(state)
    if updates:
        conn.executemany(_FINISH_UPDATE, updates)
        conn.executemany(_FINISH_ATTEMPT, attempts_rows)
    return states


def advance_gates(tx: Tx, chain: str, height: int) -> list[str]:
    """``chain`` is at ``height``: queue the waiting jobs whose gate it meets, refresh the
    ``waiting_info`` of the others. Returns the ids queued."""
    ready = []
    for id_, pool, gate_json, progress_json in tx.conn.execute(
        "SELECT id, pool, gate, progress FROM jobs WHERE state = 'waiting' AND gate IS NOT NULL"
    ).fetchall():
        gate = _dec(gate_json)
        if gate.get("chain") != chain:
            continue
        info = {"chain": chain, "height": height, "current_age": height - gate["start"],
                "target_age": gate["height"] - gate["start"], "blocks_remaining": max(0, gate["height"] - height)}
        if gate.get("range"):
            info["difficulty_now"] = difficulty(height - gate["start"], int(gate["range"]))
        old = _dec(progress_json) if progress_json else {}
        progress = {**old, "waiting_info": info}
        if height < gate["height"] and old.get("waiting_info") == info:
            continue  # nothing new (the timer re-checks every gate each tick)
        if height >= gate["height"]:
            tx.conn.execute("UPDATE jobs SET state = 'queued', gate = NULL, progress = ?, updated_at = ? WHERE id = ?",
                            (_json(progress), tx.now, id_))
            tx.emit("job.state", id_, pool, **{"from": "waiting", "to": "queued", "height": height})
            ready.append(id_)
        else:
            tx.conn.execute("UPDATE jobs SET progress = ? WHERE id = ?", (_json(progress), id_))
            tx.emit("job.progress", id_, pool, waiting_info=info)
    return ready


def renew_leases(tx: Tx, owner: str, lease_ttl: float) -> int:
    """Extend the lease of every job ``owner`` runs."""
    return tx.conn.execute(
        "UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND state IN ('running', 'cancelling')",
        (tx.now + lease_ttl, owner),
    ).rowcount


def reap_leases(tx: Tx, live: set[str], retry_delay: float) -> list[str]:
    """Jobs whose lease ran out and that no live worker of ours holds go back to the queue
    (counted as a failed attempt, ``lease_expired``) or, if they were being cancelled, end."""
    rows = tx.conn.execute(
        "SELECT id, pool, state, attempts, max_attempts, started_at, lease_owner FROM jobs"
        " WHERE state IN ('running', 'cancelling') AND lease_until < ?",
        (tx.now,),
    ).fetchall()
    expired = [
        Outcome(AttemptRef(id_, pool, attempts, max_attempts, None, started_at or tx.now), lease_owner, "failed",
                lease_owner or "?", error=JobError(code="lease_expired", retryable=True,
                                                   message=f"worker {lease_owner} stopped renewing its lease"),
                retry_delay=retry_delay)
        for id_, pool, _state, attempts, max_attempts, started_at, lease_owner in rows if id_ not in live]
    finish_many(tx, expired)
    return [o.job.id for o in expired]


def recover(tx: Tx, owner: str | None = None, stale_after: float | None = None) -> int:
    """At start, attempts left running go back to the queue without counting the lost attempt;
    cancelling jobs end cancelled. Alone on the store (SQLite: we hold the data-dir lock) that is
    every one; beside other engines (``owner``, ``stale_after``: PostgreSQL) only those whose
    engine stopped heart-beating ``stale_after`` seconds ago, or never registered."""
    where = ""
    params: tuple[Any, ...] = ()
    if owner is not None and stale_after is not None:
        where = (" AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT id FROM engines WHERE id <> ?"
                 " AND stopped_at IS NULL AND heartbeat_at >= ?))")
        params = (owner, tx.now - stale_after)
    rows = tx.conn.execute(
        "SELECT id, pool, state, attempts, max_attempts, started_at, lease_owner FROM jobs"
        f" WHERE state IN ('running', 'cancelling'){where}", params
    ).fetchall()
    stopped = JobError(code="engine_stopped", message="the engine stopped while this attempt ran")
    finish_many(tx, [Outcome(AttemptRef(id_, pool, attempts, max_attempts, None, started_at or tx.now), lease_owner,
                             "interrupted", lease_owner or "?", error=stopped)
                     for id_, pool, _state, attempts, max_attempts, started_at, lease_owner in rows])
    if rows:
        tx.audit("engine", "recover", f"{len(rows)} jobs", "left running by an engine process that stopped")
    return len(rows)


def register_engine(tx: Tx, owner: str, host: str, pid: int, version: str, *, alone: bool = False) -> None:
    """This engine shares the store from now (and forgets engines silent for a day). ``alone``
    (SQLite: we hold the data-dir lock): every other engine has stopped, whatever it recorded."""
    if alone:
        tx.conn.execute("UPDATE engines SET stopped_at = heartbeat_at WHERE stopped_at IS NULL")
    tx.conn.execute("INSERT INTO engines (id, host, pid, version, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at,"
                    " heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, version = excluded.version",
                    (owner, host, pid, version, tx.now, tx.now))
    tx.conn.execute("DELETE FROM engines WHERE heartbeat_at < ?", (tx.now - 86400,))
    tx.emit("engine.state", None, None, id=owner, host=host, pid=pid, state="started")


def heartbeat(tx: Tx, owner: str) -> None:
    tx.conn.execute("UPDATE engines SET heartbeat_at = ? WHERE id = ?", (tx.now, owner))


def take_lease(tx: Tx, name: str, owner: str, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; False while another owner holds it."""
    row = tx.conn.execute(
        "INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
        " SET owner = excluded.owner, until = excluded.until WHERE leases.owner = excluded.owner OR leases.until < ?"
        " RETURNING owner", (name, owner, tx.now + ttl, tx.now)).fetchone()
    return row is not None


def unregister_engine(tx: Tx, owner: str) -> None:
    """A graceful stop: the others need not wait for the heartbeat to go stale."""
    tx.conn.execute("UPDATE engines SET stopped_at = ? WHERE id = ?", (tx.now, owner))
    tx.conn.execute("DELETE FROM leases WHERE owner = ?", (owner,))
    tx.emit("engine.state", None, None, id=owner, state="stopped")


def save_progress(tx: Tx, updates: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Persist the latest progress of running jobs: ``{job_id: (pool, progress)}``."""
    updates = {id_: (pool, plain(p)) for id_, (pool, p) in updates.items()}
    tx.conn.executemany(
        "UPDATE jobs SET progress = ? WHERE id = ? AND state IN ('running', 'cancelling')",
        [(_json(p), id_) for id_, (_pool, p) in updates.items()],
    )
    for id_, (pool, progress) in updates.items():
        tx.emit("job.progress", id_, pool, **progress)


# --- timers -----------------------------------------------------------------------------------


def tick(tx: Tx) -> float | None:
    """Promote waiting/retrying jobs whose time has come, expire pending jobs past their
    deadline; return when the next such thing is due (or ``None``)."""
    conn, now = tx.conn, tx.now
    for id_, pool, state in conn.execute(
        "SELECT id, pool, state FROM jobs WHERE state IN ('waiting', 'retrying') AND not_before <= ?", (now,)
    ).fetchall():
        tx.emit("job.state", id_, pool, **{"from": state, "to": "queued"})
    conn.execute(
        "UPDATE jobs SET state = 'queued', updated_at = ? WHERE state IN ('waiting', 'retrying') AND not_before <= ?",
        (now, now),
    )
    expired = conn.execute(
        "SELECT id, pool, state FROM jobs WHERE deadline <= ? AND state IN ('queued', 'waiting', 'retrying')", (now,)
    ).fetchall()
    error = _json(JobError(code="deadline", message="the job's deadline passed before it completed"))
    for id_, pool, state in expired:
        conn.execute(
            "UPDATE jobs SET state = 'expired', updated_at = ?, finished_at = ?, error = ? WHERE id = ?",
            (now, now, error, id_),
        )
        tx.emit("job.state", id_, pool, **{"from": state, "to": "expired"})
    next_times = conn.execute(
        "SELECT (SELECT min(not_before) FROM jobs WHERE state IN ('waiting', 'retrying')),"
        " (SELECT min(deadline) FROM jobs WHERE deadline IS NOT NULL AND state IN ('queued', 'waiting', 'retrying'))"
    ).fetchone()
    due = [t for t in next_times if t is not None]
    return min(due) if due else None


def prune_events(tx: Tx, keep: int, last_seq: int) -> int:
    return tx.conn.execute("DELETE FROM events WHERE seq <= ?", (last_seq - keep,)).rowcount


def prune_jobs(tx: Tx, retention: Mapping[str, float], limit: int = 5000) -> int:
    """Delete terminal jobs (and their attempts) that ended longer ago than their state's
    retention (seconds; 0 keeps them), at most ``limit`` per call so the writer is never held
    long. Audit records stay; a deleted job's idempotency key is free again. Only jobs submitted
    before the oldest cut-off are looked at: ``seq`` follows submission time, so a binary search
    on it bounds the scan to the candidates."""
    kept = [keep for keep in retention.values() if keep > 0]
    if not kept:
        return 0
    last_seq = _last_submitted_before(tx.conn, tx.now - min(kept))
    if last_seq is None:
        return 0
    doomed: list[str] = []
    for state, keep in retention.items():
        if keep <= 0 or len(doomed) >= limit:
            continue
        doomed += [r[0] for r in tx.conn.execute(
            "SELECT id FROM jobs WHERE state = ? AND seq <= ? AND coalesce(finished_at, updated_at) < ?"
            " ORDER BY seq LIMIT ?", (state, last_seq, tx.now - keep, limit - len(doomed)))]
    for at in range(0, len(doomed), 500):
        chunk = doomed[at:at + 500]
        marks = ",".join("?" * len(chunk))
        tx.conn.execute(f"DELETE FROM attempts WHERE job_id IN ({marks})", chunk)
        tx.conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", chunk)
    return len(doomed)


def _last_submitted_before(conn: sqlite3.Connection, cutoff: float) -> int | None:
    """The highest ``seq`` of a job created before ``cutoff`` (binary search: created_at grows with seq)."""
    lo, hi = conn.execute("SELECT min(seq), max(seq) FROM jobs").fetchone()
    if lo is None:
        return None
    found = None
    while lo <= hi:
        mid = (lo + hi) // 2
        row = conn.execute("SELECT seq, created_at FROM jobs WHERE seq >= ? ORDER BY seq LIMIT 1", (mid,)).fetchone()
        if row is None:
            hi = mid - 1
        elif row[1] < cutoff:
            found, lo = row[0], row[0] + 1
        else:
            hi = mid - 1
    return found


# --- operator actions -------------------------------------------------------------------------


def _job_state(tx: Tx, job_id: str) -> tuple[JobState, str]:
    row = tx.conn.execute("SELECT state, pool FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(job_id)
    return _state(row[0]), row[1]


def cancel(tx: Tx, job_id: str, actor: str, reason: str = "", *, audit: bool = True) -> JobState:
    """Cancel a job. Pending jobs end at once; a running job becomes ``cancelling`` and its
    worker is signalled by the caller. Returns the new state."""
    state, pool = _job_state(tx, job_id)
    new: JobState
    if state in _PENDING:
        new = "cancelled"
        error = JobError(code="cancelled", message=f"cancelled by {actor}" + (f": {reason}" if reason else ""))
        tx.conn.execute(
            "UPDATE jobs SET state = 'cancelled', updated_at = ?, finished_at = ?, error = ? WHERE id = ?",
            (tx.now, tx.now, _json(error), job_id),
        )
    elif state == "running":
        new = "cancelling"
        tx.conn.execute("UPDATE jobs SET state = 'cancelling', updated_at = ? WHERE id = ?", (tx.now, job_id))
    elif state == "cancelling":
        return state
    else:
        raise InvalidTransition(job_id, state, "cancel")
    tx.emit("job.state", job_id, pool, **{"from": state, "to": new, "actor": actor})
    if audit:
        tx.audit(actor, "cancel", job_id, reason)
    return new


def force_cancelled(tx: Tx, job_id: str, reason: str) -> bool:
    """A cancelling job whose worker did not stop within the grace period ends cancelled."""
    row = tx.conn.execute(
        "SELECT pool, attempts, started_at, lease_owner FROM jobs WHERE id = ? AND state = 'cancelling'", (job_id,)
    ).fetchone()
    if row is None:
        return False
    pool, attempts, started_at, owner = row
    error = JobError(code="cancelled", message=reason)
    tx.conn.execute(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?, finished_at = ?, error = ?, lease_owner = NULL,"
        " lease_until = NULL WHERE id = ?",
        (tx.now, tx.now, _json(error), job_id),
    )
    tx.conn.execute(
        "INSERT INTO attempts (job_id, n, started_at, finished_at, outcome, worker, error) VALUES (?,?,?,?,?,?,?)",
        (job_id, attempts, started_at or tx.now, tx.now, "cancelled", owner or "?", _json(error)),
    )
    tx.emit("job.state", job_id, pool, **{"from": "cancelling", "to": "cancelled"})
    return True


def retry(tx: Tx, job_id: str, actor: str, reason: str = "", deadline: float | None = None, *,
          audit: bool = True) -> JobState:
    """Put a failed, cancelled or expired job back with a fresh attempt budget."""
    state, pool = _job_state(tx, job_id)
    if state not in RETRYABLE_STATES:
        raise InvalidTransition(job_id, state, "retry")
    new_deadline = ("?", deadline) if deadline is not None else ("CASE WHEN deadline <= ? THEN NULL ELSE deadline END",
                                                                  tx.now)  # a passed deadline is cleared
    tx.conn.execute(
        "UPDATE jobs SET state = 'queued', attempts = 0, updated_at = ?, finished_at = NULL, not_before = NULL,"
        f" result = NULL, error = NULL, progress = NULL, deadline = {new_deadline[0]} WHERE id = ?",
        (tx.now, new_deadline[1], job_id),
    )
    tx.emit("job.state", job_id, pool, **{"from": state, "to": "queued", "actor": actor})
    if audit:
        tx.audit(actor, "retry", job_id, reason)
    return "queued"


def bulk(
    tx: Tx, action: str, flt: JobFilter, dry_run: bool, actor: str, reason: str
) -> tuple[int, int, list[str]]:
    """Retry or cancel every job the filter selects. Returns (matched, changed, ids that are now
    ``cancelling`` and whose workers must be signalled)."""
    allowed = RETRYABLE_STATES if action == "retry" else CANCELLABLE_STATES
    states = [s for s in (flt.state or allowed) if s in allowed]
    if not states:
        return 0, 0, []
    where, params = filter_sql(msgspec.structs.replace(flt, state=states))
    ids = [r[0] for r in tx.conn.execute(f"SELECT id FROM jobs {where} ORDER BY seq", params).fetchall()]
    if dry_run or not ids:
        return len(ids), 0, []
    signal = []
    for job_id in ids:
        if action == "retry":
            retry(tx, job_id, actor, reason, audit=False)
        elif cancel(tx, job_id, actor, reason, audit=False) == "cancelling":
            signal.append(job_id)
    tx.audit(actor, f"bulk-{action}", f"{len(ids)} jobs", reason, {"filter": msgspec.to_builtins(flt), "count": len(ids)})
    return len(ids), len(ids), signal


def set_control(tx: Tx, key: str, value: dict[str, Any], event: str, actor: str | None, action: str, target: str,
                reason: str, origin: str | None = None) -> None:
    """Persist a switch (e-stop, pool state, a chain's height) with its event, and its audit
    record when an operator (``actor``) made the change. ``origin``: the engine that made it (its
    event says so: the other engines on the store apply it too)."""
    tx.conn.execute("INSERT INTO control (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, _json(value)))
    if actor is not None:
        tx.audit(actor, action, target, reason)
    tx.emit(event, None, value.get("pool"), **value, **({"engine": origin} if origin else {}))


def record_height(tx: Tx, value: dict[str, Any], actor: str | None, reason: str = "") -> list[str]:
    """A chain's new height (``value``: chain, height, since, source, and what the watcher adds):
    persist it, publish ``chain.head``, audit it if an operator set it, and move on the jobs
    waiting for it. Returns the ids queued."""
    chain = value["chain"]
    set_control(tx, f"height:{chain}", value, "chain.head", actor, "set-height", f"chain:{chain}", reason)
    return advance_gates(tx, chain, value["height"])


def audit_only(tx: Tx, actor: str, action: str, target: str, reason: str = "", details: dict[str, Any] | None = None) -> int:
    return tx.audit(actor, action, target, reason, details)


def emit_only(tx: Tx, type_: str, job_id: str | None = None, pool: str | None = None, **data: Any) -> None:
    """An event that changes no table (e.g. ``chain.reorg``)."""
    tx.emit(type_, job_id, pool, **data)
