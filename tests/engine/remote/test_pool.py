"""A trusted pool in a real engine with real worker processes on loopback: an impostor that
knows a worker's public key is shown down and never sent a job; compute.run jobs run sandboxed
on the least busy worker, a worker that refuses one (400) is skipped with its reason, a worker
killed mid-job has its job re-run elsewhere; outputs come back through the engine; the seed's
/submit, /status, /outputs and /pool work as the seed's clients expect."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.lifecycle import WorkerProcesses
from engine.remote import generate_key, worker_id
from tests.conftest import make_settings, running_engine, until_state, wait_for
from tests.workers import tarball


@pytest.fixture
def engine_dir(tmp_path: Path) -> Path:
    return tmp_path / "engine"


@pytest.fixture
def workers(tmp_path: Path, engine_dir: Path) -> Iterator[WorkerProcesses]:
    key = generate_key(engine_dir / "coordinator.key")  # the engine's coordinator key, made ahead
    with WorkerProcesses(tmp_path, worker_id(key.verify_key)) as pool:
        yield pool


async def impostor(worker: str, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """A server that knows a worker's id and says it is healthy — the seed would trust it."""
    async def health(request: object) -> JSONResponse:
        return JSONResponse({"status": "healthy", "worker_id": worker, "time": time.time()})

    async def submit(request: object) -> JSONResponse:
        raise AssertionError("the impostor was sent a job")

    config = Config()
    config.bind = ["127.0.0.1:0"]
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, Starlette(routes=[Route("/health", health),
                                                             Route("/submit", submit, methods=["POST"])]), config)
        task_status.started(binds[0])


@pytest.mark.slow
@pytest.mark.trio
async def test_a_trusted_pool_runs_jobs_on_its_real_workers(engine_dir: Path, workers: WorkerProcesses) -> None:
    picky = workers.start("picky", "--max-files-mb", "1")  # refuses archives over 1 MB
    steady = workers.start("steady")
    fake_id = worker_id(nacl.signing.SigningKey.generate().verify_key)
    async with trio.open_nursery() as nursery:
        fake_url = await nursery.start(impostor, fake_id)
        settings = make_settings(engine_dir, **{
            "pools.farm.remote": True, "pools.farm.kinds": ["compute.run"], "pools.farm.health_interval": 0.5,
            "pools.farm.workers": [picky, steady, {"worker_id": fake_id, "endpoint": fake_url}]})
        async with running_engine(settings) as (_engine, client):
            async def all_checked() -> list[dict[str, Any]] | None:
                rows = [w for w in (await client.get("/v1/workers")).json()["workers"] if w["detail"].get("remote")]
                return rows if len(rows) == 3 and all(w["heartbeat_at"] for w in rows) else None

            rows = {w["detail"]["worker_id"]: w for w in await wait_for(all_checked, within=10)}
            assert rows[picky["worker_id"]]["health"] == rows[steady["worker_id"]]["health"] == "ok"
            assert rows[fake_id]["health"] == "down" and "not signed" in rows[fake_id]["reason"]

            # a job too big for the first worker: refused there (400), run on the other
            big = tarball({"main.py": b"import os\nprint(len(os.listdir('.')))\nopen('out.txt','w').write('big')\n",
                           "blob.bin": os.urandom(2 * 2**20)})
            files = (await client.post("/v1/files", content=big)).json()["sha256"]
            job = (await client.post("/v1/jobs", json={"kind": "compute.run", "payload": {
                "files": files, "manifest": {"entrypoint": "main.py", "outputs": ["out.txt"]}}})).json()
            done = await until_state(client, job["id"], "completed", "failed", within=30)
            assert done["state"] == "completed", done
            assert done["result"]["worker_id"] == steady["worker_id"] and done["result"]["stdout"] == "2\n"
            assert picky["worker_id"] in done["progress"]["rejected"]
            assert "bytes unpacked" in done["progress"]["rejected"][picky["worker_id"]]
            assert (await client.get(f"/outputs/{job['id']}/out.txt")).content == b"big"

            # the seed's surface: /submit (multipart), /status, /pool
            answer = await client.post("/submit", files={"files": ("p.tar.gz", tarball({"m.py": b"print('seed')"}))},
                                       data={"manifest": '{"entrypoint": "m.py", "interpreter": "python3"}'})
            seed_job = answer.json()["job_id"]
            assert answer.json()["status"] == "queued"
            await until_state(client, seed_job, "completed", within=30)
            status = (await client.get(f"/status/{seed_job}")).json()
            assert status["pool_status"] == "completed" and status["worker_id"] in (picky["worker_id"], steady["worker_id"])
            assert status["worker_status"]["status"] == "completed" and status["completed_at"]
            metrics = (await client.get("/metrics")).text
            assert f'shiftboss_remote_worker_active_jobs{{pool="farm",worker="farm/{steady["worker_id"][:12]}"}}' in metrics
            assert "shiftboss_remote_worker_latency_ms" in metrics
            pool = (await client.get("/pool")).json()
            assert pool["total_workers"] == 3 and pool["healthy_workers"] == 2 and pool["total_jobs"] >= 2
            assert {w["worker_id"]: w["is_healthy"] for w in pool["workers"]}[fake_id] is False
            shown = {w["worker_id"]: w["isolation"] for w in pool["workers"]}
            assert "net:none" in shown[steady["worker_id"]] and shown[fake_id] == []  # what each worker's sandbox gives

            # a worker killed mid-job: the job is re-run on the other one
            drained = await client.post("/v1/workers/drain", json={"worker_id": picky["worker_id"][:12], "reason": "test"})
            assert drained.json()["drained"] is True
            slow = (await client.post("/v1/files", content=tarball({"s.py": b"import time\ntime.sleep(3)\nprint('slept')\n"}))).json()
            job = (await client.post("/v1/jobs", json={"kind": "compute.run", "payload": {
                "files": slow["sha256"], "manifest": {"entrypoint": "s.py"}}})).json()

            async def running_on_steady() -> bool:
                j = (await client.get(f"/v1/jobs/{job['id']}")).json()["job"]
                return (j.get("progress") or {}).get("status") == "running"

            await wait_for(running_on_steady, within=15)
            workers.kill("steady")
            await client.post("/v1/workers/undrain", json={"worker_id": picky["worker_id"]})
            done = await until_state(client, job["id"], "completed", "failed", within=40)
            assert done["state"] == "completed" and done["result"]["worker_id"] == picky["worker_id"]
            assert done["attempts"] == 2 and done["result"]["stdout"] == "slept\n"
        nursery.cancel_scope.cancel()


async def liar(key: nacl.signing.SigningKey, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """A worker with a real key that passes the health check and then lies about PoW: it claims
    nonce 5 has 12 zeros without hashing anything."""
    from starlette.requests import Request

    from engine.remote._protocol import sign_fields

    me = worker_id(key.verify_key)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(sign_fields(key, {
            "status": "healthy", "worker_id": me, "time": time.time(), "challenge": request.query_params["challenge"],
            "isolation": [], "capacity": {"cores": 1, "memory_bytes": 0, "slots": 1, "free_slots": 1}}))

    async def pow_(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(sign_fields(key, {"worker_id": me, "algorithm": body["algorithm"], "start": body["start"],
                                              "hashes": body["count"], "best_nonce": 5, "best_zeros": 12,
                                              "found": False, "seconds": 0.01}))

    config = Config()
    config.bind = ["127.0.0.1:0"]
    async with trio.open_nursery() as nursery:
        app = Starlette(routes=[Route("/health", health), Route("/pow", pow_, methods=["POST"])])
        binds = await nursery.start(serve, app, config)
        task_status.started(binds[0])


@pytest.mark.slow
@pytest.mark.trio
async def test_pow_jobs_hash_on_remote_workers_and_a_lying_one_is_caught(engine_dir: Path, workers: WorkerProcesses) -> None:
    honest = workers.start("honest")
    lying_key = nacl.signing.SigningKey.generate()
    async with trio.open_nursery() as nursery:
        liar_url = await nursery.start(liar, lying_key)
        settings = make_settings(engine_dir, **{
            "pools.farm.remote": True, "pools.farm.kinds": ["compute.run"], "pools.farm.health_interval": 0.5,
            "pools.farm.workers": [honest, {"worker_id": worker_id(lying_key.verify_key), "endpoint": liar_url}],
            "pools.pow.threads": 1, "pools.pow.hash_on": ["farm"]})
        async with running_engine(settings) as (_engine, client):
            job = (await client.post("/v1/jobs", json={"kind": "pow.kale", "payload": {
                "index": 3, "entropy": "00" * 32, "farmer": "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE",
                "mode": "best", "seconds": 3, "min_zeros": 1}})).json()
            done = await until_state(client, job["id"], "completed", "failed", within=30)
            assert done["state"] == "completed", done
            assert done["result"]["zeros"] < 12  # the lie was not taken
            rows = {w["id"]: w for w in (await client.get("/v1/workers")).json()["workers"]}
            remote_hashes = [w["detail"]["hashes"] for w in rows.values() if w["detail"].get("remote_hasher") == honest["worker_id"]]
            assert remote_hashes and remote_hashes[0] > 0  # the honest worker hashed ranges of it
            lying = next(w for w in rows.values() if w["detail"].get("worker_id") == worker_id(lying_key.verify_key))
            assert lying["health"] == "degraded" and "it is not" in lying["reason"]
        nursery.cancel_scope.cancel()
