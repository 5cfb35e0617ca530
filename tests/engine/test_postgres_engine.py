"""A whole engine on PostgreSQL: jobs submitted through the API run to completed, retry,
cancel and the e-stop behave as on SQLite, and every change is an event numbered without gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.store import queries
from tests.conftest import make_settings, running_engine, wait_for


@pytest.mark.trio
async def test_an_engine_on_postgresql_runs_jobs_end_to_end(pg_cluster: Any, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    settings = make_settings(tmp_path / "engine", **{"store.url": url})
    async with running_engine(settings) as (engine, client):
        assert engine.store.postgres
        resp = await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"} for _ in range(40)]})
        assert resp.status_code == 201
        flaky = (await client.post("/v1/jobs", json={"kind": "demo.flaky", "payload": {"fail_times": 1},
                                                    "backoff": 0.05})).json()["id"]
        sleeper = (await client.post("/v1/jobs", json={"kind": "sleep", "payload": {"seconds": 30}})).json()["id"]

        async def settled() -> dict[str, Any] | None:
            page = (await client.get("/v1/jobs", params={"state": "completed", "count": 1})).json()
            return page if page["total"] == 41 else None

        await wait_for(settled, within=30, interval=0.1)
        flaky_job = (await client.get(f"/v1/jobs/{flaky}")).json()["job"]
        assert flaky_job["state"] == "completed" and flaky_job["attempts"] == 2
        await wait_for(lambda: _state_is(client, sleeper, "running"), within=10)
        assert (await client.post(f"/v1/jobs/{sleeper}/cancel", json={"reason": "test"})).status_code == 200
        await wait_for(lambda: _state_is(client, sleeper, "cancelled"), within=10)
        assert (await client.post("/v1/estop", json={"reason": "drill"})).status_code == 200
        status = (await client.get("/v1/status")).json()
        assert status["estop"]["active"]
        seqs = [e.seq for e in await engine.store.read(queries.events_since, 0, 10_000)]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 100 and seqs[-1] == engine.store.last_seq


async def _state_is(client: Any, job_id: str, state: str) -> bool:
    return bool((await client.get(f"/v1/jobs/{job_id}")).json()["job"]["state"] == state)
