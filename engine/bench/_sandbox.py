"""``shiftboss bench sandbox``: what the sandbox costs a job's start — a job that does nothing
(``pass``) run through :mod:`engine.sandbox` (bubblewrap, its namespaces, the uid, the limits,
the tmpfs, the output walk), beside the same interpreter started bare (``python3 -c pass``),
measured in turn in the same run. The target: ≤ 20 ms per job over the bare start."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import click
import trio

from engine.output import emit_json, fail
from engine.sandbox import Limits, Manifest, Sandbox, SandboxError, Unavailable, run

TARGET_MS = 20.0


@click.command("sandbox")
@click.option("--runs", type=click.IntRange(5, 10_000), default=100, show_default=True,
              help="Jobs each side starts, one after another.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_sandbox(runs: int, as_json: bool) -> None:
    """Sandbox start overhead per job beside a bare `python3 -c pass`."""
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-sandbox-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            sandbox = Sandbox.probe(tmp / "scratch")
        except Unavailable as exc:
            fail(str(exc))
        python = sandbox.program(Manifest(entrypoint="job.py"))[0]
        bare: list[float] = []
        boxed: list[float] = []

        async def one_boxed() -> None:
            began = time.perf_counter()
            result = await run(sandbox, lambda dest: Path(dest, "job.py").write_text("pass\n"),
                               Manifest(entrypoint="job.py"), Limits(), tmp / "out")
            boxed.append(time.perf_counter() - began)
            if result.state != "completed":
                raise SandboxError(f"the empty job ended {result.state}: {result.stderr[-300:]}")

        async def both() -> None:
            for _ in range(runs):  # in turn: both sides see the same machine
                began = time.perf_counter()
                subprocess.run([python, "-c", "pass"], check=True)  # noqa: ASYNC221 - the bare start, no thread hop
                bare.append(time.perf_counter() - began)
                await one_boxed()

        try:
            trio.run(both)
        except SandboxError as exc:
            fail(str(exc))
    ms = {name: {"median": round(statistics.median(xs) * 1000, 2),
                 "p90": round(statistics.quantiles(xs, n=10)[-1] * 1000, 2)} for name, xs in (("bare", bare), ("sandbox", boxed))}
    overhead = round(ms["sandbox"]["median"] - ms["bare"]["median"], 2)
    report = {"runs": runs, "ms": ms, "overhead_ms": overhead, "target_ms": TARGET_MS, "ok": overhead <= TARGET_MS,
              "isolation": list(sandbox.names)}
    if as_json:
        emit_json(report)
        return
    click.echo(f"\nSandbox start, {runs} empty jobs each, in turn ({', '.join(sandbox.names)})")
    click.echo(f"  python3 -c pass    {ms['bare']['median']:7.2f} ms median  {ms['bare']['p90']:7.2f} ms p90")
    click.echo(f"  sandboxed job      {ms['sandbox']['median']:7.2f} ms median  {ms['sandbox']['p90']:7.2f} ms p90")
    click.echo(f"  overhead {overhead:.2f} ms per job (target ≤ {TARGET_MS:g} ms): {'ok' if report['ok'] else 'MISSED'}")
