"""``shiftboss bench queue``: the durable queue measured beside a redis-py RPUSH/BLPOP loop.

Everything runs in one go on this machine: a fresh engine in a temp dir (a child process, as
in production), our client over its Unix socket, and a ``redis-server`` this command starts
itself on a free loopback port — the non-durable way the EVM workflow seed queued jobs. With
``--store postgresql://…`` it also measures 1, 2 and 3 engines sharing that database (its jobs
are deleted before each run: give it a database of its own).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from engine.lifecycle import EngineProcess
from engine.output import emit_json, fail, percentiles
from engine.ports import free_port

BENCH_CONFIG = """
[engine]
grace_period = 5
log_level = "warning"
[store]
synchronous = "{synchronous}"
[scheduler]
claim_batch = 2000
[pools.bench]
concurrency = 2000
kinds = ["*"]
"""
TARGETS = {"submit_rate": 20_000, "lifecycle_rate": 5_000}


@click.command("queue")
@click.option("--jobs", "n", type=click.IntRange(1000, 10_000_000), default=50_000, show_default=True,
              help="Jobs per throughput measurement.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=1000, show_default=True, help="Jobs per submit request.")
@click.option("--samples", type=click.IntRange(10, 100_000), default=1000, show_default=True,
              help="Single-job submits for the latency figure.")
@click.option("--synchronous", type=click.Choice(["NORMAL", "FULL"]), default="FULL", show_default=True,
              help="store.synchronous of the engine under test.")
@click.option("--redis-server", "redis_bin", default="redis-server", show_default=True, help="redis-server binary.")
@click.option("--store", "store_url", metavar="URL",
              help="Also measure 1, 2 and 3 engines sharing this PostgreSQL database (a bench database: its jobs are "
                   "deleted before each run; the password from SHIFTBOSS_PG_PASSWORD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure and its baseline.")
def bench_queue(n: int, batch: int, samples: int, synchronous: str, redis_bin: str, store_url: str | None,
                as_json: bool) -> None:
    """Durable submit rate, submit→claim→complete rate and submit latency, beside redis-py."""
    say = (lambda msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-") as tmp:
        say("measuring redis-py RPUSH/BLPOP loop …")
        baseline = redis_loop(redis_bin, n, Path(tmp))
        say("starting a fresh engine …")
        with EngineProcess(Path(tmp) / "engine", BENCH_CONFIG.format(synchronous=synchronous)) as engine:
            figures = measure_engine(engine, n, batch, samples, say)
        shared = None if store_url is None else {
            engines: measure_shared(store_url, engines, n, batch, Path(tmp), say) for engines in (1, 2, 3)}
    ours = figures["lifecycle_rate"]
    base = baseline.get("loop_rate")
    result: dict[str, Any] = {
        "jobs": n, "batch": batch, "synchronous": synchronous, **figures, "baseline": baseline,
        "lifecycle_vs_redis": round(ours / base, 2) if base else None,
        "targets": {**TARGETS, "lifecycle_vs_redis": 1.0},
    }
    result["meets_targets"] = bool(
        figures["submit_rate"] >= TARGETS["submit_rate"] and ours >= TARGETS["lifecycle_rate"]
        and (base is None or ours >= base)
    )
    if shared is not None:
        one = shared[1]
        result["postgresql"] = {"lifecycle_rate": shared, "one_vs_sqlite": round(one / ours, 2),
                                "two_vs_one": round(shared[2] / one, 2), "three_vs_one": round(shared[3] / one, 2),
                                "targets": {"one_vs_sqlite": 0.5, "two_vs_one": 1.5}}
    if as_json:
        emit_json(result)
    else:
        _print(result)


def measure_engine(engine: EngineProcess, n: int, batch: int, samples: int, say: Any) -> dict[str, Any]:
    with engine.client(timeout=120) as client:
        # 1. durable submit, batched, with the pool paused so nothing else competes
        client.post("/v1/pools/bench/pause", {"reason": "bench: submit only"})
        say(f"durable submit: {n:,} noop jobs in batches of {batch} …")
        body = {"jobs": [{"kind": "noop"}] * batch}
        start = time.perf_counter()
        for _ in range(n // batch):
            client.post("/v1/jobs", body)
        submit_s = time.perf_counter() - start
        submitted = (n // batch) * batch
        # drain those (claim + complete only), so the lifecycle run starts from an empty queue
        client.post("/v1/pools/bench/resume", {})
        start = time.perf_counter()
        _wait_completed(client, submitted)
        drain_s = time.perf_counter() - start
        # 2. full lifecycle: submit while the pool claims and completes
        say(f"lifecycle: {n:,} jobs submitted → claimed → completed …")
        start = time.perf_counter()
        for _ in range(n // batch):
            client.post("/v1/jobs", body)
        _wait_completed(client, 2 * submitted)
        lifecycle_s = time.perf_counter() - start
        # 3. single-job submit latency over the Unix socket
        say(f"latency: {samples:,} single-job submits …")
        one = {"kind": "noop"}
        latencies = []
        for _ in range(samples):
            t0 = time.perf_counter()
            client.post("/v1/jobs", one)
            latencies.append((time.perf_counter() - t0) * 1000)
        _wait_completed(client, 2 * submitted + samples)
    return {
        "submit_rate": round(submitted / submit_s),
        "claim_complete_rate": round(submitted / drain_s),
        "lifecycle_rate": round(submitted / lifecycle_s),
        "submit_latency_ms": percentiles(latencies, 3),
    }


def measure_shared(url: str, engines: int, n: int, batch: int, tmp: Path, say: Any) -> int:
    """Lifecycles/s of ``engines`` engines on one PostgreSQL database: ``n`` jobs submitted through
    all of them at once (a thread each), until the database counts them completed."""
    import os
    import threading

    from engine.store._pg import connect

    with connect(url, os.environ.get("SHIFTBOSS_PG_PASSWORD")).raw as db:
        exists = db.execute("SELECT to_regclass('jobs') IS NOT NULL").fetchone()
        if exists and exists[0]:
            db.execute("DELETE FROM attempts")
            db.execute("DELETE FROM jobs")
        say(f"PostgreSQL, {engines} engine(s): {n:,} jobs submitted → claimed → completed …")
        procs = [EngineProcess(tmp / f"pg{engines}-{i}", BENCH_CONFIG.format(synchronous="FULL"),
                               extra_args=["--store", url]).start(timeout=120) for i in range(engines)]
        try:
            share = n // batch // engines
            body = {"jobs": [{"kind": "noop"}] * batch}

            def submit(proc: EngineProcess) -> None:
                with proc.client(timeout=120) as client:
                    for _ in range(share):
                        client.post("/v1/jobs", body)

            start = time.perf_counter()
            threads = [threading.Thread(target=submit, args=(p,)) for p in procs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total = share * batch * engines
            deadline = time.monotonic() + 600
            while True:
                row = db.execute("SELECT count(*) FROM jobs WHERE state = 'completed'").fetchone()
                if row and row[0] >= total:
                    break
                if time.monotonic() > deadline:
                    fail("jobs did not complete within 600 s")
                time.sleep(0.02)
            return round(total / (time.perf_counter() - start))
        finally:
            for proc in procs:
                proc.terminate(60)


def _wait_completed(client: Any, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = client.get("/v1/status")["counts"].get("completed", 0)
        if done >= total:
            return
        time.sleep(0.01)
    fail(f"jobs did not complete within {timeout:g} s")


def redis_loop(redis_bin: str, n: int, tmp: Path) -> dict[str, Any]:
    """RPUSH n job documents one at a time, then BLPOP them one at a time (the seed's queue)."""
    binary = shutil.which(redis_bin)
    if binary is None:
        return {"error": f"{redis_bin} not found (Debian package redis-server; `make venv` installs it)"}
    import json

    import redis

    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(200):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        job = {"workflow_id": 1, "action_data": "0x", "next_run": 0, "user": "0x" + "00" * 20, "gas": 100000}
        start = time.perf_counter()
        for i in range(n):
            r.rpush("jobs", json.dumps({**job, "workflow_id": i}))
        push_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n):
            json.loads(r.blpop(["jobs"], timeout=5)[1])  # type: ignore[index]
        pop_s = time.perf_counter() - start
        version = r.info("server")["redis_version"]
        r.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return {"push_rate": round(n / push_s), "pop_rate": round(n / pop_s), "loop_rate": round(n / (push_s + pop_s)),
            "redis_version": version}


def _print(r: dict[str, Any]) -> None:
    b = r["baseline"]
    base_txt = (f"redis-py loop {b['loop_rate']:,}/s (push {b['push_rate']:,}/s, pop {b['pop_rate']:,}/s)"
                if "loop_rate" in b else f"redis baseline unavailable: {b.get('error')}")
    lat = r["submit_latency_ms"]
    rows = [
        ("durable submit, batched", f"{r['submit_rate']:,} jobs/s", "—", "≥ 20,000 jobs/s"),
        ("claim → complete (drain)", f"{r['claim_complete_rate']:,} jobs/s", "—", "—"),
        ("submit → claim → complete", f"{r['lifecycle_rate']:,} jobs/s", base_txt,
         f"≥ 5,000/s and ≥ 1× redis ({r['lifecycle_vs_redis']}×)" if r["lifecycle_vs_redis"] else "≥ 5,000/s"),
        ("single submit latency", f"p50 {lat['p50']:.2f} ms · p99 {lat['p99']:.2f} ms", "—", "—"),
    ]
    header = ("figure", "ours", "baseline (same run)", "target")
    w = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    click.echo(f"shiftboss bench queue — {r['jobs']:,} noop jobs, batches of {r['batch']}, synchronous={r['synchronous']}")
    for row in [header, *rows]:
        click.echo("  ".join(c.ljust(w[i]) for i, c in enumerate(row)).rstrip())
    click.echo("meets targets: " + ("yes" if r["meets_targets"] else "NO"))
    pg = r.get("postgresql")
    if pg:
        rates = pg["lifecycle_rate"]
        click.echo(f"PostgreSQL, submit → claim → complete: 1 engine {rates[1]:,}/s ({pg['one_vs_sqlite']}× SQLite, "
                   f"target ≥ 0.5×), 2 engines {rates[2]:,}/s ({pg['two_vs_one']}× one, target ≥ 1.5×), "
                   f"3 engines {rates[3]:,}/s ({pg['three_vs_one']}× one)")
