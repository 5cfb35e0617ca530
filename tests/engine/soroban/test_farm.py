"""The KALE farm in a real engine against the local KALE chain (fast blocks): several farmers
plant, work and harvest over several blocks; what the contract holds afterwards is what the
farm says it did; the RPC going away leaves the engine running and the farm showing it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from stellar_sdk import Keypair

from engine.chains.soroban import _farmstore as farmstore
from engine.chains.soroban import _txledger as txledger
from engine.devnets.kale.contract import KaleFarm
from engine.devnets.kale.ledger import PASSPHRASE, Ledger
from engine.devnets.kale.server import Devnet
from engine.lifecycle import WorkerProcesses
from engine.remote import generate_key, worker_id
from tests.conftest import make_settings, running_engine, wait_for
from tests.engine.soroban.test_rpc import dead_url

BLOCK = 6


def local_chain(block: int = BLOCK, ledger_seconds: float = 0.5) -> Devnet:
    now = int(time.time())
    farm = KaleFarm(Keypair.random().public_key, now=now - block, block_interval=block)  # block 0 is plantable
    return Devnet(Ledger(sequence=1, close_time=now, farm=farm), ledger_seconds=ledger_seconds)


def farmers(node: Devnet, tmp_path: Path, n: int) -> tuple[list[Keypair], dict[str, Any]]:
    keys = [Keypair.random() for _ in range(n)]
    listed = []
    for i, key in enumerate(keys):
        node.ledger.fund(key.public_key, kale=1_000_000)
        secret = tmp_path / f"farmer{i}.secret"
        secret.write_text(key.secret + "\n")
        os.chmod(secret, 0o600)
        listed.append({"address": key.public_key, "secret_file": str(secret), "stake": 1000 * (i + 1)})
    return keys, {"kale.farmers": listed}


def farm_settings(tmp_path: Path, url: str, node: Devnet, **extra: Any) -> Any:
    values = {"chains.kale.kind": "soroban", "chains.kale.rpc": [url], "chains.kale.network_passphrase": PASSPHRASE,
              "chains.kale.poll_interval": 0.2, "kale.chain": "kale", "kale.contract": node.ledger.farm_id,
              "kale.block_interval": BLOCK, "kale.work_delay": 2.5, "kale.work_margin": 1.5, "kale.plant_window": 2,
              "pools.kale.threads": 1, **extra}
    return make_settings(tmp_path / "engine", **values)


@pytest.mark.slow
@pytest.mark.trio
async def test_several_farmers_plant_work_and_harvest_over_several_blocks(tmp_path: Path) -> None:
    """…with a trusted pool's worker process hashing KALE ranges beside the engine's thread."""
    node = local_chain()
    key = generate_key(tmp_path / "engine" / "coordinator.key")
    with WorkerProcesses(tmp_path, worker_id(key.verify_key)) as workers:
        await _farm_with_a_remote_hasher(tmp_path, node, await trio.to_thread.run_sync(workers.start, "hasher"))


async def _farm_with_a_remote_hasher(tmp_path: Path, node: Devnet, worker: dict[str, Any]) -> None:
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        keys, overrides = farmers(node, tmp_path, 3)
        settings = farm_settings(tmp_path, url, node, **overrides, **{
            "pools.farm.remote": True, "pools.farm.kinds": ["compute.run"], "pools.farm.workers": [worker],
            "pools.farm.health_interval": 1, "pools.kale.hash_on": ["farm"]})
        async with running_engine(settings) as (engine, client):
            store = engine.store
            assert engine.services.kale is not None

            async def harvested_two_blocks() -> bool:
                rows = await store.read(farmstore.pails, limit=100)
                done = [r for r in rows if r["state"] == "harvested"]
                return all(sum(1 for r in done if r["farmer"] == k.public_key) >= 2 for k in keys)

            await wait_for(harvested_two_blocks, within=45, interval=0.2)
            status = (await client.get("/v1/kale")).json()
            assert status["block"]["index"] >= 2 and len(status["farmers"]) == 3
            assert "secret" not in str(status).lower() and keys[0].secret not in str(status)
            rows = await store.read(farmstore.pails, limit=100)
            assert not await store.read(farmstore.compensations)
            harvested = [r for r in rows if r["state"] == "harvested"]
            assert all(int(r["reward"]) > 0 and r["zeros"] >= 1 and r["gap"] >= 1 for r in harvested), harvested
            # the chain agrees: a harvested pail is gone from the contract (harvest deletes it), and the
            # reward it paid (stake back included) is in the farmer's balance
            assert not any((r["farmer"], r["block"]) in node.ledger.farm.state.pails for r in harvested)
            balances = node.ledger.farm.state.asset.balances  # type: ignore[union-attr]
            assert all(balances[k.public_key] > 1_000_000 for k in keys)
            txs = [t for t in await store.read(_all_txs)]
            plants = [t for t in txs if t.function == "plant" and t.state == "success"]
            assert len({(t.source, t.intent) for t in plants}) == len(plants)
            assert all(t.state in ("success", "sent", "signed") for t in txs), [t.error for t in txs]
            hashers = [w for w in (await client.get("/v1/workers")).json()["workers"] if w["detail"].get("remote_hasher")]
            assert hashers and hashers[0]["detail"]["hashes"] > 0 and hashers[0]["health"] == "ok", hashers
        nursery.cancel_scope.cancel()


def _all_txs(conn: Any) -> list[txledger.SorobanTx]:
    return [txledger.by_id(conn, r[0]) for r in conn.execute("SELECT id FROM soroban_txs").fetchall()]  # type: ignore[misc]


@pytest.mark.trio
async def test_with_the_rpc_down_the_farm_shows_it_and_the_engine_keeps_running(tmp_path: Path) -> None:
    node = local_chain()
    _keys, overrides = farmers(node, tmp_path, 1)
    settings = farm_settings(tmp_path, dead_url(), node, **overrides)
    async with running_engine(settings) as (_engine, client):
        async def shown() -> dict[str, Any] | None:
            state = (await client.get("/v1/kale")).json()
            return state if state["error"] else None

        state = await wait_for(shown, within=10, interval=0.2)
        assert "no RPC endpoint answered" in state["error"] and state["block"] is None
        assert (await client.get("/v1/status")).status_code == 200
        jobs = (await client.get("/v1/jobs", params={"kind": "kale.plant"})).json()
        assert jobs["total"] == 0  # nothing queued while the chain cannot be read
