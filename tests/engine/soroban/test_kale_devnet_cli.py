"""`shiftboss kale devnet` as an operator runs it: a real process with a state file, a Soroban RPC
that answers, a friendbot, a clean stop on SIGTERM, and a clear error for a port in use."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trio
from stellar_sdk import Keypair
from stellar_sdk import xdr as sx

from engine.chains.soroban._rpc import SorobanRpc


def test_the_devnet_runs_answers_funds_and_stops(tmp_path: Path) -> None:
    state_path = tmp_path / "kale.json"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "kale", "devnet", "--port", "0", "--ledger-seconds", "0.2",
                             "--block-seconds", "30", "--state", str(state_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not state_path.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the devnet did not write its state"
            time.sleep(0.05)
        state = json.loads(state_path.read_text())
        assert state["block_seconds"] == 30 and state["farm_contract"].startswith("C")
        farmer = Keypair.random().public_key
        funded = httpx.get(state["friendbot"], params={"addr": farmer, "kale": 500}, timeout=5)
        assert funded.status_code == 200 and funded.json()["successful"]
        assert httpx.get(state["friendbot"], params={"addr": "nope"}, timeout=5).status_code == 400

        async def read() -> tuple[int, int]:
            async with SorobanRpc([state["rpc"]]) as rpc:
                first = (await rpc.latest_ledger()).sequence
                await trio.sleep(0.5)
                key = sx.LedgerKey(sx.LedgerEntryType.ACCOUNT,
                                   account=sx.LedgerKeyAccount(Keypair.from_public_key(farmer).xdr_account_id()))
                entries = await rpc.ledger_entries([key])
                assert entries.entries and len(entries.entries) == 1
                return first, (await rpc.latest_ledger()).sequence

        first, later = trio.run(read)
        assert later > first
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert not state_path.exists()  # a stopped devnet leaves no state pointing at nothing
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "engine", "kale", "devnet", "--port", str(port), "--state",
                              str(tmp_path / "s.json")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and f"could not start on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr
