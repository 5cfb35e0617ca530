"""Shared fixtures: real SQLite files in temp dirs, real engines (in-process or as a child
process), real tools. A missing tool skips a test locally with the reason, and fails it under
CI=true — never a silent skip."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from engine.clock import Clock, wall
from engine.config import Settings, load_settings
from engine.lifecycle import EngineProcess
from engine.store import Store
from engine.supervisor import Supervisor

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Specialised PoW kernel builds compile in the background, 15-35 s of CPU each: not in the middle
# of other tests on a 2-core machine. test_counter_builds.py loads them itself; engines the tests
# start inherit this.
os.environ.setdefault("SHIFTBOSS_POW_SPECIALISE", "0")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the session (tests/pg_cluster.py); each test that
    wants one takes a fresh database in it."""
    from tests.pg_cluster import PgCluster

    cluster = PgCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a store lives, once per backend: an SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "store.db"
    url: str = request.getfixturevalue("pg_cluster").new_database()
    return url


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (`make venv` installs it)"
        if IN_CI:
            pytest.fail(message + " — required under CI")
        pytest.skip(message)
    return path


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values = {"engine.data_dir": str(data_dir), "engine.grace_period": 2.0, **overrides}
    return load_settings(None, overrides=values, environ={})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    """Trio's clock for a test that runs a real engine: it jumps to the next deadline once the
    run has been idle for 20 ms of real time. (``autojump_clock`` jumps at once, also while the
    store works in a thread, so an HTTP read could time out in virtual time while the engine is
    still answering.) Pair it with ``running_engine(…, clock=trio_clock())``."""
    return trio.testing.MockClock(autojump_threshold=0.02)


@asynccontextmanager
async def running_engine(settings: Settings, *, clock: Clock = wall,
                         **kwargs: Any) -> AsyncIterator[tuple[Supervisor, httpx.AsyncClient]]:
    """A real engine in this Trio run, serving its API on its real Unix socket; yields it and a
    client. Shuts down gracefully on exit. A test on ``fast_clock`` passes ``clock=trio_clock()``:
    the engine's backoffs, delays and timeouts then take (almost) no real time."""
    store = Store.open(settings.store_target, synchronous=settings.store.synchronous, clock=clock,
                       busy_timeout=settings.store.busy_timeout, password=settings.store_password())
    engine = Supervisor(settings, store, **kwargs)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        transport = httpx.AsyncHTTPTransport(uds=str(settings.socket_path))
        async with httpx.AsyncClient(transport=transport, base_url="http://engine", timeout=10) as client:
            yield engine, client
        engine.request_shutdown()


@pytest.fixture
def engine_process(tmp_path: Path) -> Iterator[EngineProcess]:
    """Factory-free child engine in tmp_path/engine; started by the test (``.start()``)."""
    proc = EngineProcess(tmp_path / "engine")
    yield proc
    if proc.proc is not None and proc.proc.poll() is None:
        proc.kill()


async def job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """``GET /v1/jobs/{id}``'s job."""
    r = await client.get(f"/v1/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()["job"]  # type: ignore[no-any-return]


async def until_state(client: httpx.AsyncClient, job_id: str, *states: str, within: float = 10) -> dict[str, Any]:
    """Poll the job until it is in one of ``states``; return it."""

    async def check() -> dict[str, Any] | None:
        j = await job(client, job_id)
        return j if j["state"] in states else None

    return await wait_for(check, within)  # type: ignore[no-any-return]


async def wait_for(predicate: Any, within: float = 10.0, interval: float = 0.02) -> Any:
    """Poll an async predicate until it returns something truthy (fail after ``within`` s)."""
    with trio.fail_after(within):
        while True:
            value = await predicate()
            if value:
                return value
            await trio.sleep(interval)
