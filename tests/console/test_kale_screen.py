"""The console's KALE view against a real engine farming on the local KALE chain (both as
subprocesses), driven through Pilot: the block, each farmer's pail moving from planted to
worked, and the farmer's job opened from its row."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Keypair
from textual.widgets import DataTable, Label

from console.screens.kale import KaleScreen
from engine.lifecycle import EngineProcess
from tests.console.conftest import eventually
from tests.console.test_pilot import SIZE, app_for

BLOCK = 20


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, Any]]:
    state = tmp_path / "devnet.json"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "kale", "devnet", "--port", "0", "--state", str(state),
                             "--block-seconds", str(BLOCK), "--ledger-seconds", "0.5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not state.exists() or not state.read_text().strip().endswith("}"):
            assert time.monotonic() < deadline and proc.poll() is None, "the local KALE chain did not start"
            time.sleep(0.05)
        yield json.loads(state.read_text())
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def keys(chain: dict[str, Any]) -> list[Keypair]:
    """Two farmers, funded by the chain's friendbot."""
    keys = [Keypair.random() for _ in range(2)]
    for key in keys:
        httpx.get(chain["friendbot"], params={"addr": key.public_key, "kale": "100000000"}).raise_for_status()
    return keys


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_kale_view_follows_farmers_through_a_block(tmp_path: Path, chain: dict[str, Any],
                                                             keys: list[Keypair]) -> None:
    farmers = []
    for i, key in enumerate(keys):
        secret = tmp_path / f"f{i}.secret"
        secret.write_text(key.secret)
        secret.chmod(0o600)
        farmers.append(f'[[kale.farmers]]\naddress = "{key.public_key}"\nsecret_file = "{secret}"\nstake = {(i + 1) * 10**7}\n')
    config = f"""
[engine]
grace_period = 0.5
[chains.kale]
kind = "soroban"
rpc = ["{chain['rpc']}"]
poll_interval = 0.25
[kale]
chain = "kale"
contract = "{chain['farm_contract']}"
block_interval = {BLOCK}
work_delay = 3
work_margin = 3
{''.join(farmers)}"""
    engine = EngineProcess(tmp_path / "engine", config).start()
    try:
        app = app_for(engine)
        async with app.run_test(size=SIZE) as pilot:
            await eventually(lambda: app.snapshot is not None, what="connected")
            await pilot.press("K")
            screen = await eventually(lambda: isinstance(app.screen, KaleScreen) and app.screen, what="KALE view")
            table = screen.query_one("#kale-farmers", DataTable)

            def states() -> list[str]:
                return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]

            await eventually(lambda: table.row_count == 2 and all(s == "worked" for s in states()), within=20,
                             what=f"both farmers worked (now {states()})")
            head = str(screen.query_one("#kale-block", Label).render())
            assert "KALE block" in head and "entropy" in head
            rows = [table.get_row_at(i) for i in range(2)]
            assert {str(r[1]) for r in rows} == {"1", "2"}  # stakes, in KALE
            assert all(int(str(r[3])) >= 1 for r in rows)  # zeros
            assert "farmer(s)" in str(screen.query_one("#kale-next", Label).render())
            await pilot.press("enter")  # the farmer's job opens
            await eventually(lambda: type(app.screen).__name__ == "JobDetailScreen", what="job opened")
    finally:
        engine.terminate(30)
