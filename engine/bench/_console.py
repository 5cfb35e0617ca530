"""``shiftboss bench console``: the console with 100,000 jobs in the store while the engine
streams events. This side prepares the world (an engine child with the jobs, and a steady
submit load during the measurement); the console measures itself in its own process
(``python -m console.bench``, which this module runs and never imports), so the RSS is the
console's alone."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from engine.lifecycle import EngineProcess
from engine.output import emit_json, fail

CONFIG = """
[engine]
log_level = "warning"
[scheduler]
claim_batch = 2000
[pools.default]
concurrency = 256
"""
TARGET_MS = 100.0
TARGET_RSS_MB = 200.0


@click.command("console")
@click.option("--jobs", "n", type=click.IntRange(1000, 5_000_000), default=100_000, show_default=True,
              help="Jobs in the store before the console attaches.")
@click.option("--load", type=click.IntRange(0, 20_000), default=500, show_default=True,
              help="Jobs/s submitted (and run) while the console is measured: the event stream it follows.")
@click.option("--samples", type=click.IntRange(5, 1000), default=30, show_default=True,
              help="Key presses per interaction (page down gets twice as many).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_console(n: int, load: int, samples: int, as_json: bool) -> None:
    """Console key → fresh frame (open jobs, page down, filter) p50/p99, and its RSS.

    Target (docs/design.md §7): p99 ≤ 100 ms and RSS ≤ 200 MB with 100,000 jobs in the store."""
    say = (lambda _msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-console-") as tmp, \
            EngineProcess(Path(tmp) / "engine", CONFIG) as engine, engine.client(timeout=120) as client:
        say(f"filling the store: {n:,} jobs …")
        failing = max(1, n // 100)
        for start in range(0, n - failing, 10_000):
            client.post("/v1/jobs", {"jobs": [{"kind": "noop", "priority": i % 10}
                                              for i in range(min(10_000, n - failing - start))]})
        client.post("/v1/jobs", {"jobs": [{"kind": "demo.flaky", "payload": {"permanent": True}}] * failing})
        deadline = time.monotonic() + 600
        while sum(v for k, v in client.get("/v1/status")["counts"].items() if k in ("completed", "failed")) < n:
            if time.monotonic() > deadline:
                fail("the jobs did not finish within 600 s")
            time.sleep(0.2)
        stop = threading.Event()
        submitted = [0]
        feeder = threading.Thread(target=_feed, args=(engine, load, stop, submitted), daemon=True)
        seq_before = client.get("/v1/status")["last_seq"]
        feeder.start()
        began = time.monotonic()
        say(f"measuring the console ({samples} presses per interaction, {load:,} jobs/s streaming) …")
        try:
            proc = subprocess.run([sys.executable, "-m", "console.bench", "--attach", str(engine.socket),
                                   "--samples", str(samples)], capture_output=True, text=True, timeout=900)
        finally:
            stop.set()
            feeder.join(10)
        seconds = time.monotonic() - began
        events = client.get("/v1/status")["last_seq"] - seq_before
    if proc.returncode != 0:
        fail(f"the console benchmark failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(events_per_s=round(events / seconds), load_jobs_per_s=round(submitted[0] / seconds),
                  targets={"p99_ms": TARGET_MS, "rss_mb": TARGET_RSS_MB})
    if as_json:
        emit_json(result)
        return
    _print(result)


def _feed(engine: EngineProcess, rate: int, stop: threading.Event, submitted: list[int]) -> None:
    if rate <= 0:
        return
    per_tick = max(1, rate // 10)
    with engine.client(timeout=30) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            client.post("/v1/jobs", {"jobs": [{"kind": "noop"}] * per_tick})
            submitted[0] += per_tick
            next_at += per_tick / rate
            stop.wait(max(0.0, next_at - time.monotonic()))


def _print(r: dict[str, Any]) -> None:
    click.echo(f"\nconsole with {r['jobs_in_store']:,} jobs in the store, 120×40, while the engine streams "
               f"{r['events_per_s']:,} events/s ({r['load_jobs_per_s']:,} jobs/s)")
    click.echo(f"  {'key → fresh frame':<26}{'p50':>9}{'p99':>9}{'max':>9}   target p99")
    for key, label in (("open_jobs", "open jobs (j)"), ("page_down", "page down"), ("filter", "filter by state (s)")):
        row = r[key]
        ok = "ok" if row["p99_ms"] <= TARGET_MS else "MISSED"
        click.echo(f"  {label:<26}{row['p50_ms']:>7.1f}ms{row['p99_ms']:>7.1f}ms{row['max_ms']:>7.1f}ms   "
                   f"≤ {TARGET_MS:.0f} ms {ok}")
    click.echo(f"  {'first open (pre-built)':<26}{r['first_open_ms']:>7.1f}ms")
    ok = "ok" if r["rss_mb"] <= TARGET_RSS_MB else "MISSED"
    click.echo(f"  {'console RSS':<26}{r['rss_mb']:>7.1f}MB{'':>18}   ≤ {TARGET_RSS_MB:.0f} MB {ok}")
    click.echo("  (docs/design.md §7 sets absolute targets for the console, no baseline)")
