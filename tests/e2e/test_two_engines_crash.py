"""Two engine processes on one PostgreSQL database, 10,000 acknowledged jobs, kill -9 at a random
moment of the one running the store's timers (waits and retries coming due, reaping): every job
completes exactly once (one completed attempt each), none is left stuck; the timers move to the
survivor, which reaps the killed engine's leases, and the killed engine, started again, recovers
nothing twice."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from engine.lifecycle import EngineProcess
from tests.e2e._devnet_thread import wait_until

CONFIG = "[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[pools.default]\nconcurrency = 16\n"
JOBS = 10_000


@pytest.mark.slow
def test_kill_9_of_one_of_two_engines_loses_and_repeats_nothing(pg_cluster: Any, tmp_path: Path) -> None:
    import psycopg

    url = pg_cluster.new_database()
    engines = [EngineProcess(tmp_path / name, CONFIG, extra_args=["--store", url]).start() for name in ("a", "b")]
    try:
        def timers_on() -> Any:  # the pid of the engine holding the store's timers
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT e.pid FROM leases l JOIN engines e ON e.id = l.owner"
                                   " WHERE l.name = 'store.timers' AND l.until > extract(epoch FROM now())").fetchone()
            return row and row[0]

        holder = wait_until(timers_on, 30, "one engine running the store's timers")
        victim = next(e for e in engines if e.proc is not None and e.proc.pid == holder)
        survivor = next(e for e in engines if e is not victim)
        with survivor.client(timeout=60) as client:
            for start in range(0, JOBS, 2000):
                answer = client.post("/v1/jobs", {"jobs": [{"kind": "sleep", "payload": {"seconds": 0.002}}
                                                            for _ in range(start, start + 2000)]})
                assert len(answer["jobs"]) == 2000  # acknowledged
            time.sleep(random.uniform(0.2, 2.0))  # a random moment while both are working
            victim.kill()

            def finished() -> Any:
                page = client.get("/v1/jobs", state="completed", count=1, limit=1)
                return page["total"] == JOBS

            wait_until(finished, 180, f"all {JOBS} jobs completed after the kill")
            assert survivor.proc is not None and timers_on() == survivor.proc.pid  # the timers moved
        victim.start()  # recovers only what no live engine holds: by now, nothing
        time.sleep(1.0)
    finally:
        for engine in engines:
            if engine.proc and engine.proc.poll() is None:
                engine.terminate(30)
    with psycopg.connect(url) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
        completed = conn.execute("SELECT job_id, count(*) FROM attempts WHERE outcome = 'completed'"
                                 " GROUP BY job_id HAVING count(*) <> 1").fetchall()
        workers = {w.rsplit("/", 1)[0] for (w,) in conn.execute("SELECT DISTINCT worker FROM attempts")}
        seqs = [s for (s,) in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert states == {"completed": JOBS}
    assert completed == []  # every job completed exactly once
    assert len(workers) >= 2  # both engines worked
    assert seqs == list(range(1, len(seqs) + 1))  # one gap-free order across both engines
