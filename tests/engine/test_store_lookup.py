"""Store.lookup: keys looked up at once go as one read, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel

from engine.errors import StoreError
from engine.store import NewJob, Store, ops, where_in

reads: list[list[str]] = []


def states(conn: Any, ids: list[str]) -> dict[str, str]:
    """Each job's state by id (the many-key query a lookup runs); counts its reads."""
    reads.append(list(ids))
    return {job_id: state for job_id, state in where_in(conn, "SELECT id, state FROM jobs", "id", ids)}


def broken(conn: Any, ids: list[str]) -> dict[str, str]:
    conn.execute("SELECT no_such_column FROM jobs")
    return {}


@pytest.mark.trio
async def test_lookups_made_at_once_go_as_one_read_and_each_gets_its_row(store_target: Path | str) -> None:
    store = Store.open(store_target)
    reads.clear()
    jobs = [NewJob(id=f"noop_{i:04d}", kind="noop", pool="default", priority=5, payload="{}", max_attempts=3,
                   timeout=60) for i in range(1200)]
    found: dict[str, str | None] = {}
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            await store.write(ops.submit, jobs, "test")

            async def look(job_id: str) -> None:
                found[job_id] = await store.lookup(states, job_id)

            async with trio.open_nursery() as lookups:
                for job in jobs:
                    lookups.start_soon(look, job.id)
                lookups.start_soon(look, "noop_missing")
                lookups.start_soon(look, jobs[0].id)  # the same key twice: asked once
            assert len(reads) <= 6 and sum(len(r) for r in reads) == 1201  # 1,201 keys in chunks of ≤ 500
            assert all(len(r) <= 500 for r in reads)
            assert found == {**{j.id: "queued" for j in jobs}, "noop_missing": None}

            reads.clear()  # a lookup made while a read is out goes in the next one
            async with trio.open_nursery() as lookups:
                lookups.start_soon(look, jobs[1].id)
                await trio.lowlevel.checkpoint()
                lookups.start_soon(look, jobs[2].id)
            assert found[jobs[2].id] == "queued" and 1 <= len(reads) <= 2

            with pytest.raises(StoreError):  # a failed read fails each of its callers, and nothing else
                await store.lookup(broken, "noop_0001")
            assert await store.lookup(states, "noop_0003") == "queued"
            nursery.cancel_scope.cancel()
