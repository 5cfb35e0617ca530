"""compute.run from a local directory, as an operator sends it: through the console's trigger form
(driven by Pilot) and through ``shiftboss jobs submit --upload`` — a real engine with a trusted
pool and a real worker process running the job sandboxed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from console import make_app
from console.api import Target
from console.screens.detail import JobDetailScreen
from engine.lifecycle import EngineProcess, WorkerProcesses
from engine.remote import generate_key, worker_id
from tests.console.conftest import eventually, open_trigger


@pytest.fixture
def pool_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    key = generate_key(tmp_path / "engine" / "coordinator.key")
    with WorkerProcesses(tmp_path, worker_id(key.verify_key)) as workers:
        worker = workers.start("w0")
        config = f"""
[engine]
grace_period = 0.5
[pools.default]
[pools.farm]
remote = true
kinds = ["compute.run"]
health_interval = 1
[[pools.farm.workers]]
worker_id = "{worker["worker_id"]}"
endpoint = "{worker["endpoint"]}"
"""
        with EngineProcess(tmp_path / "engine", config) as engine:
            yield engine


def _job_dir(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "calc.py").write_text("def square(n):\n    return n * n\n")
    (root / "main.py").write_text("import sys\nfrom lib.calc import square\n"
                                  "open('result.txt', 'w').write(str(square(int(sys.argv[1]))))\n"
                                  "print('squared', sys.argv[1])\n")
    return root


@pytest.mark.asyncio
async def test_the_trigger_form_packs_a_directory_uploads_it_and_runs_it(pool_engine: EngineProcess,
                                                                         tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path / "job")
    app = make_app(Target(str(pool_engine.socket)), actor="pilot")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trigger(app, pilot, "compute.run")
        files = await eventually(lambda: screen.query("#field-files") and screen.query_one("#field-files", Input))
        files.value = str(tmp_path / "nowhere")
        screen.query_one("#field-manifest--entrypoint", Input).value = "main.py"
        screen.query_one("#field-manifest--args", Input).value = '["12"]'
        screen.query_one("#field-manifest--outputs", Input).value = '["result.txt"]'
        files.focus()
        await pilot.press("enter")
        await eventually(lambda: "no such directory" in str(screen.query_one("#error-files").render()),
                         what="the bad path named under its field")
        with pool_engine.client() as client:
            assert client.get("/v1/jobs")["total"] == 0  # nothing was submitted
        files.value = str(job_dir)
        files.focus()
        await pilot.press("enter")
        detail = await eventually(lambda: isinstance(app.screen, JobDetailScreen) and app.screen, within=20,
                                  what="job opened")
        await eventually(lambda: detail.detail is not None and detail.detail.job.state in ("completed", "failed"),
                         within=30, what="the job ends")
        job = detail.detail.job  # type: ignore[union-attr]
        assert job.state == "completed", job.error
        assert job.result["stdout"] == "squared 12\n" and job.result["outputs"] == ["result.txt"]
        assert len(job.payload["files"]) == 64 and job.payload["manifest"]["args"] == ["12"]
        with pool_engine.client() as client:
            fetched = client._http.get(f"/outputs/{job.id}/result.txt")
            assert fetched.content == b"144"


def test_jobs_submit_uploads_a_directory(pool_engine: EngineProcess, tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path / "job")
    cli = [sys.executable, "-m", "engine", "jobs", "submit", "compute.run", "--socket", str(pool_engine.socket)]
    run = subprocess.run([*cli, "--upload", f"files={job_dir}", "-p", "manifest.entrypoint=main.py",
                          "-p", 'manifest.args=["5"]', "--wait", "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    job = json.loads(run.stdout)
    assert job["state"] == "completed" and job["result"]["stdout"] == "squared 5\n"
    bad = subprocess.run([*cli, "--upload", f"files={tmp_path / 'nowhere'}", "-p", "manifest.entrypoint=main.py"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--upload files:" in bad.stderr and "no such directory" in bad.stderr
