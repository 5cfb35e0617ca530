"""The seed's Pooler API on a real engine over its real TCP listener, driven as a KALE Backend
drives it: the Backend plants its custodial wallets on the local chain, posts the planting
notice, and gets /pooler/block-discovered and /pooler/work-completed reports on its own HTTP
server. Bad notices are refused with the field named, and nothing is queued."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stellar_sdk import Account, Keypair, TransactionBuilder, scval
from stellar_sdk.base_soroban_server import _assemble_transaction

from engine.chains.soroban import SorobanRpc
from engine.chains.soroban import _farmstore as farmstore
from engine.devnets.kale.ledger import PASSPHRASE
from engine.devnets.kale.server import Devnet
from engine.ports import free_port
from tests.conftest import running_engine, wait_for
from tests.engine.soroban.test_farm import farm_settings, farmers, local_chain

POOLER_TOKEN = "pooler-token-1234"
ENGINE_TOKEN = "engine-token-5678"
BLOCK = 8


class Backend:
    """A KALE Backend's receiving end: records what the Pooler reports."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.fail_first = 1  # the first report is answered 503: delivery must retry

    def app(self) -> Starlette:
        async def report(request: Request) -> JSONResponse:
            if self.fail_first:
                self.fail_first -= 1
                return JSONResponse({"error": "busy"}, status_code=503)
            self.reports.append((request.url.path, dict(request.headers), json.loads(await request.body())))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/pooler/block-discovered", report, methods=["POST"]),
                                 Route("/pooler/work-completed", report, methods=["POST"])])

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, self.app(), config)
            task_status.started(binds[0])


async def plant(node: Devnet, rpc: SorobanRpc, wallet: Keypair, stake: int) -> None:
    """What the Backend does through Launchtube: plant the wallet (source-account auth)."""
    seq = node.ledger.accounts[wallet.public_key].sequence
    tx = (TransactionBuilder(Account(wallet.public_key, seq), PASSPHRASE, base_fee=100)
          .append_invoke_contract_function_op(node.ledger.farm_id, "plant",
                                              [scval.to_address(wallet.public_key), scval.to_int128(stake)])
          .set_timeout(60).build())
    tx = _assemble_transaction(tx, await rpc.simulate(tx.to_xdr()))
    tx.sign(wallet)
    assert (await rpc.send(tx.to_xdr())).status.value == "PENDING"


def notice(index: int, entropy: str, wallets: list[Keypair], *, snake: bool = False) -> dict[str, Any]:
    farmers_ = [{"farmerId": f"user-{i}", "custodialWallet": w.public_key, "custodialSecretKey": w.secret,
                 "stakeAmount": 500, "plantingTime": "2026-12-01T00:00:00Z"} for i, w in enumerate(wallets)]
    body = {"event": "planting_completed", "backendId": "backend-1", "blockIndex": index, "plantingStatus": "completed",
            "results": {"farmersPlanted": len(wallets), "successfulPlants": len(wallets), "failedPlants": 0},
            "plantedFarmers": farmers_, "blockData": {"entropy": entropy, "timestamp": int(time.time())},
            "timestamp": "2026-12-01T00:00:00Z"}
    if snake:
        body = {"block_index": index, "planted_farmers": farmers_, "block_data": body["blockData"]}
    return body


@pytest.mark.slow
@pytest.mark.trio
async def test_a_backend_drives_the_pooler_and_gets_its_reports(tmp_path: Path) -> None:
    node = local_chain(block=BLOCK)
    backend = Backend()
    (tmp_path / "pooler.token").write_text(POOLER_TOKEN)
    (tmp_path / "api.token").write_text(ENGINE_TOKEN)
    port = free_port()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        backend_url = await nursery.start(backend.run)
        keys, overrides = farmers(node, tmp_path, 1)  # the engine's own farmer keeps blocks opening
        wallets = [Keypair.random() for _ in range(3)]
        for w in wallets:
            node.ledger.fund(w.public_key, kale=10_000)
        settings = farm_settings(tmp_path, url, node, **overrides, **{
            "kale.block_interval": BLOCK, "kale.work_delay": 3.5, "kale.work_margin": 2, "kale.plant_window": 3,
            "kale.pooler_token_file": str(tmp_path / "pooler.token"), "kale.backend_url": backend_url,
            "api.tcp": f"127.0.0.1:{port}", "api.token_file": str(tmp_path / "api.token")})
        async with running_engine(settings) as (engine, _unix), SorobanRpc([url]) as rpc, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as tcp:
            store = engine.store
            pooler = {"authorization": f"Bearer {POOLER_TOKEN}", "x-backend-id": "backend-1"}

            async def block_opened() -> Any:
                view = engine.services.kale.view  # type: ignore[union-attr]
                return view if view and view.block and int(time.time()) - view.block.timestamp < 2 else None

            view = await wait_for(block_opened, within=2 * BLOCK + 5, interval=0.1)
            index, entropy = view.block.index, view.block.entropy.hex()
            for w in wallets[:2]:
                await plant(node, rpc, w, 500)
            wallet_ids = {w.public_key for w in wallets}

            async def planted() -> bool:  # the Backend reports its plants once they landed
                return all((w.public_key, index) in node.ledger.farm.state.pails for w in wallets[:2])

            await wait_for(planted, within=5, interval=0.1)

            async def wallet_jobs() -> list[str]:
                """Jobs queued for the Backend's wallets (the engine's own farmer queues its own meanwhile)."""
                jobs = (await _unix.get("/v1/jobs", params={"limit": 1000})).json()["jobs"]
                return [j["id"] for j in jobs if j["payload"].get("farmer") in wallet_ids]


            # refusals: nothing is queued by any of them
            assert (await tcp.post("/backend/planting-status", json=notice(index, entropy, wallets[:2]))).status_code == 401
            wrong = {"authorization": f"Bearer {ENGINE_TOKEN}"}  # the engine's token does not open the Pooler API
            assert (await tcp.post("/backend/planting-status", json=notice(index, entropy, wallets[:2]),
                                   headers=wrong)).status_code == 401
            assert (await tcp.get("/v1/status", headers=pooler)).status_code == 401  # nor the Pooler's the engine
            partial = notice(index, entropy, wallets[:2])
            del partial["blockData"]
            answer = await tcp.post("/backend/planting-status", json=partial, headers=pooler)
            assert answer.status_code == 422 and answer.json()["error"]["details"]["field"] == "blockData"
            bad_key = notice(index, entropy, wallets[:2])
            bad_key["plantedFarmers"][1]["custodialSecretKey"] = wallets[2].secret
            answer = await tcp.post("/backend/planting-status", json=bad_key, headers=pooler)
            assert answer.status_code == 422
            assert answer.json()["error"]["details"]["field"] == "plantedFarmers[1].custodialSecretKey"
            assert wallets[2].secret not in answer.text and wallets[1].secret not in answer.text
            answer = await tcp.post("/backend/planting-status", json=notice(index, "ab" * 32, wallets[:2]),
                                    headers=pooler)
            assert answer.status_code == 422 and "entropy" in answer.json()["error"]["message"]
            if index > 0:
                answer = await tcp.post("/backend/planting-status", json=notice(index - 1, entropy, wallets[:2]),
                                        headers=pooler)
                assert answer.status_code == 409 and answer.json()["error"]["code"] == "old_block"
            # a wallet that never planted: its work would fail, and no stake of it was burned to compensate
            answer = await tcp.post("/backend/planting-status", json=notice(index, entropy, wallets), headers=pooler)
            assert answer.status_code == 422, answer.text
            assert answer.json()["error"]["details"]["field"] == "plantedFarmers[2].custodialWallet"
            assert "has not planted" in answer.json()["error"]["message"]
            assert await wallet_jobs() == []
            assert not [f for f in await store.read(farmstore.farmers) if f.origin == "pooler"]

            # the good notice, in snake_case as the real Pooler also accepts
            answer = await tcp.post("/backend/planted-farmers", json=notice(index, entropy, wallets[:2], snake=True),
                                    headers=pooler)
            assert answer.status_code == 200, answer.text
            assert answer.json()["farmersScheduled"] == 2 and wallets[0].secret not in answer.text

            async def worked() -> bool:
                rows = await store.read(farmstore.pails, index=index)
                return sum(1 for r in rows if r["farmer"] in {w.public_key for w in wallets} and r["state"] == "worked") == 2

            await wait_for(worked, within=BLOCK, interval=0.2)
            pails = node.ledger.farm.state.pails
            assert all(pails[(w.public_key, index)].zeros is not None for w in wallets[:2])  # worked on chain
            trial = await tcp.post("/debug/test-work", headers=pooler, json={
                "blockIndex": index, "entropy": entropy, "farmers": [wallets[2].public_key]})
            assert trial.status_code == 200, trial.text
            (trial_job,) = trial.json()["jobs"]
            job = (await _unix.get(f"/v1/jobs/{trial_job}")).json()["job"]
            assert job["kind"] == "pow.kale" and job["payload"]["farmer"] == wallets[2].public_key
            assert (await tcp.post("/debug/test-work", headers=pooler, json={"blockIndex": index})).status_code == 422
            status = (await tcp.get("/status/work", headers=pooler)).json()
            assert status["currentBlock"] == index and {f["state"] for f in status["farmers"]} >= {"worked"}

            async def reported() -> bool:
                return any(p == "/pooler/work-completed" and b["blockIndex"] == index for p, _h, b in backend.reports)

            await wait_for(reported, within=BLOCK + 5, interval=0.2)
            discovered = [b for p, _h, b in backend.reports if p == "/pooler/block-discovered"]
            assert discovered and discovered[0]["poolerId"] == "shiftboss"
            path, headers, body = next(r for r in backend.reports if r[0] == "/pooler/work-completed"
                                       and r[2]["blockIndex"] == index)
            assert headers["idempotency-key"] == f"work-completed:{index}"
            results = {r["custodialWallet"]: r for r in body["workResults"]}
            assert all(results[w.public_key]["status"] == "success" for w in wallets[:2])
            # the Backend's own farmerId comes back (the real Pooler echoes it), not the wallet
            assert [results[w.public_key]["farmerId"] for w in wallets[:2]] == ["user-0", "user-1"]
            assert body["summary"]["successfulWork"] >= 2 and not any(r["compensationRequired"] for r in results.values())
            ids = [h["idempotency-key"] for _p, h, _b in backend.reports]
            assert len(ids) == len(set(ids))  # the 503 was retried, and nothing delivered twice
            # each custodial key taken in is audited once (the notice of every block is not), sealed
            audit = (await _unix.get("/v1/audit", params={"limit": 500})).json()
            taken = [a for a in audit["records"] if a["action"] == "kale.farmer.add"
                     and a["target"] in {w.public_key for w in wallets[:2]}]
            assert len(taken) == 2 and all("Backend" in a["reason"] for a in taken), taken
            assert wallets[0].secret not in str(audit) and wallets[1].secret not in str(audit)
        nursery.cancel_scope.cancel()
