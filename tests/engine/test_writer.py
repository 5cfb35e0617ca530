"""The single writer: group commit, per-op isolation, gap-free sequence numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from engine.errors import JobNotFound
from engine.schema import Event
from engine.store import NewJob, Store, Tx, ops, queries


def _job(i: int) -> NewJob:
    return NewJob(id=f"j{i}", kind="noop", pool="default", priority=5, payload="{}", max_attempts=1, timeout=1)


@pytest.mark.trio
async def test_concurrent_writes_share_commits_and_get_consecutive_seqs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
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
    reopened = Store.open(tmp_path / "s.db")
    assert reopened.read_now(queries.last_seq) == len(seen) == 4000  # submitted + audit per job
    assert reopened.read_now(lambda c: c.execute("SELECT count(*) FROM jobs").fetchone()[0]) == 2000


@pytest.mark.trio
async def test_a_failing_op_is_rolled_back_alone(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
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
