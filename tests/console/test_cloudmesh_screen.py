"""The CloudMesh screen against a real engine that works for the local Solana node and IPFS
endpoint (all real processes): the job created by an owner shows, moves to completed with its
cost and this engine's run, and enter opens the run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Label

from console import make_app
from console.api import Target
from console.screens.cloudmesh import CloudMeshScreen
from console.screens.dashboard import DashboardScreen
from console.screens.detail import JobDetailScreen
from engine.lifecycle import EngineProcess
from tests.console.conftest import eventually
from tests.engine.solana.test_cli import nodes, shiftboss

__all__ = ["nodes"]


@pytest.fixture
def mesh_engine(nodes: tuple[str, str], tmp_path: Path) -> Iterator[EngineProcess]:
    rpc, ipfs = nodes
    owner, worker = tmp_path / "owner.json", tmp_path / "worker.json"
    for key in (owner, worker):
        shiftboss("solana", "airdrop", "--sol", "5", "--keypair", str(key), "--rpc", rpc)
    code = tmp_path / "job.py"
    code.write_text('print("hello from the mesh")\n')
    shiftboss("cloudmesh", "submit", str(code), "--title", "greeting", "--ipfs", ipfs, "--keypair", str(owner),
              "--rpc", rpc)
    work = tempfile.mkdtemp(prefix="shiftboss-cloudmesh-console-", dir="/tmp")
    config = (f'[engine]\ngrace_period = 0.5\n[chains.sol]\nkind = "solana"\nrpc = ["{rpc}"]\npoll_interval = 0.1\n'
              f'[cloudmesh]\nchain = "sol"\nkeypair = "{worker}"\npoll_interval = 0.5\nipfs_api = "{ipfs}"\n'
              f'work_dir = "{work}"\n')
    with EngineProcess(tmp_path / "engine", config) as engine:
        yield engine


@pytest.mark.asyncio
async def test_the_cloudmesh_screen_follows_a_job_to_completed(mesh_engine: EngineProcess) -> None:
    app = make_app(Target(str(mesh_engine.socket)), actor="pilot")
    async with app.run_test(size=(140, 36)) as pilot:
        await eventually(lambda: isinstance(app.screen, DashboardScreen) and app.snapshot is not None)
        await pilot.press("M")
        screen = await eventually(lambda: isinstance(app.screen, CloudMeshScreen) and app.screen)
        table = screen.query_one("#cloudmesh-jobs", DataTable)

        def completed_row() -> list[str] | None:
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            return next((r for r in rows if r[1] == "greeting" and r[2] == "completed" and r[6] == "completed"), None)

        row = await eventually(completed_row, within=30, what="the job completed on chain and its run")
        assert row[5] == "0.0010"  # 1,000,000 lamports
        assert "SOL" in str(screen.query_one("#cloudmesh-worker", Label).render())
        table.focus()
        await pilot.press("enter")
        detail = await eventually(lambda: isinstance(app.screen, JobDetailScreen) and app.screen)
        assert detail.job_id.startswith("cloudmesh-run_")
