"""The database going away under a running engine on PostgreSQL: while it is stopped the
engine stops claiming and shows the store cannot write (and an operation it cannot record is
not acknowledged); started again — a restart, or the network back — the engine reconnects and
goes on, and nothing it acknowledged is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_settings, running_engine, wait_for
from tests.pg_cluster import PgCluster


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster().start()
    yield cluster
    cluster.destroy()


@pytest.mark.trio
async def test_the_engine_rides_out_a_database_restart(own_cluster: PgCluster, tmp_path: Path) -> None:
    url = own_cluster.new_database()
    settings = make_settings(tmp_path / "engine", **{"store.url": url})
    async with running_engine(settings) as (engine, client):
        before = (await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 20})).json()["jobs"]
        await wait_for(lambda: _completed(client, 20), within=20, interval=0.1)

        await trio.to_thread.run_sync(own_cluster.stop)  # the database is gone
        refused = await client.post("/v1/jobs", json={"kind": "noop"})
        assert refused.status_code == 503  # not acknowledged: it could not be recorded
        await wait_for(lambda: _true(not engine.store.writable), within=10)
        status = (await client.get("/v1/status")).json()
        assert status["store"]["writable"] is False

        await trio.to_thread.run_sync(own_cluster.start)  # back
        async def accepted() -> Any:
            resp = await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 20})
            return resp.json()["jobs"] if resp.status_code == 201 else None

        after = await wait_for(accepted, within=30, interval=0.5)
        await wait_for(lambda: _completed(client, 40), within=30, interval=0.2)
        assert engine.store.writable
        ids = {j["id"] for j in before + after}
        for job_id in ids:  # every acknowledged job is there, completed
            assert (await client.get(f"/v1/jobs/{job_id}")).json()["job"]["state"] == "completed"


async def _completed(client: Any, n: int) -> bool:
    page = (await client.get("/v1/jobs", params={"state": "completed", "count": 1, "limit": 1})).json()
    return bool(page["total"] == n)


async def _true(value: bool) -> bool:
    return value
