"""The scheduler running real handlers in a real engine (real store, real API on a Unix socket)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import trio
from trio.testing import MockClock

from engine.clock import trio_clock
from engine.jobs import JobContext, Kind, Registry, default_registry
from tests.conftest import job, make_settings, running_engine, until_state, wait_for


async def submit(client: httpx.AsyncClient, kind: str, payload: dict[str, Any] | None = None, **kw: Any) -> str:
    r = await client.post("/v1/jobs", json={"kind": kind, "payload": payload or {}, **kw})
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


@pytest.mark.trio
async def test_flaky_job_retries_with_backoff_then_completes(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, **{"scheduler.backoff_base": 0.05})
    async with running_engine(settings, clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "demo.flaky", {"fail_times": 2}, max_attempts=3)
        done = await until_state(client, job_id, "completed", "failed")
        assert done["state"] == "completed"
        assert done["result"] == {"succeeded_on_attempt": 3}
        outcomes = [(a["n"], a["outcome"], (a["error"] or {}).get("code")) for a in done["history"]]
        assert outcomes == [(1, "failed", "demo_flaky"), (2, "failed", "demo_flaky"), (3, "completed", None)]
        gap = done["history"][2]["started_at"] - done["history"][1]["finished_at"]
        assert gap >= 0.05 * 2 * 0.5  # second backoff: base·2, at least half of it with jitter


@pytest.mark.trio
async def test_exhausted_and_non_retryable_failures(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, **{"scheduler.backoff_base": 0.01})
    async with running_engine(settings, clock=trio_clock()) as (_engine, client):
        exhausted = await submit(client, "demo.flaky", {"fail_times": 5}, max_attempts=2)
        permanent = await submit(client, "demo.flaky", {"fail_times": 1, "permanent": True}, max_attempts=5)
        a = await until_state(client, exhausted, "failed")
        b = await until_state(client, permanent, "failed")
        assert a["attempts"] == 2 and a["error"]["retryable"] is True
        assert b["attempts"] == 1 and b["error"] == {
            "code": "demo_permanent", "message": "attempt 1 failed for good (demo)", "retryable": False, "details": None}


@pytest.mark.trio
async def test_attempt_timeout_is_a_retryable_failure(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, **{"scheduler.backoff_base": 0.01})
    async with running_engine(settings, clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "sleep", {"seconds": 30}, timeout=0.2, max_attempts=2)
        failed = await until_state(client, job_id, "failed")
        assert [a["error"]["code"] for a in failed["history"]] == ["timeout", "timeout"]


@pytest.mark.trio
async def test_cancel_a_running_job(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "sleep", {"seconds": 60})
        await until_state(client, job_id, "running")
        with trio.fail_after(2):
            r = await client.post(f"/v1/jobs/{job_id}/cancel", json={"reason": "wrong target"})
            assert r.json() == {"id": job_id, "state": "cancelling"}
            cancelled = await until_state(client, job_id, "cancelled")
        assert cancelled["history"][-1]["outcome"] == "cancelled"
        r = await client.post(f"/v1/jobs/{job_id}/cancel")
        assert r.status_code == 409


@pytest.mark.trio
async def test_delayed_job_waits_then_runs(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "noop", delay=0.4)
        assert (await job(client, job_id))["state"] == "waiting"
        done = await until_state(client, job_id, "completed", within=5)
        assert done["started_at"] - done["created_at"] >= 0.39


@pytest.mark.trio
async def test_deadline_while_running_expires_the_job(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "sleep", {"seconds": 30}, ttl=0.3)
        expired = await until_state(client, job_id, "expired")
        assert expired["error"]["code"] == "deadline"


@pytest.mark.trio
async def test_estop_interrupts_running_work_without_counting_it_and_holds_the_queue(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (engine, client):
        running = await submit(client, "sleep", {"seconds": 60})
        await until_state(client, running, "running")
        r = await client.post("/v1/estop", json={"reason": "bad RPC"})
        assert r.status_code == 200 and r.json()["interrupted"] == 1
        back = await until_state(client, running, "queued", within=2)
        assert back["attempts"] == 0
        assert back["history"][-1]["outcome"] == "interrupted"
        held = await submit(client, "noop")
        await trio.sleep(0.3)
        assert (await job(client, held))["state"] == "queued"
        workers = (await client.get("/v1/workers")).json()["workers"]
        assert {w["state"] for w in workers if w["pool"] != "(engine)"} == {"stopped"}  # the engine itself runs
        pools = (await client.get("/v1/pools")).json()["pools"]  # one state model: the engine's e-stop shows
        assert {(p["state"], p["stopped_by"], p["reason"]) for p in pools} == {("stopped", "engine", "bad RPC")}
        await client.post("/v1/resume", json={"reason": "RPC fixed"})
        pools = (await client.get("/v1/pools")).json()["pools"]
        assert {(p["state"], p["stopped_by"], p["reason"]) for p in pools} == {("active", None, None)}
        await until_state(client, held, "completed")
        actions = [(r["action"], r["reason"]) for r in (await client.get("/v1/audit")).json()["records"]]
        assert ("estop", "bad RPC") in actions and ("resume", "RPC fixed") in actions
        assert engine.scheduler.estop.active is False


@pytest.mark.trio
async def test_per_pool_estop_stops_only_that_pool(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, pools={"slow": {"kinds": ["sleep"]}, "fast": {"kinds": ["*"]}})
    async with running_engine(settings, clock=trio_clock()) as (_engine, client):
        sleeper = await submit(client, "sleep", {"seconds": 60})
        await until_state(client, sleeper, "running")
        r = await client.post("/v1/estop", json={"reason": "maintenance", "pool": "slow"})
        assert r.json()["interrupted"] == 1
        await until_state(client, sleeper, "queued")
        quick = await submit(client, "noop")
        await until_state(client, quick, "completed")
        pools = {p["name"]: p for p in (await client.get("/v1/pools")).json()["pools"]}
        assert pools["slow"]["state"] == "stopped" and pools["slow"]["reason"] == "maintenance"
        assert pools["fast"]["state"] == "active"


@pytest.mark.trio
async def test_pause_holds_and_drain_finishes_running_work(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        r = await client.post("/v1/pools/default/pause", json={"reason": "deploy"})
        assert r.json()["pool"]["state"] == "paused"
        held = await submit(client, "noop")
        await trio.sleep(0.2)
        assert (await job(client, held))["state"] == "queued"
        await client.post("/v1/pools/default/resume")
        await until_state(client, held, "completed")
        sleeper = await submit(client, "sleep", {"seconds": 0.5})
        await until_state(client, sleeper, "running")
        r = await client.post("/v1/pools/default/drain", json={"reason": "node swap"})
        assert r.json()["pool"]["state"] == "draining"
        later = await submit(client, "noop")

        async def drained() -> bool:
            pools = (await client.get("/v1/pools")).json()["pools"]
            return pools[0]["state"] == "drained"

        await wait_for(drained, 5)
        assert (await job(client, sleeper))["state"] == "completed"
        assert (await job(client, later))["state"] == "queued"


@pytest.mark.trio
async def test_shutdown_lets_short_work_finish_and_puts_the_rest_back(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, **{"engine.grace_period": 0.5})
    async with running_engine(settings, clock=trio_clock()) as (engine, client):
        short = await submit(client, "sleep", {"seconds": 0.2})
        long = await submit(client, "sleep", {"seconds": 60})
        await until_state(client, long, "running")
        await until_state(client, short, "running")
        with trio.fail_after(5):
            interrupted = await engine.scheduler.shutdown(0.5)
        assert interrupted == 1
        assert (await job(client, short))["state"] == "completed"
        back = await job(client, long)
        assert back["state"] == "queued" and back["attempts"] == 0


@pytest.mark.trio
async def test_progress_is_persisted_and_streamed(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "sleep", {"seconds": 2.5})

        async def has_progress() -> dict[str, Any] | None:
            j = await job(client, job_id)
            return j["progress"] if j["progress"] and j["progress"]["elapsed"] >= 1 else None

        progress = await wait_for(has_progress, 5)
        assert progress["total"] == 2.5


@pytest.mark.trio
async def test_live_jobs_keep_their_lease_past_its_ttl(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **{"store.lease_ttl": 1.0})
    async with running_engine(settings) as (_engine, client):
        job_id = await submit(client, "sleep", {"seconds": 2.5})
        done = await until_state(client, job_id, "completed", "retrying", "failed")
        assert done["state"] == "completed" and done["attempts"] == 1


def _stubborn_registry() -> Registry:
    """The built-in kinds plus one whose handler blocks in a thread and ignores cancellation."""

    class Payload(msgspec.Struct):
        seconds: float

    async def stubborn(ctx: JobContext, payload: Payload) -> None:
        await trio.to_thread.run_sync(time.sleep, payload.seconds)

    registry = default_registry()
    registry.register(Kind("test.stubborn", Payload, stubborn, "ignores cancel"))
    return registry


@pytest.mark.trio
async def test_a_job_that_ignores_cancel_is_marked_cancelled_after_the_grace(tmp_path: Path, fast_clock: MockClock) -> None:
    settings = make_settings(tmp_path, **{"scheduler.cancel_grace": 0.3})
    async with running_engine(settings, registry=_stubborn_registry(), clock=trio_clock()) as (_engine, client):
        job_id = await submit(client, "test.stubborn", {"seconds": 1.5})
        await until_state(client, job_id, "running")
        start = trio.current_time()
        await client.post(f"/v1/jobs/{job_id}/cancel")
        cancelled = await until_state(client, job_id, "cancelled", within=3)
        assert trio.current_time() - start < 1.2  # before the handler returned
        assert "did not stop within 0.3 s" in cancelled["error"]["message"]
        await trio.sleep(1.5)  # the handler finally returns: its outcome is discarded
        assert (await job(client, job_id))["state"] == "cancelled"


@pytest.mark.trio
async def test_a_handler_exception_is_a_retryable_failure_and_the_engine_goes_on(
        tmp_path: Path, fast_clock: MockClock, caplog: pytest.LogCaptureFixture) -> None:
    class Payload(msgspec.Struct):
        pass

    async def broken(ctx: JobContext, payload: Payload) -> None:
        raise KeyError("missing-config")

    registry = default_registry()
    registry.register(Kind("test.broken", Payload, broken, "always raises", max_attempts=2, backoff_base=0.01))
    async with running_engine(make_settings(tmp_path), registry=registry, clock=trio_clock()) as (_engine, client):
        failed = await until_state(client, await submit(client, "test.broken"), "failed")
        assert failed["attempts"] == 2
        assert failed["error"] == {"code": "exception", "message": "KeyError: 'missing-config'", "retryable": True,
                                   "details": None}
        logged = [r for r in caplog.records if "the handler raised KeyError" in r.getMessage()]
        assert len(logged) == 2 and logged[0].exc_info is not None  # the log has the traceback
        assert (await until_state(client, await submit(client, "noop"), "completed"))["state"] == "completed"


@pytest.mark.trio
async def test_a_job_whose_worker_died_is_picked_up_again_when_its_lease_expires(tmp_path: Path) -> None:
    """Another worker (a second connection to the same database file) claims a job and vanishes
    without renewing; this engine's reaper returns it to the queue and runs it."""
    from engine.store import Tx, ops
    from engine.store._db import connect

    settings = make_settings(tmp_path, **{"store.lease_ttl": 1.0, "scheduler.backoff_base": 0.01})
    async with running_engine(settings) as (_engine, client):
        await client.post("/v1/pools/default/pause", json={"reason": "let the ghost claim first"})
        job_id = await submit(client, "noop")
        ghost = connect(settings.db_path)
        ghost.execute("BEGIN IMMEDIATE")
        (claimed,) = ops.claim(Tx(ghost, time.time()), "default", 1, "ghost-host:4242", 1.0)
        ghost.execute("COMMIT")
        ghost.close()
        assert claimed.id == job_id
        await client.post("/v1/pools/default/resume")
        done = await until_state(client, job_id, "completed", within=10)
        first, second = done["history"]
        assert first["worker"] == "ghost-host:4242" and first["error"]["code"] == "lease_expired"
        assert second["outcome"] == "completed" and second["worker"] != "ghost-host:4242"
        assert done["attempts"] == 2


@pytest.mark.trio
async def test_values_json_has_no_type_for_are_stored_as_plain_json(tmp_path: Path, fast_clock: MockClock) -> None:
    class Payload(msgspec.Struct):
        pass

    class Scalar:  # what numpy scalars look like to us
        def __init__(self, v: int) -> None:
            self.v = v

        def item(self) -> int:
            return self.v

    async def odd(ctx: JobContext, payload: Payload) -> dict[str, Any]:
        ctx.progress(hashes=Scalar(12345), started=Path("/x"))
        await trio.sleep(1.2)  # one progress flush happens while running
        return {"best": Scalar(7), "when": Path("/y")}

    registry = default_registry()
    registry.register(Kind("test.odd", Payload, odd, "reports odd values"))
    async with running_engine(make_settings(tmp_path), registry=registry, clock=trio_clock()) as (_engine, client):
        done = await until_state(client, await submit(client, "test.odd"), "completed", "failed")
        assert done["state"] == "completed"
        assert done["result"] == {"best": 7, "when": "/y"}
        assert done["progress"] == {"hashes": 12345, "started": "/x"}


@pytest.mark.trio
async def test_a_job_can_override_its_retry_backoff(tmp_path: Path, fast_clock: MockClock) -> None:
    async with running_engine(make_settings(tmp_path), clock=trio_clock()) as (_engine, client):
        slow = await submit(client, "demo.flaky", {"fail_times": 1}, backoff=1.0)
        fast = await submit(client, "demo.flaky", {"fail_times": 1}, backoff=0.01)
        gaps = {}
        for job_id in (slow, fast):
            done = await until_state(client, job_id, "completed")
            assert done["backoff"] == (1.0 if job_id == slow else 0.01)
            gaps[job_id] = done["history"][1]["started_at"] - done["history"][0]["finished_at"]
        assert gaps[slow] >= 0.5  # at least half the nominal delay (jitter)
        assert gaps[fast] < 0.3  # far below the kind's own 0.5 s
