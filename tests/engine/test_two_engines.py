"""Two engines on one PostgreSQL database: both claim from one queue (skipping each other's
rows) and every job runs once; each shows both engines; an e-stop engaged on one reaches the
other within a second, and so does its release; the event stream of each shows the other's
events in the one order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from engine.schema import Event
from engine.store import queries
from tests.conftest import make_settings, running_engine, wait_for


@pytest.mark.trio
async def test_two_engines_share_one_queue_and_one_estop(pg_cluster: Any, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    settings = [make_settings(tmp_path / name, **{"store.url": url, "pools.default.concurrency": 4})
                for name in ("a", "b")]
    async with running_engine(settings[0]) as (a, client_a), running_engine(settings[1]) as (b, client_b):
        listed = (await client_b.get("/v1/workers")).json()["workers"]
        engines = {w["id"]: w for w in listed if w["pool"] == "(engine)"}
        assert set(engines) == {a.scheduler.owner, b.scheduler.owner}
        assert all(w["state"] == "running" and w["health"] == "ok" for w in engines.values())
        assert engines[b.scheduler.owner]["detail"]["this"] and not engines[a.scheduler.owner]["detail"]["this"]
        jobs = [{"kind": "sleep", "payload": {"seconds": 0.05}} for _ in range(200)]
        assert (await client_a.post("/v1/jobs", json={"jobs": jobs})).status_code == 201

        async def all_done() -> bool:
            page = (await client_b.get("/v1/jobs", params={"state": "completed", "count": 1})).json()
            return bool(page["total"] == 200)

        await wait_for(all_done, within=60, interval=0.2)
        attempts = await a.store.read(lambda c: c.execute("SELECT worker, count(*) FROM attempts GROUP BY 1").fetchall())
        by_engine = {worker.rsplit("/", 1)[0]: n for worker, n in attempts}
        assert set(by_engine) == {a.scheduler.owner, b.scheduler.owner}  # both claimed
        assert sum(by_engine.values()) == 200  # each job once

        # retries come due on one engine's timers: each job moves retrying → queued once
        flaky = [{"kind": "demo.flaky", "payload": {"fail_times": 1}} for _ in range(40)]
        flaky_ids = [j["id"] for j in (await client_b.post("/v1/jobs", json={"jobs": flaky})).json()["jobs"]]

        async def flaky_done() -> bool:
            states = [(await client_a.get(f"/v1/jobs/{i}")).json()["job"]["state"] for i in flaky_ids]
            return all(state == "completed" for state in states)

        await wait_for(flaky_done, within=60, interval=0.3)
        moves = [(e.job_id, e.data["from"]) for e in await a.store.read(queries.events_since, 0, 100_000)
                 if e.type == "job.state" and e.job_id in set(flaky_ids) and e.data["to"] == "queued"]
        assert sorted(moves) == sorted((i, "retrying") for i in flaky_ids)

        sleeper = (await client_b.post("/v1/jobs", json={"kind": "sleep", "payload": {"seconds": 60}})).json()["id"]
        await wait_for(lambda: _state_is(client_b, sleeper, "running"), within=10)
        assert (await client_a.post("/v1/estop", json={"reason": "drill"})).status_code == 200
        # the e-stop reaches the other engine within a second
        await wait_for(lambda: _true(b.scheduler.estop.active), within=1.0)
        await wait_for(lambda: _state_is(client_b, sleeper, "queued"), within=10)  # interrupted there too
        status_b = (await client_b.get("/v1/status")).json()
        assert status_b["estop"]["active"] and status_b["estop"]["actor"]
        assert (await client_a.post("/v1/resume", json={"reason": "over"})).status_code == 200
        await wait_for(lambda: _true(not b.scheduler.estop.active), within=1.0)
        await wait_for(lambda: _state_is(client_b, sleeper, "running"), within=10)

        since = b.store.last_seq
        marker = (await client_a.post("/v1/jobs", json={"kind": "noop", "pool": "default"})).json()["id"]
        live: list[Event] = []
        with trio.fail_after(10):  # b's live stream shows a's events, numbered in the one order
            async with client_b.stream("GET", "/v1/events", params={"since": since}) as resp:
                async for line in resp.aiter_lines():
                    event = msgspec.json.decode(line, type=Event)
                    if not event.type.startswith("stream."):
                        live.append(event)
                    if any(e.job_id == marker and e.type == "job.state" and e.data["to"] == "completed" for e in live):
                        break
        assert [e.seq for e in live] == list(range(since + 1, since + 1 + len(live)))


async def _state_is(client: Any, job_id: str, state: str) -> bool:
    return bool((await client.get(f"/v1/jobs/{job_id}")).json()["job"]["state"] == state)


async def _true(value: bool) -> bool:
    return value
