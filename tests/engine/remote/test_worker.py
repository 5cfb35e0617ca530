"""`shiftboss worker run` as a real process on loopback, driven through the coordinator's client:
the signed health challenge (an impostor that only echoes the id is refused), requests signed by
anyone but its coordinator refused, a sandboxed job submitted, followed and its output fetched,
cancel, drain, and a PoW range whose result checks out."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nacl.signing
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.ports import free_port
from engine.pow.kale import KaleWork
from engine.remote import ProtocolError, worker_id
from engine.remote._client import WorkerClient, WorkerRefused
from engine.remote._protocol import sign_request
from tests.conftest import require_tool
from tests.workers import Worker, launch, stop, tarball

FARMER = "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    started = launch("root" if os.geteuid() == 0 else "user", tmp_path, "--slots", "2", "--timeout", "20")
    yield started
    stop(started)


def test_keygen_never_overwrites_and_keeps_the_key_private(tmp_path: Path) -> None:
    key_path = tmp_path / "worker.key"
    out = subprocess.run([sys.executable, "-m", "engine", "worker", "keygen", str(key_path), "--json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["worker_id"]
    again = subprocess.run([sys.executable, "-m", "engine", "worker", "keygen", str(key_path)], capture_output=True,
                           text=True)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert key_path.stat().st_mode & 0o777 == 0o600


async def until_done(client: WorkerClient, job_id: str, within: float = 20) -> dict:  # type: ignore[type-arg]
    with trio.fail_after(within):
        while (status := await client.status(job_id))["status"] in ("queued", "running"):  # noqa: ASYNC110 - polling a remote worker
            await trio.sleep(0.1)
    return status


@pytest.mark.trio
async def test_health_is_a_signed_answer_to_a_fresh_challenge(worker: Worker) -> None:
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as client:
        health = await client.health()
        assert health["worker_id"] == worker.id and health["status"] == "healthy"
        assert health["capacity"]["slots"] == 2 and health["capacity"]["cores"] >= 1
        assert health["sandbox"] == "bwrap" and "net:none" in health["isolation"]
        assert any(name.startswith("bubblewrap") for name in health["isolation"])
    other = nacl.signing.SigningKey.generate()
    async with WorkerClient(worker.coordinator, worker.url, worker_id(other.verify_key)) as wrong_id:
        with pytest.raises(ProtocolError, match="signature"):  # the answer is not signed by the allowlisted key
            await wrong_id.health()


@pytest.mark.trio
async def test_an_impostor_that_echoes_the_id_is_refused(worker: Worker) -> None:
    async def echo(request: object) -> JSONResponse:  # the seed's check would accept this
        return JSONResponse({"status": "healthy", "worker_id": worker.id, "time": time.time()})

    config = Config()
    config.bind = ["127.0.0.1:0"]
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, Starlette(routes=[Route("/health", echo)]), config)
        async with WorkerClient(worker.coordinator, binds[0], worker.id) as client:
            with pytest.raises(ProtocolError, match="not signed"):
                await client.health()
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_requests_not_signed_by_its_coordinator_are_refused(worker: Worker) -> None:
    async with httpx.AsyncClient(base_url=worker.url) as http:
        assert (await http.get("/health", params={"challenge": "a" * 32})).status_code == 401
        stranger = nacl.signing.SigningKey.generate()
        signed = sign_request(stranger, "GET", "/status/x")
        answer = await http.get("/status/x", headers=signed)
        assert answer.status_code == 401 and "not this worker's coordinator" in answer.json()["error"]
        good = sign_request(worker.coordinator, "GET", "/status/x")
        assert (await http.get("/status/x", headers=good)).status_code == 404  # through: no such job
        replay = await http.get("/status/x", headers=good)
        assert replay.status_code == 401 and "replayed" in replay.json()["error"]
        tampered = sign_request(worker.coordinator, "POST", "/drain", b'{"draining": false}')
        answer = await http.post("/drain", content=b'{"draining": true}', headers=tampered)
        assert answer.status_code == 401 and "does not verify" in answer.json()["error"]


@pytest.mark.trio
async def test_a_job_runs_sandboxed_and_its_output_is_fetched(worker: Worker) -> None:
    code = "import sys\nopen('result.txt', 'w').write('hello ' + sys.argv[1])\nprint('done')\n"
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as client:
        submitted = await client.submit(tarball({"main.py": code}), {"entrypoint": "main.py", "args": ["pool"],
                                                                     "outputs": ["result.txt"]})
        status = await until_done(client, submitted["job_id"])
        assert status["status"] == "completed" and status["exit_code"] == 0 and status["stdout"] == "done\n"
        assert status["execution_metadata"]["cpu_seconds"] > 0 and status["outputs"] == ["result.txt"]
        assert await client.output(submitted["job_id"], "result.txt") == b"hello pool"
        with pytest.raises(WorkerRefused) as refused:
            await client.output(submitted["job_id"], "main.py")  # not a declared output
        assert refused.value.status == 404
        with pytest.raises(WorkerRefused) as refused:
            await client.submit(tarball({"../x.py": "print(1)"}), {"entrypoint": "x.py"})
        assert refused.value.status == 400 and "OutsideDestination" in refused.value.message

        sleeper = await client.submit(tarball({"s.py": "import time\ntime.sleep(60)\n"}), {"entrypoint": "s.py"})
        await client.cancel(sleeper["job_id"])
        assert (await until_done(client, sleeper["job_id"], within=10))["status"] == "cancelled"

        await client.drain(True)
        assert (await client.health())["status"] == "draining"
        with pytest.raises(WorkerRefused) as refused:
            await client.submit(tarball({"main.py": "print(1)"}), {"entrypoint": "main.py"})
        assert refused.value.status == 503
        await client.drain(False)


@pytest.mark.trio
async def test_a_pow_range_comes_back_signed_and_checks_out(worker: Worker) -> None:
    entropy = "00" * 32
    async with WorkerClient(worker.coordinator, worker.url, worker.id, timeout=60) as client:
        answer = await client.pow("kale", 1000, 200_000, 64, {"index": 7, "entropy": entropy, "farmer": FARMER})
    assert answer["hashes"] >= 200_000 and answer["best_nonce"] is not None
    from engine.pow.kale import parse_entropy, parse_farmer

    work = KaleWork(7, parse_entropy(entropy), parse_farmer(FARMER))
    work.verify(answer["best_nonce"], answer["best_zeros"])  # raises if the hash is not what it claims
    local = work.search(1000, 200_000, 64)
    assert (local.best_nonce, local.best_zeros) == (answer["best_nonce"], answer["best_zeros"])


@pytest.fixture
def tls_worker(tmp_path: Path) -> Iterator[tuple[Worker, Path]]:
    """A worker serving HTTPS with a self-signed certificate for 127.0.0.1 (openssl makes it)."""
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    key_path = tmp_path / "worker.key"
    identity = json.loads(subprocess.run([sys.executable, "-m", "engine", "worker", "keygen", str(key_path), "--json"],
                                         capture_output=True, text=True, check=True).stdout)["worker_id"]
    coordinator = nacl.signing.SigningKey.generate()
    jobs = Path(tempfile.mkdtemp(prefix="shiftboss-worker-", dir="/tmp"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "engine", "worker", "run", "--key", str(key_path), "--coordinator",
                             worker_id(coordinator.verify_key), "--listen", f"127.0.0.1:{port}", "--work-dir", str(jobs),
                             "--tls-cert", str(cert), "--tls-key", str(key)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/health", timeout=1, verify=False)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline and proc.poll() is None, "the TLS worker did not start"
            time.sleep(0.1)
    try:
        yield Worker("root" if os.geteuid() == 0 else "user", url, identity, coordinator, proc, key_path, jobs), cert
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(jobs, ignore_errors=True)


@pytest.mark.trio
async def test_tls_with_the_pools_ca_and_refused_without_it(tls_worker: tuple[Worker, Path]) -> None:
    worker, ca = tls_worker
    async with WorkerClient(worker.coordinator, worker.url, worker.id,
                            verify=ssl.create_default_context(cafile=str(ca))) as client:
        assert (await client.health())["worker_id"] == worker.id
    async with WorkerClient(worker.coordinator, worker.url, worker.id) as untrusting:  # the system's CAs only
        with pytest.raises(httpx.ConnectError) as refused:
            await untrusting.health()
        chain, cause = [], refused.value
        while cause is not None:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        assert any(isinstance(c, ssl.SSLCertVerificationError) for c in chain), chain
