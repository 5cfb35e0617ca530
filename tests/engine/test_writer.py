"""The single writer: group commit, per-op isolation, gap-free sequence numbers — on both
backends; on PostgreSQL also with two stores (two engines) writing to one database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from engine.errors import JobNotFound
from engine.schema import Event
from engine.store import NewJob, Store, Tx, ops, queries


def _job(i: int) -> NewJob:
    return NewJob(id=f"j{i}", kind="noop", pool="default", priority=5, payload="{}", max_attempts=1, timeout=1)


@pytest.mark.trio
async def test_concurrent_writes_share_commits_and_get_consecutive_seqs(store_target: Path | str) -> None:
    store = Store.open(store_target)
    seen: list[Event] = []
    store.writer.on_commit(seen.extend)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            async with trio.open_nursery() as writers:
                for i in range(2000):
                    writers.start_soon(store.write, ops.submit, [_job(i)], "t")
            nursery.cancel_scope.cancel()
    assert store.writer.ops == 2000
    assert store.writer.batches < 200, "group commit should merge concurrent writes"
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    reopened = Store.open(store_target)
    assert reopened.read_now(queries.last_seq) == len(seen) == 4000  # submitted + audit per job
    assert reopened.read_now(lambda c: c.execute("SELECT count(*) FROM jobs").fetchone()[0]) == 2000
    reopened.close()


@pytest.mark.trio
async def test_a_failing_op_is_rolled_back_alone(store_target: Path | str) -> None:
    store = Store.open(store_target)
    results: dict[str, object] = {}

    def half_then_fail(tx: Tx) -> None:
        ops.submit(tx, [_job(99)], "t")
        raise JobNotFound("x")

    async def call(name: str, fn, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            results[name] = await store.write(fn, *args)
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            async with trio.open_nursery() as batch:  # usually one group commit; order is up to trio
                batch.start_soon(call, "a", ops.submit, [_job(1)], "t")
                batch.start_soon(call, "bad", half_then_fail)
                batch.start_soon(call, "b", ops.submit, [_job(2)], "t")
            ids = await store.read(lambda c: [r[0] for r in c.execute("SELECT id FROM jobs ORDER BY seq")])
            nursery.cancel_scope.cancel()
    assert isinstance(results["bad"], JobNotFound)
    assert sorted(ids) == ["j1", "j2"]
    assert store.last_seq == 4


@pytest.mark.trio
async def test_two_stores_on_one_postgresql_database_share_one_gap_free_event_order(pg_cluster: Any) -> None:
    url = pg_cluster.new_database()
    first, second = Store.open(url), Store.open(url)  # two engines: the schema is migrated once
    assert first.database_id == second.database_id
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(first.run)
            await nursery.start(second.run)
            async with trio.open_nursery() as writers:
                for i in range(300):
                    writers.start_soon(first.write if i % 2 else second.write, ops.submit, [_job(i)], "t")
            events = await first.read(queries.events_since, 0, 10_000, None)
            nursery.cancel_scope.cancel()
    assert [e.seq for e in events] == list(range(1, 601))  # submitted + audit per job, from both
    assert {e.job_id for e in events if e.type == "job.submitted"} == {f"j{i}" for i in range(300)}
