"""What `make demo` does for CloudMesh: `shiftboss cloudmesh devnet --detach` (the Solana node,
the IPFS endpoint and a demo owner creating jobs) and an engine started with
`--cloudmesh-devnet STATE`, which runs the demo jobs to completed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from engine.lifecycle import EngineProcess
from tests.engine.solana.test_cli import shiftboss
from tests.engine.solana.test_program import Chain


def test_the_demo_devnet_and_an_engine_run_demo_jobs(tmp_path: Path) -> None:
    Chain()
    state_path = tmp_path / "cloudmesh-devnet.json"
    started = shiftboss("cloudmesh", "devnet", "--detach", "--rpc-port", "0", "--ipfs-port", "0", "--slot-seconds",
                        "0.1", "--demo-jobs", "0.5", "--state", str(state_path))
    state = json.loads(state_path.read_text())
    assert "LiteSVM" in started.stdout and state["rpc"].startswith("http://127.0.0.1:")
    try:
        shiftboss("solana", "airdrop", "--keypair", str(tmp_path / "cloudmesh-worker.json"), "--rpc", state["rpc"])
        with EngineProcess(tmp_path / "engine", "[engine]\ngrace_period = 0.5\n",
                           extra_args=["--cloudmesh-devnet", str(state_path)]) as engine, engine.client() as client:
            deadline = time.monotonic() + 60
            while True:
                view = client.get("/v1/cloudmesh")
                done = [j for j in view["jobs"] if j["state"] == "completed" and j["run"]]
                if len(done) >= 2:
                    break
                assert time.monotonic() < deadline, view
                time.sleep(0.3)
            assert all(j["cost"] == 1_000_000 and j["result_cid"] for j in done)
    finally:
        os.kill(state["pid"], signal.SIGTERM)
