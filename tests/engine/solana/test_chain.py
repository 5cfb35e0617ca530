"""A Solana chain in a real engine: its slots reach /v1/chains and the heights book, and an
unreachable RPC is shown while the engine keeps running."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from engine.chains.solana import cloudmesh as cm
from engine.devnets.solana import SolanaDevnet
from engine.ports import free_port
from tests.conftest import make_settings, running_engine, wait_for
from tests.engine.solana.test_program import PROGRAM, Chain


@pytest.mark.trio
async def test_the_engine_follows_solana_slots_and_shows_a_dead_rpc(tmp_path: Path) -> None:
    Chain()
    node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, slot_seconds=0.05)
    dead = f"http://127.0.0.1:{free_port()}"
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        settings = make_settings(tmp_path / "engine", **{
            "chains.sol.kind": "solana", "chains.sol.rpc": [url], "chains.sol.poll_interval": 0.05,
            "chains.gone.kind": "solana", "chains.gone.rpc": [dead], "chains.gone.poll_interval": 0.2})
        async with running_engine(settings) as (_engine, client):
            async def moving() -> bool:
                chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
                return (chains["sol"]["head"] or 0) > 5 and "gone" in chains and bool(chains["gone"]["detail"]["error"])

            await wait_for(moving, within=15)
            chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
            assert chains["sol"]["kind"] == "solana" and "LiteSVM" in chains["sol"]["detail"]["version"]
            assert chains["gone"]["head"] is None
            assert (await client.get("/v1/status")).status_code == 200
        nursery.cancel_scope.cancel()
