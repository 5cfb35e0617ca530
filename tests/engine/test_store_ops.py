"""Job-model transitions driven with an explicit clock (``Tx(conn, now)``) — the store contract,
on both backends: a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import DatabaseUnusable, IdempotencyConflict, InvalidTransition, JobNotFound
from engine.schema import JobError, JobFilter
from engine.store import SCHEMA_VERSION, NewJob, Store, Tx, _pg, ops, queries
from engine.store._db import APPLICATION_ID, prepare

OWNER = "host:1"


@pytest.fixture
def conn(store_target: Path | str) -> Iterator[sqlite3.Connection]:
    opened = _pg.prepare(store_target) if isinstance(store_target, str) else prepare(store_target)
    yield opened  # type: ignore[misc]  # PgConn: the sqlite3 connection's execute
    opened.close()


def tx_at(conn: sqlite3.Connection, now: float) -> Tx:
    conn.execute("BEGIN")
    return Tx(conn, now)


def commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def run(conn: sqlite3.Connection, now: float, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    tx = tx_at(conn, now)
    try:
        result = fn(tx, *args, **kwargs)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    commit(conn)
    return result, tx.events


def new(i: int, priority: int = 5, **kw) -> NewJob:  # type: ignore[no-untyped-def]
    return NewJob(id=f"noop_{i:04d}", kind="noop", pool="default", priority=priority, payload="{}",
                  max_attempts=kw.pop("max_attempts", 3), timeout=kw.pop("timeout", 60), **kw)


def state_of(conn: sqlite3.Connection, job_id: str) -> tuple[str, int]:
    return conn.execute("SELECT state, attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()  # type: ignore[no-any-return]


def test_claim_takes_highest_priority_first_and_fifo_within_a_priority(conn: sqlite3.Connection) -> None:
    jobs = [new(0, 1), new(1, 9), new(2, 5), new(3, 9), new(4, 5)]
    run(conn, 100, ops.submit, jobs, "tester")
    claimed, events = run(conn, 101, ops.claim, "default", 10, OWNER, 30)
    assert [c.id for c in claimed] == ["noop_0001", "noop_0003", "noop_0002", "noop_0004", "noop_0000"]
    assert all(c.attempt == 1 for c in claimed)
    assert [e[0] for e in events] == ["job.state"] * 5
    limited, _ = run(conn, 102, ops.claim, "default", 10, OWNER, 30)
    assert limited == []


def test_claim_respects_the_limit_and_pool(conn: sqlite3.Connection) -> None:
    other = NewJob(id="x", kind="noop", pool="other", priority=9, payload="{}", max_attempts=1, timeout=1)
    run(conn, 100, ops.submit, [new(i) for i in range(5)] + [other], "t")
    claimed, _ = run(conn, 101, ops.claim, "default", 2, OWNER, 30)
    assert [c.id for c in claimed] == ["noop_0000", "noop_0001"]


def test_delayed_job_waits_until_its_time(conn: sqlite3.Connection) -> None:
    results, _ = run(conn, 100, ops.submit, [new(0, not_before=150.0)], "t")
    assert results[0].state == "waiting"
    due, _ = run(conn, 120, ops.tick)
    assert due == 150.0
    assert state_of(conn, "noop_0000")[0] == "waiting"
    run(conn, 150, ops.tick)
    assert state_of(conn, "noop_0000")[0] == "queued"


def test_idempotency_key_returns_the_same_job(conn: sqlite3.Connection) -> None:
    first, _ = run(conn, 100, ops.submit, [new(0, idempotency_key="wf-1:7")], "t")
    again, events = run(conn, 101, ops.submit, [new(1, idempotency_key="wf-1:7")], "t")
    assert first[0].created and not again[0].created
    assert again[0].id == "noop_0000"
    assert events == []  # nothing new happened
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1
    # the same key twice in one batch is one job as well
    batch, _ = run(conn, 102, ops.submit, [new(2, idempotency_key="k2"), new(3, idempotency_key="k2")], "t")
    assert [r.id for r in batch] == ["noop_0002", "noop_0002"] and [r.created for r in batch] == [True, False]


def test_idempotency_key_with_a_different_payload_is_a_conflict(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0, idempotency_key="k")], "t")
    other = new(1, idempotency_key="k")
    other.payload = '{"note":"x"}'
    with pytest.raises(IdempotencyConflict):
        run(conn, 101, ops.submit, [other], "t")


def test_retryable_failure_backs_off_then_fails_when_attempts_run_out(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0, max_attempts=2)], "t")
    err = JobError(code="boom", message="boom", retryable=True)
    (c,), _ = run(conn, 100, ops.claim, "default", 1, OWNER, 30)
    state, events = run(conn, 101, ops.finish, c, OWNER, "failed", worker="w", error=err, retry_delay=4.0)
    assert state == "retrying"
    assert events[-1][3]["not_before"] == 105.0
    run(conn, 104.9, ops.tick)
    assert state_of(conn, c.id) == ("retrying", 1)
    run(conn, 105, ops.tick)
    (c2,), _ = run(conn, 105, ops.claim, "default", 1, OWNER, 30)
    assert c2.attempt == 2
    state, _ = run(conn, 106, ops.finish, c2, OWNER, "failed", worker="w", error=err, retry_delay=8.0)
    assert state == "failed"
    history = queries.get_job(conn, c.id).history
    assert [(a.n, a.outcome) for a in history or []] == [(1, "failed"), (2, "failed")]


def test_non_retryable_failure_fails_at_once(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0, max_attempts=5)], "t")
    (c,), _ = run(conn, 100, ops.claim, "default", 1, OWNER, 30)
    err = JobError(code="revert", message="execution reverted", retryable=False)
    state, _ = run(conn, 101, ops.finish, c, OWNER, "failed", worker="w", error=err, retry_delay=1.0)
    assert state == "failed"
    assert queries.get_job(conn, c.id).error == err


def test_an_expired_lease_returns_the_job_and_fences_the_old_worker(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0)], "t")
    (stale,), _ = run(conn, 100, ops.claim, "default", 1, "worker-a", 5)
    reaped, _ = run(conn, 104, ops.reap_leases, set(), 1.0)
    assert reaped == []  # lease still valid
    reaped, _ = run(conn, 106, ops.reap_leases, set(), 1.0)
    assert reaped == [stale.id]
    assert state_of(conn, stale.id)[0] == "retrying"
    run(conn, 200, ops.tick)
    (fresh,), _ = run(conn, 200, ops.claim, "default", 1, "worker-b", 5)
    assert fresh.id == stale.id and fresh.attempt == 2
    # the hung worker wakes up and reports: its outcome is discarded
    late, events = run(conn, 201, ops.finish, stale, "worker-a", "completed", worker="a")
    assert late is None and events == []
    done, _ = run(conn, 202, ops.finish, fresh, "worker-b", "completed", worker="b", result={"ok": 1})
    assert done == "completed"
    job = queries.get_job(conn, stale.id)
    assert [a.outcome for a in job.history or []] == ["failed", "completed"]
    assert job.history[0].error.code == "lease_expired"  # type: ignore[index,union-attr]


def test_live_jobs_are_not_reaped_and_renewal_extends_leases(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0)], "t")
    (c,), _ = run(conn, 100, ops.claim, "default", 1, OWNER, 5)
    reaped, _ = run(conn, 110, ops.reap_leases, {c.id}, 1.0)
    assert reaped == []
    renewed, _ = run(conn, 110, ops.renew_leases, OWNER, 5)
    assert renewed == 1
    assert conn.execute("SELECT lease_until FROM jobs").fetchone()[0] == 115


def test_a_service_lease_has_one_holder_until_it_lapses_or_its_engine_unregisters(conn: sqlite3.Connection) -> None:
    assert run(conn, 100, ops.take_lease, "chain.head:x", "engine-a", 10)[0]
    assert not run(conn, 105, ops.take_lease, "chain.head:x", "engine-b", 10)[0]  # a holds it
    assert run(conn, 108, ops.take_lease, "chain.head:x", "engine-a", 10)[0]  # renewed to 118
    assert not run(conn, 117, ops.take_lease, "chain.head:x", "engine-b", 10)[0]
    assert run(conn, 119, ops.take_lease, "chain.head:x", "engine-b", 10)[0]  # lapsed: b takes it
    assert not run(conn, 120, ops.take_lease, "chain.head:x", "engine-a", 10)[0]
    assert run(conn, 120, ops.take_lease, "kale.farm:x", "engine-b", 10)[0]
    assert [e["services"] for e in queries.engines(conn, 120)] == []  # no engine registered: nothing listed
    run(conn, 120, ops.register_engine, "engine-b", "host", 1, "9")
    assert queries.engines(conn, 121)[0]["services"] == ["chain.head:x", "kale.farm:x"]
    run(conn, 121, ops.unregister_engine, "engine-b")  # a graceful stop hands its services over at once
    assert run(conn, 122, ops.take_lease, "chain.head:x", "engine-a", 10)[0]


def test_recover_puts_running_jobs_back_without_counting_the_attempt(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0), new(1)], "t")
    run(conn, 100, ops.claim, "default", 2, "dead-engine", 30)
    run(conn, 100, ops.cancel, "noop_0001", "alice", "stop it")
    count, _ = run(conn, 300, ops.recover)
    assert count == 2
    assert state_of(conn, "noop_0000") == ("queued", 0)
    assert state_of(conn, "noop_0001")[0] == "cancelled"


def test_cancel_transitions(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0), new(1)], "t")
    (c,), _ = run(conn, 100, ops.claim, "default", 1, OWNER, 30)
    assert run(conn, 101, ops.cancel, "noop_0001", "alice", "not needed")[0] == "cancelled"
    assert run(conn, 101, ops.cancel, c.id, "alice", "")[0] == "cancelling"
    assert run(conn, 101, ops.cancel, c.id, "alice", "")[0] == "cancelling"  # idempotent
    assert run(conn, 102, ops.finish, c, OWNER, "cancelled", worker="w")[0] == "cancelled"
    with pytest.raises(InvalidTransition):
        run(conn, 103, ops.cancel, c.id, "alice", "")
    with pytest.raises(JobNotFound):
        run(conn, 103, ops.cancel, "nope", "alice", "")
    audit = queries.job_audit(conn, "noop_0001")
    assert [(r.actor, r.action, r.reason) for r in audit] == [("alice", "cancel", "not needed")]


def test_force_cancel_ends_a_job_whose_worker_does_not_stop(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0)], "t")
    (c,), _ = run(conn, 100, ops.claim, "default", 1, OWNER, 30)
    run(conn, 101, ops.cancel, c.id, "alice", "")
    assert run(conn, 111, ops.force_cancelled, c.id, "did not stop")[0] is True
    assert state_of(conn, c.id)[0] == "cancelled"
    assert run(conn, 112, ops.finish, c, OWNER, "completed", worker="w")[0] is None


def test_manual_retry_gives_a_fresh_budget_and_refuses_active_jobs(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0, max_attempts=1), new(1)], "t")
    c0, c1 = run(conn, 100, ops.claim, "default", 2, OWNER, 30)[0]
    run(conn, 101, ops.finish, c0, OWNER, "failed", worker="w", error=JobError(code="x", message="x"))
    with pytest.raises(InvalidTransition):
        run(conn, 102, ops.retry, c1.id, "bob", "")  # running
    assert run(conn, 102, ops.retry, c0.id, "bob", "fixed the RPC")[0] == "queued"
    assert state_of(conn, c0.id) == ("queued", 0)
    assert queries.get_job(conn, c0.id).error is None
    assert [r.action for r in queries.job_audit(conn, c0.id)] == ["retry"]


def test_deadline_expires_pending_jobs_and_retry_clears_a_passed_deadline(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(0, deadline=110.0, not_before=200.0)], "t")
    due, _ = run(conn, 105, ops.tick)
    assert due == 110.0
    run(conn, 110, ops.tick)
    assert state_of(conn, "noop_0000")[0] == "expired"
    run(conn, 120, ops.retry, "noop_0000", "bob", "")
    assert queries.get_job(conn, "noop_0000").deadline is None


def test_bulk_counts_then_applies_with_one_audit_record(conn: sqlite3.Connection) -> None:
    run(conn, 100, ops.submit, [new(i) for i in range(6)], "t")
    running, _ = run(conn, 100, ops.claim, "default", 2, OWNER, 30)
    flt = JobFilter(kind="noop")
    (matched, changed, signal), _ = run(conn, 101, ops.bulk, "cancel", flt, True, "carol", "")
    assert (matched, changed, signal) == (6, 0, [])
    assert conn.execute("SELECT count(*) FROM jobs WHERE state = 'queued'").fetchone()[0] == 4
    (matched, changed, signal), _ = run(conn, 101, ops.bulk, "cancel", flt, False, "carol", "bad batch")
    assert (matched, changed) == (6, 6)
    assert sorted(signal) == sorted(c.id for c in running)
    states = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    assert states == {"cancelled": 4, "cancelling": 2}
    actions = conn.execute("SELECT action, target FROM audit WHERE action LIKE 'bulk%'").fetchall()
    assert actions == [("bulk-cancel", "6 jobs")]
    (matched, _c, _s), _ = run(conn, 102, ops.bulk, "retry", JobFilter(state=["running"]), True, "carol", "")
    assert matched == 0  # retry never applies to running jobs, whatever the filter says


def test_every_transition_is_an_event(conn: sqlite3.Connection) -> None:
    _, submitted = run(conn, 100, ops.submit, [new(0)], "t")
    (c,), claimed = run(conn, 100, ops.claim, "default", 1, OWNER, 30)
    _, finished = run(conn, 101, ops.finish, c, OWNER, "completed", worker="w")
    kinds = [(e[0], e[3].get("from"), e[3].get("to") or e[3].get("state")) for e in submitted + claimed + finished]
    assert kinds == [("job.submitted", None, "queued"), ("audit", None, None), ("job.state", "queued", "running"),
                     ("job.state", "running", "completed")]


# --- the database file ----------------------------------------------------------------------


def test_a_new_database_is_stamped_and_migrated(tmp_path: Path) -> None:
    conn = prepare(tmp_path / "new.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    prepare(tmp_path / "new.db").close()  # reopening is a no-op


def test_a_garbage_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "shiftboss.db"
    path.write_bytes(b"this is not a database, just some text\n" * 100)
    with pytest.raises(DatabaseUnusable, match="not an SQLite database"):
        prepare(path)


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE accounts (id INTEGER)")
    other.commit()
    other.close()
    with pytest.raises(DatabaseUnusable, match="another application"):
        prepare(path)


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = prepare(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(DatabaseUnusable, match="newer"):
        prepare(path)


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.db"
    conn = prepare(path)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO audit (ts, actor, action, target, reason) VALUES (0, 'a', 'b', 'c', ?)",
                     [("x" * 500,)] * 2000)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * 4000 + data[4100 : len(data) // 3])
    with pytest.raises(DatabaseUnusable):
        prepare(path)


def test_an_older_schema_is_migrated_in_place(tmp_path: Path) -> None:
    from engine.store._db import MIGRATIONS, statements

    path = tmp_path / "v1.db"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in statements(MIGRATIONS[0]):
        old.execute(statement)
    old.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO events (seq, ts, type, job_id, pool, data) VALUES (1, 0, 'job.submitted', 'j', 'p', '{}')")
    old.close()
    conn = prepare(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"events_job", "evm_txs_open", "solana_txs_open", "cosmos_txs_open"} <= indexes
    assert [e.seq for e in queries.events_since(conn, 0, 10, "j")] == [1]
    assert {"backoff", "gate"} <= {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}


def test_a_database_keeps_its_id_and_another_file_has_another(tmp_path: Path) -> None:
    first = Store.open(tmp_path / "a.db").database_id
    assert len(first) == 32
    assert Store.open(tmp_path / "a.db").database_id == first
    assert Store.open(tmp_path / "b.db").database_id != first


def test_finished_jobs_past_their_retention_are_deleted_with_their_attempts_and_audit_kept(
        conn: sqlite3.Connection) -> None:
    day = 86400.0
    run(conn, 0, ops.submit, [new(i) for i in range(6)], "tester")  # submitted at t=0
    claimed, _ = run(conn, 1, ops.claim, "default", 3, OWNER, 30)
    for job in claimed[:2]:
        run(conn, 2, ops.finish, job, OWNER, "completed", worker="w")  # ended at t=2
    run(conn, 3, ops.finish, claimed[2], OWNER, "failed", worker="w",
        error=JobError(code="boom", message="no", retryable=False))
    run(conn, 4, ops.cancel, "noop_0005", "op", "not needed")
    run(conn, 5 * day, ops.submit, [new(10)], "tester")  # a newer job, still queued
    retention = {"completed": 7 * day, "failed": 0.0, "cancelled": 7 * day, "expired": 7 * day}
    assert run(conn, 7 * day, ops.prune_jobs, retention)[0] == 0  # not old enough yet
    assert run(conn, 8 * day, ops.prune_jobs, retention, limit=1)[0] == 1  # bounded per call
    assert run(conn, 8 * day, ops.prune_jobs, retention)[0] == 2  # the other completed one, the cancelled one
    left = {r[0]: r[1] for r in conn.execute("SELECT id, state FROM jobs")}
    assert left == {"noop_0002": "failed", "noop_0003": "queued", "noop_0004": "queued", "noop_0010": "queued"}
    assert conn.execute("SELECT count(*) FROM attempts WHERE job_id IN ('noop_0000', 'noop_0001')").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM attempts WHERE job_id = 'noop_0002'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM audit WHERE target = 'noop_0005'").fetchone()[0] >= 1  # kept
    run(conn, 9 * day, ops.submit, [new(0)], "tester")  # the id is free again
    assert run(conn, 9 * day, ops.prune_jobs, {"completed": 0.0, "failed": 0.0, "cancelled": 0.0,
                                              "expired": 0.0})[0] == 0


def test_job_retention_merges_over_the_defaults() -> None:
    from engine.config import load_settings

    settings = load_settings(None, overrides={"store.job_retention": {"failed": 0}}, environ={})
    assert settings.store.job_retention == {"completed": 7 * 86400.0, "failed": 0.0, "cancelled": 7 * 86400.0,
                                           "expired": 7 * 86400.0}
    with pytest.raises(Exception, match="0 \\(keep forever\\) or more"):
        load_settings(None, overrides={"store.job_retention": {"failed": -1}}, environ={})
