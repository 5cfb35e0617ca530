"""``shiftboss bench pool``: the trusted pool on real worker processes on this machine.

* **Throughput**: N trivial ``compute.run`` jobs (``print("ok")``) through the engine — beside
  the seed's coordinator shape on the same workers: one blocking HTTP submit per job to the
  least busy worker, each job's status polled every second.
* **Dispatch latency** (submit → running on a worker), on jobs submitted one by one well below
  capacity, both sides.
* **Remote hashing**: KALE hashes/s of a ``pow.kale`` job on the local threads alone, then with
  two worker processes hashing ranges beside them (on a 2-core machine the sum cannot exceed the
  cores: the figure is the efficiency, with/alone).
"""

from __future__ import annotations

import io
import shutil
import statistics
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx
import nacl.signing

from engine.lifecycle import EngineProcess, StartFailed, WorkerProcesses
from engine.output import emit_json, fail
from engine.remote._protocol import generate_key, sign_request, worker_id

TARGETS = {"speedup": 5.0, "dispatch_p99_ms": 50.0, "hashing_efficiency": 0.9}
FARMER = "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE"


@click.command("pool")
@click.option("--jobs", "n", type=click.IntRange(10, 100_000), default=1000, show_default=True,
              help="Trivial compute.run jobs each side runs.")
@click.option("--workers", "n_workers", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--slots", type=click.IntRange(1, 64), default=4, show_default=True, help="Jobs per worker at once.")
@click.option("--paced", type=click.IntRange(5, 10_000), default=100, show_default=True,
              help="Jobs submitted one by one for the dispatch latency.")
@click.option("--hash-seconds", type=click.FloatRange(1, 120), default=8.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_pool(n: int, n_workers: int, slots: int, paced: int, hash_seconds: float, as_json: bool) -> None:
    """Trusted pool: compute.run jobs/s and dispatch latency beside the seed's coordinator, and
    remote hashing efficiency."""
    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-pool-") as tmp_name:
        tmp = Path(tmp_name)
        key = generate_key(tmp / "engine" / "coordinator.key")
        with WorkerProcesses(tmp, worker_id(key.verify_key), slots=slots) as workers:
            try:
                allow = [workers.start(f"w{i}") for i in range(n_workers)]
            except StartFailed as exc:
                fail(str(exc))
            say(f"{n_workers} workers up ({slots} slots each); engine: {n} jobs …")
            ours = _engine_side(tmp / "engine", allow, n, paced, slots)
            say(f"the seed's coordinator shape: {n} jobs …")
            seed = _seed_side(key, allow, n, paced, slots)
            say(f"KALE hashing: local threads alone, then with {min(2, n_workers)} workers …")
            hashing = _hashing(tmp / "hash", allow[:2], hash_seconds)
    report = {"jobs": n, "workers": n_workers, "slots": slots, "engine": ours, "seed_shape": seed,
              "speedup": round(ours["jobs_per_s"] / seed["jobs_per_s"], 2), "hashing": hashing, "targets": TARGETS}
    if as_json:
        emit_json(report)
        return
    click.echo(f"\ntrusted pool, {n_workers} local workers × {slots} slots, {n} compute.run jobs of print('ok')")
    click.echo(f"  engine             {ours['jobs_per_s']:8.1f} jobs/s   dispatch p50 {ours['dispatch_p50_ms']} ms, "
               f"p99 {ours['dispatch_p99_ms']} ms")
    click.echo(f"  seed's coordinator {seed['jobs_per_s']:8.1f} jobs/s   dispatch p50 {seed['dispatch_p50_ms']} ms, "
               f"p99 {seed['dispatch_p99_ms']} ms")
    ok = report["speedup"] >= TARGETS["speedup"] and ours["dispatch_p99_ms"] <= TARGETS["dispatch_p99_ms"]
    click.echo(f"  speedup {report['speedup']}× (target ≥ {TARGETS['speedup']:g}×), dispatch p99 target ≤ "
               f"{TARGETS['dispatch_p99_ms']:g} ms: {'ok' if ok else 'MISSED'}")
    h = hashing
    click.echo(f"  KALE hashing: local {h['local_hps'] / 1e6:.2f} MH/s, local + workers {h['with_remote_hps'] / 1e6:.2f} "
               f"MH/s (remote share {h['remote_share']:.0%}); efficiency {h['efficiency']} "
               f"(target ≥ {TARGETS['hashing_efficiency']}) {'ok' if h['efficiency'] >= TARGETS['hashing_efficiency'] else 'MISSED'}")


def _tarball() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b'print("ok")\n'
        info = tarfile.TarInfo("main.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _pool_config(allow: list[dict[str, Any]], extra: str = "") -> str:
    slots = sum(int(w["max_concurrent_jobs"]) for w in allow)
    workers = "".join(f'[[pools.farm.workers]]\nworker_id = "{w["worker_id"]}"\nendpoint = "{w["endpoint"]}"\n'
                      f'max_concurrent_jobs = {w["max_concurrent_jobs"]}\n' for w in allow)
    return f"""
[engine]
log_level = "warning"
grace_period = 1
[pools.default]
[pools.pow]
kinds = ["pow.kale", "pow.structs", "pow.hashcash"]
{extra}
[pools.farm]
remote = true
kinds = ["compute.run"]
concurrency = {2 * slots}
health_interval = 5
{workers}"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _engine_side(where: Path, allow: list[dict[str, Any]], n: int, paced: int, slots: int) -> dict[str, Any]:
    with EngineProcess(where, _pool_config(allow)) as engine, engine.client(timeout=120) as client:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(engine.socket)), base_url="http://engine") as raw:
            files = raw.post("/v1/files", content=_tarball()).json()["sha256"]  # a raw body: not the JSON client
        spec = {"kind": "compute.run", "payload": {"files": files, "manifest": {"entrypoint": "main.py"}}}
        _wait_healthy(client, len(allow))
        began = time.time()
        client.post("/v1/jobs", {"jobs": [spec] * n})
        done = _wait_done(client, n)
        seconds = max(j["finished_at"] for j in done) - began
        latencies = []
        for _ in range(paced):
            job = client.post("/v1/jobs", spec)
            final = _wait_one(client, job["id"])
            latencies.append((final["result"]["started_at"] - final["created_at"]) * 1000)
            time.sleep(0.02)
    return {"seconds": round(seconds, 2), "jobs_per_s": round(n / seconds, 1),
            "dispatch_p50_ms": round(statistics.median(latencies), 1),
            "dispatch_p99_ms": round(_percentile(latencies, 0.99), 1)}


def _wait_healthy(client: Any, n: int) -> None:
    deadline = time.monotonic() + 30
    while sum(1 for w in client.get("/v1/workers")["workers"] if w["detail"].get("remote") and w["health"] == "ok") < n:
        if time.monotonic() > deadline:
            fail("the workers did not become healthy")
        time.sleep(0.1)


def _wait_done(client: Any, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 900
    while True:
        failed = client.get("/v1/jobs", kind="compute.run", state="failed", limit=1)
        if failed["total"]:
            fail(f"a compute.run job failed: {failed['jobs'][0]['error']}")
        page = client.get("/v1/jobs", kind="compute.run", state="completed", limit=1)
        if page["total"] >= n:
            break
        if time.monotonic() > deadline:
            fail(f"only {page['total']} of {n} jobs completed in 900 s")
        time.sleep(0.2)
    jobs, cursor = [], None
    while True:
        page = client.get("/v1/jobs", kind="compute.run", state="completed", limit=1000,
                          **({"cursor": cursor} if cursor else {}))
        jobs += page["jobs"]
        cursor = page.get("next_cursor")
        if not cursor:
            return jobs


def _wait_one(client: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (job := client.get(f"/v1/jobs/{job_id}")["job"])["state"] not in ("completed", "failed"):
        if time.monotonic() > deadline:
            fail(f"{job_id} did not finish")
        time.sleep(0.005)
    if job["state"] != "completed":
        fail(f"{job_id} failed: {job['error']}")
    return dict(job)


def _seed_side(key: nacl.signing.SigningKey, allow: list[dict[str, Any]], n: int, paced: int,
               slots: int) -> dict[str, Any]:
    """The seed's coordinator: a queue, the least busy worker under its limit, one blocking
    submit per job, and every job's status polled once a second."""
    archive = _tarball()
    manifest = '{"entrypoint": "main.py", "interpreter": "python3"}'
    http = httpx.Client(timeout=30)

    def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
        request = http.build_request(method, url, **kwargs)
        request.headers.update(sign_request(key, method, request.url.raw_path.decode(), request.read()))
        return http.send(request)

    active: dict[str, list[str]] = {w["endpoint"]: [] for w in allow}

    def submit_one() -> tuple[str, str, float]:
        while True:
            endpoint = min(active, key=lambda e: len(active[e]))
            if len(active[endpoint]) < slots:
                break
            poll()
            time.sleep(1.0)  # the seed waits for its next health/status round
        sent = time.time()
        answer = call("POST", f"{endpoint}/submit", files={"files": ("job.tar.gz", archive)},
                      data={"manifest": manifest})
        job_id = answer.json()["job_id"]
        active[endpoint].append(job_id)
        return endpoint, job_id, sent

    done: list[tuple[str, str]] = []

    def poll() -> None:
        for endpoint, ids in active.items():
            for job_id in list(ids):
                status = call("GET", f"{endpoint}/status/{job_id}").json()
                if status["status"] not in ("queued", "running"):
                    ids.remove(job_id)
                    done.append((endpoint, job_id))

    began = time.time()
    for _ in range(n):
        submit_one()
    while any(active.values()):
        time.sleep(1.0)
        poll()
    seconds = time.time() - began
    latencies = []
    for _ in range(paced):
        endpoint, job_id, sent = submit_one()
        while (status := call("GET", f"{endpoint}/status/{job_id}").json())["started_at"] is None:
            time.sleep(0.001)
        latencies.append((status["started_at"] - sent) * 1000)
        while any(active.values()):
            time.sleep(1.0)
            poll()
    http.close()
    return {"seconds": round(seconds, 2), "jobs_per_s": round(n / seconds, 1),
            "dispatch_p50_ms": round(statistics.median(latencies), 1),
            "dispatch_p99_ms": round(_percentile(latencies, 0.99), 1)}


def _hashing(where: Path, allow: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    for side in ("alone", "with"):  # the workers serve one coordinator: the bench's key, in both engines
        _mkdir(where / side)
        shutil.copy(where.parent / "engine" / "coordinator.key", where / side / "coordinator.key")
    job_payload: dict[str, Any] = {"index": 1, "entropy": "00" * 32, "farmer": FARMER, "mode": "best",
                                   "seconds": seconds, "min_zeros": 1}
    payload = {"kind": "pow.kale", "payload": job_payload}

    def rate(engine_dir: Path, config: str) -> tuple[float, float]:
        with EngineProcess(engine_dir, config) as engine, engine.client(timeout=120) as client:
            _wait_healthy(client, len(allow))
            warm = {"kind": "pow.kale", "payload": {**{k: v for k, v in job_payload.items() if k != "seconds"},
                                                    "mode": "until", "min_zeros": 3}}
            _wait_one(client, client.post("/v1/jobs", warm)["id"])  # kernels loaded (here and on the workers)
            before = remote_hashes(client)
            final = _wait_one(client, client.post("/v1/jobs", payload)["id"])
            remote = remote_hashes(client) - before
        return final["result"]["hashes"] / final["result"]["seconds"], remote / max(final["result"]["hashes"], 1)

    def remote_hashes(client: Any) -> int:
        return sum(int(w["detail"].get("hashes", 0)) for w in client.get("/v1/workers")["workers"]
                   if w["detail"].get("remote_hasher"))

    alone, _ = rate(where / "alone", _pool_config(allow))
    both, share = rate(where / "with", _pool_config(allow, extra='hash_on = ["farm"]'))
    return {"local_hps": round(alone), "with_remote_hps": round(both), "remote_share": round(share, 3),
            "efficiency": round(both / alone, 3)}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


__all__ = ["bench_pool"]
