"""A real `shiftboss worker run`, started as root and as an unprivileged user, attacked by the
jobs it runs: a job that leaves a setsid child and a daemon loses both when the worker is killed
-9; a leftover that swaps an output for a symlink to the worker's key while outputs are collected
gets nothing out; the worker's key, its folder and its process are out of the job's reach."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pytest
import trio

from engine.ports import free_port
from engine.remote import worker_id
from engine.remote._client import WorkerClient
from tests.workers import Worker, daemons, launch, owner_variant, processes_with, stop, tarball


@pytest.fixture(params=["root", "user"])
def worker(request: pytest.FixtureRequest) -> Iterator[Worker]:
    owner_variant(request.param)
    home = Path(tempfile.mkdtemp(prefix="shiftboss-wattack-", dir="/tmp"))
    started = launch(request.param, home)
    try:
        yield started
    finally:
        sys.stderr.write(stop(started)[-3000:])  # shown when a test fails
        shutil.rmtree(home, ignore_errors=True)


async def finished(client: WorkerClient, job_id: str, within: float = 30) -> dict:  # type: ignore[type-arg]
    with trio.fail_after(within):
        while (status := await client.status(job_id, wait=5))["status"] in ("queued", "running"):
            pass
    return status


@pytest.mark.trio
async def test_a_jobs_leftovers_die_when_the_worker_is_killed(worker: Worker) -> None:
    marker = f"wk{time.monotonic_ns()}"
    code = daemons(marker) + "time.sleep(60)\n"
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as client:
        submitted = await client.submit(tarball({"main.py": code}), {"entrypoint": "main.py"})
        with trio.fail_after(20):
            while len(processes_with(marker)) < 2:  # noqa: ASYNC110 - polling other processes
                await trio.sleep(0.05)
        assert (await client.status(submitted["job_id"]))["status"] == "running"
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait()
    with trio.fail_after(5):
        while processes_with(marker):  # noqa: ASYNC110 - polling other processes
            await trio.sleep(0.05)


@pytest.mark.trio
async def test_a_symlink_swapped_in_during_collection_is_not_followed(worker: Worker) -> None:
    key = str(worker.key_path)
    code = ("import os, time\nopen('out.txt', 'w').write('job data')\n"
            "if os.fork() == 0:\n    os.setsid()\n    while True:\n"
            "        try:\n            os.replace('out.txt', 'tmp.txt')\n"
            f"            os.symlink({key!r}, 'out.txt')\n            os.unlink('out.txt')\n"
            "            os.replace('tmp.txt', 'out.txt')\n        except OSError:\n            pass\n"
            "time.sleep(0.05)\nprint('swapping')\n")
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as client:
        for _ in range(5):
            submitted = await client.submit(tarball({"main.py": code}), {"entrypoint": "main.py",
                                                                         "outputs": ["out.txt", "tmp.txt"]})
            status = await finished(client, submitted["job_id"])
            assert status["stdout"] == "swapping\n" and status["status"] == "completed", status
            for name in status["outputs"]:
                data = await client.output(submitted["job_id"], name)
                assert data == b"job data", data  # never the key
            refused = status["execution_metadata"]["outputs_refused"]
            assert set(status["outputs"]) | set(refused) | set(status["execution_metadata"]["outputs_missing"]) \
                >= {"out.txt"}


@pytest.mark.trio
async def test_the_workers_key_folder_and_process_are_out_of_reach(worker: Worker) -> None:
    code = (f"import os\nfor path in [{str(worker.key_path)!r}, {str(worker.work_dir)!r}, "
            f"'/proc/{worker.proc.pid}/environ']:\n"
            "    try:\n        print(path, 'READ', open(path).read()[:20] if not os.path.isdir(path) else os.listdir(path))\n"
            "    except OSError as exc:\n        print(path, type(exc).__name__)\n"
            "print('pids', sorted(p for p in os.listdir('/proc') if p.isdigit()))\n")
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as client:
        submitted = await client.submit(tarball({"main.py": code}), {"entrypoint": "main.py"})
        status = await finished(client, submitted["job_id"])
    lines = status["stdout"].splitlines()
    assert all(line.endswith("FileNotFoundError") for line in lines[:3]), lines
    assert lines[3] == "pids ['1', '2']"  # its init and itself: no worker, no other job


def test_a_worker_that_cannot_isolate_refuses_to_start_unless_told_none(tmp_path: Path) -> None:
    key_path = tmp_path / "worker.key"
    subprocess.run([sys.executable, "-m", "engine", "worker", "keygen", str(key_path)], capture_output=True, check=True)
    coordinator = worker_id(nacl.signing.SigningKey.generate().verify_key)
    argv = [sys.executable, "-m", "engine", "worker", "run", "--key", str(key_path), "--coordinator", coordinator,
            "--work-dir", str(tmp_path / "work")]
    env = {**os.environ, "SHIFTBOSS_BWRAP": str(tmp_path / "no-bwrap-here")}
    refused = subprocess.run([*argv, "--listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, env=env,
                             timeout=60)
    assert refused.returncode == 2 and "bubblewrap is not installed" in refused.stderr
    assert 'sandbox = "none"' in refused.stderr


@pytest.fixture
def unisolated(tmp_path: Path) -> Iterator[Worker]:
    started = launch("root" if os.geteuid() == 0 else "user", tmp_path, "--sandbox", "none")
    yield started
    stop(started)


@pytest.mark.trio
async def test_sandbox_none_runs_jobs_and_says_they_are_unisolated(unisolated: Worker) -> None:
    async with WorkerClient(unisolated.coordinator, unisolated.url, unisolated.id) as client:
        health = await client.health()
        assert health["sandbox"] == "none" and health["isolation"][0] == "none: NOT ISOLATED"
        submitted = await client.submit(tarball({"main.py": "import os\nprint('ran', os.getuid())\n"}),
                                        {"entrypoint": "main.py"})
        status = await finished(client, submitted["job_id"])
    assert status["stdout"] == f"ran {os.getuid()}\n"  # as the worker's own user: nothing isolates it
    assert status["execution_metadata"]["isolation"][0] == "none: NOT ISOLATED"
    assert "UNISOLATED" in stop(unisolated)  # logged loudly
