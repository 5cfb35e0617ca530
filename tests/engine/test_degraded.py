"""A store that cannot write (here: another process holds the database's write lock longer than
the busy timeout; a full disk fails commits the same way) makes the engine degrade, never die:
it claims nothing, serves reads, shows it, acts on an e-stop at once, and recovers by itself."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from engine.config import Settings
from tests.conftest import make_settings, running_engine, until_state, wait_for


@contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """Another process's connection holding the write lock."""
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def status(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/v1/status")).json()  # type: ignore[no-any-return]


async def store_failing(client: httpx.AsyncClient) -> bool:
    return not (await status(client))["store"]["writable"]


async def store_writable(client: httpx.AsyncClient) -> bool:
    return bool((await status(client))["store"]["writable"])


def degraded_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, **{"store.busy_timeout": 0.1, "scheduler.backoff_base": 0.05})


@asynccontextmanager
async def store_locked(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[None]:
    """Hold the write lock until the engine reports that its store cannot write."""
    with write_lock(settings):
        await wait_for(lambda: store_failing(client), within=10)
        yield


async def running_sleeper(client: httpx.AsyncClient, seconds: float) -> str:
    """A ``sleep`` job, once it runs."""
    r = await client.post("/v1/jobs", json={"kind": "sleep", "payload": {"seconds": seconds}})
    sleeper: str = r.json()["id"]
    await until_state(client, sleeper, "running")
    return sleeper


@pytest.mark.trio
async def test_a_store_that_cannot_write_degrades_the_engine_and_it_recovers(tmp_path: Path) -> None:
    settings = degraded_settings(tmp_path)
    async with running_engine(settings) as (engine, client):
        sleeper = await running_sleeper(client, 1.5)
        async with store_locked(settings, client):
            st = await status(client)
            assert st["store"]["write_failures"] >= 1 and "locked" in st["store"]["error"]
            r = await client.post("/v1/jobs", json={"kind": "noop"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
            await trio.sleep(2.5)  # the sleeper finishes meanwhile; its outcome waits for the store
            assert (await client.get("/v1/jobs")).json()["total"] == 1  # reads are served
            assert engine.scheduler.running_count() == 1  # its slot is held until the outcome is durable
            metrics = (await client.get("/metrics")).text
            assert "shiftboss_store_writable 0.0" in metrics
            workers = {w["id"]: w for w in (await client.get("/v1/workers")).json()["workers"]}
            assert workers["default/dispatcher"]["health"] == "degraded"
            assert "store cannot write" in workers["default/dispatcher"]["reason"]
        await wait_for(lambda: store_writable(client), within=15)
        done = await until_state(client, sleeper, "completed", within=15)
        workers = (await client.get("/v1/workers")).json()["workers"]
        assert {w["health"] for w in workers} == {"ok"}
        assert done["result"] == {"slept": 1.5}
        r = await client.post("/v1/jobs", json={"kind": "noop"})
        assert r.status_code == 201
        await until_state(client, r.json()["id"], "completed", within=15)


@pytest.mark.trio
async def test_the_estop_acts_while_the_store_cannot_write_and_is_persisted_after(tmp_path: Path) -> None:
    settings = degraded_settings(tmp_path)
    async with running_engine(settings) as (engine, client):
        sleeper = await running_sleeper(client, 60)
        async with store_locked(settings, client):
            with trio.fail_after(5):
                r = await client.post("/v1/estop", json={"reason": "disk full"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["estop"]["active"] is True and body["estop"]["persisted"] is False
            assert body["interrupted"] == 1
            st = await status(client)
            assert st["estop"]["active"] is True and st["estop"]["persisted"] is False
            # acted at once: the attempt has stopped; its outcome is recorded once the store writes

            async def handler_stopped() -> bool:
                return sleeper in [f.rj.claimed.id for f in engine.scheduler._finished]

            await wait_for(handler_stopped, within=5)
        await wait_for(lambda: store_writable(client), within=15)

        async def persisted() -> bool:
            return bool((await status(client))["estop"]["persisted"])

        await wait_for(persisted, within=15)
        back = await until_state(client, sleeper, "queued", within=15)
        assert back["attempts"] == 0 and back["history"][-1]["outcome"] == "interrupted"
        actions = [(a["action"], a["reason"]) for a in (await client.get("/v1/audit")).json()["records"]]
        assert ("estop", "disk full") in actions
        assert engine.scheduler.estop.active
