"""The engine with an EVM chain against a real anvil: workflows of seed 001 executed end to end,
reverts, reorgs, and the e-stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from eth_account import Account

from engine.chains import Heights
from engine.chains.evm import DEV_KEYS, Anvil, EvmChain
from engine.chains.evm import _ledger as ledger
from engine.chains.evm._contracts import action_data, load
from engine.chains.evm._devnet import Rpc, create_workflow, deploy
from engine.chains.evm._keys import write_private
from engine.store import Store, queries
from tests.conftest import make_settings, running_engine, until_state, wait_for

WORKER = Account.from_key(DEV_KEYS[2])


def chain_settings(tmp_path: Path, url: str, state: Path | None, **extra: Any) -> dict[str, Any]:
    key = tmp_path / "signer.key"
    if not key.exists():
        write_private(key, DEV_KEYS[2])
    values = {"chains.devnet.rpc": [url], "chains.devnet.chain_id": 31337, "chains.devnet.key_file": str(key),
              "chains.devnet.poll_interval": 0.2, "chains.devnet.scan_every_blocks": 1,
              "chains.devnet.bump_after": 5.0, "chains.devnet.receipt_timeout": 30.0}
    if state is not None:
        values["chains.devnet.state_file"] = str(state)
    return {**values, **{f"chains.devnet.{k}": v for k, v in extra.items()}}


async def sent_tx(client: Any, job_id: str) -> str:
    """The id of the transaction an evm job reports in its progress, once it has one."""
    async def tx() -> Any:
        return ((await client.get(f"/v1/jobs/{job_id}")).json()["job"].get("progress") or {}).get("tx")
    return await wait_for(tx, within=20, interval=0.1)  # type: ignore[no-any-return]


def _logs(rpc: Rpc, address: str, topic: bytes) -> list[dict[str, Any]]:
    return rpc("eth_getLogs", {"address": address, "fromBlock": "0x0", "toBlock": "latest",  # type: ignore[no-any-return]
                               "topics": ["0x" + topic.hex()]})


def _workflow(rpc: Rpc, registry: str, wid: int) -> tuple[Any, ...]:
    f = load("WorkflowRegistry").fn("getWorkflow")
    return f.decode(bytes.fromhex(rpc("eth_call", {"to": registry, "data": "0x" + f.encode(wid).hex()},
                                      "latest")[2:]))[0]  # type: ignore[no-any-return]


@pytest.fixture
def mining_anvil() -> Any:
    from tests.engine.evm.conftest import require_anvil

    require_anvil()
    with Anvil(args=["--block-time", "1"]) as node:
        yield node


@pytest.mark.trio
async def test_due_workflows_execute_exactly_once_and_the_registry_advances(mining_anvil: Anvil,
                                                                            tmp_path: Path) -> None:
    state = deploy(mining_anvil.url, WORKER.address, workflows=2, interval=3600)
    state.write(tmp_path / "devnet.json")
    rpc = Rpc(mining_anvil.url)
    firsts = {wid: _workflow(rpc, state.registry, wid)[3] for wid in state.workflows}
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, mining_anvil.url, tmp_path / "devnet.json"))
    with trio.fail_after(60):
        async with running_engine(settings) as (engine, client):
            async def advanced() -> bool:
                return all(_workflow(rpc, state.registry, w)[3] == firsts[w] + 3600 for w in state.workflows)
            await wait_for(advanced, within=40, interval=0.3)
            await trio.sleep(3)  # more blocks, more scans: nothing runs twice
            executed = _logs(rpc, state.executor, load("ActionExecutor").event_topic("WorkflowExecuted"))
            assert sorted(int(log["topics"][1], 16) for log in executed) == sorted(state.workflows)
            count = load("DemoTarget").fn("count")
            assert count.decode(bytes.fromhex(rpc("eth_call", {"to": state.target, "data": "0x" + count.encode(
                state.executor).hex()}, "latest")[2:])) == (2,)
            jobs = (await client.get("/v1/jobs", params={"kind": "evm.workflow.execute"})).json()
            assert jobs["total"] == 2 and {j["state"] for j in jobs["jobs"]} == {"completed"}
            assert all(j["result"]["replacements"] == 0 and j["result"]["block"] for j in jobs["jobs"])
            scans = (await client.get("/v1/jobs", params={"kind": "evm.workflow.scan"})).json()
            assert scans["total"] >= 3  # one per block window
            chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
            devnet = chains["devnet"]
            assert devnet["kind"] == "evm" and devnet["head"] > 0 and devnet["detail"]["chain_id"] == 31337
            signer = devnet["detail"]["signer"]
            assert signer["address"] == WORKER.address and signer["drift"] == 0
            assert signer["ledger_next_nonce"] == signer["chain_pending_nonce"] and signer["txs"] == {"confirmed": 2}
            assert signer["balance_eth"] > 50 and not signer["low_balance"]


@pytest.mark.trio
async def test_a_reverting_workflow_fails_for_good_with_its_reason(mining_anvil: Anvil, tmp_path: Path) -> None:
    state = deploy(mining_anvil.url, WORKER.address, workflows=0)
    rpc = Rpc(mining_anvil.url)
    failing = action_data(state.target, load("DemoTarget").fn("fail").encode("boom: price feed stale"))
    wid = create_workflow(rpc, state.registry, failing, interval=60, first_run=0)
    state.workflows = [wid]
    state.write(tmp_path / "devnet.json")
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, mining_anvil.url, tmp_path / "devnet.json"))
    with trio.fail_after(60):
        async with running_engine(settings) as (_engine, client):
            async def failed() -> Any:
                jobs = (await client.get("/v1/jobs", params={"kind": "evm.workflow.execute"})).json()["jobs"]
                return jobs[0] if jobs and jobs[0]["state"] == "failed" else None
            job = await wait_for(failed, within=30, interval=0.3)
            assert job["attempts"] == 1 and job["error"]["code"] == "reverted" and not job["error"]["retryable"]
            assert "boom: price feed stale" in job["error"]["message"]
            assert _workflow(rpc, state.registry, wid)[3] == 0  # the registry did not move


@pytest.mark.trio
async def test_a_reorg_is_detected_with_its_depth_and_mined_txs_are_rechecked(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, anvil.url, None))
    store = Store.open(tmp_path / "sb.db")
    heights = Heights(store, {})
    chain = EvmChain("devnet", settings.chains["devnet"], store, heights)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            await nursery.start(chain.run)
            assert chain.tx is not None
            record = await chain.tx.send("job:r", to=Account.from_key(DEV_KEYS[1]).address, value=1)
            await chain.tx.track()
            await chain.tx.wait(record.id)
            snapshot = rpc("evm_snapshot")
            base = int(rpc("eth_blockNumber"), 16)
            for _ in range(3):
                rpc("evm_mine")
            await chain.poll_head()
            assert chain.head == base + 3 and not chain.reorgs
            rpc("evm_revert", snapshot)  # back to `base`, then another branch, one block longer
            rpc("anvil_setNextBlockBaseFeePerGas", hex(7 * 10**9))
            for _ in range(4):
                rpc("evm_mine")
            await chain.poll_head()
            assert chain.head == base + 4
            (reorg,) = chain.reorgs
            assert reorg["fork_block"] == base + 1 and reorg["depth"] == 3
            assert heights.get("devnet") == base + 4  # the watcher feeds the one heights book
            events = [(e.type, e.data) for e in await store.read(queries.events_since, 0, 10_000)]
            assert [e for e in events if e[0] == "chain.reorg"] == [
                ("chain.reorg", {"chain": "devnet", "depth": 3, "fork_block": base + 1})]
            heads = [e[1]["height"] for e in events if e[0] == "chain.head"]
            assert heads[-2:] == [base + 3, base + 4]  # every new head is an event too
            # a reorg at or below the tx's block makes it be re-checked (it is still there: confirmed again)
            rpc("evm_revert", rpc("evm_snapshot"))
            assert await chain.tx.recheck(0) == 1
            assert (await store.read(ledger.by_id, record.id)).state == "mined"
            await chain.tx.track()
            assert (await store.read(ledger.by_id, record.id)).state == "confirmed"
            nursery.cancel_scope.cancel()
    await chain.aclose()


@pytest.mark.trio
async def test_estop_blocks_new_sends_but_tracks_the_sent_ones(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    to = Account.from_key(DEV_KEYS[1]).address
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, anvil.url, None))
    with trio.fail_after(60):
        async with running_engine(settings) as (engine, client):
            rpc("evm_setAutomine", False)
            first = (await client.post("/v1/jobs", json={"kind": "evm.tx", "payload": {
                "chain": "devnet", "to": to, "value": 1}})).json()["id"]
            tx_id = await sent_tx(client, first)
            r = await client.post("/v1/estop", json={"reason": "gas spike"})
            assert r.status_code == 200
            second = (await client.post("/v1/jobs", json={"kind": "evm.tx", "payload": {
                "chain": "devnet", "to": to, "value": 2}})).json()["id"]
            rpc("evm_mine")
            tx = engine.services.evm["devnet"].tx
            assert tx is not None

            async def confirmed() -> bool:
                record = await engine.store.read(ledger.by_id, tx_id)
                return record is not None and record.state == "confirmed"
            await wait_for(confirmed, within=20, interval=0.2)  # tracked to its receipt under the e-stop
            await trio.sleep(1)
            assert await engine.store.read(ledger.by_intent, f"job:{second}") is None  # nothing new sent
            assert (await client.get(f"/v1/jobs/{second}")).json()["job"]["state"] == "queued"
            await client.post("/v1/resume", json={"reason": "ok"})
            rpc("evm_setAutomine", True)
            done = await until_state(client, first, "completed", within=20)
            assert done["result"]["tx"] == tx_id  # the first job found its transaction, sent nothing new
            await until_state(client, second, "completed", within=20)
            nonce = int(rpc("eth_getTransactionCount", WORKER.address, "latest"), 16)
            assert nonce == 2  # exactly two transactions from the signer


@pytest.mark.trio
async def test_cancelling_an_evm_tx_job_cancels_its_pending_transaction(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    to = Account.from_key(DEV_KEYS[1]).address
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, anvil.url, None))
    with trio.fail_after(60):
        async with running_engine(settings) as (engine, client):
            rpc("evm_setAutomine", False)
            balance = int(rpc("eth_getBalance", to, "latest"), 16)
            job_id = (await client.post("/v1/jobs", json={"kind": "evm.tx", "payload": {
                "chain": "devnet", "to": to, "value": 10**18}})).json()["id"]
            tx_id = await sent_tx(client, job_id)
            assert (await client.post(f"/v1/jobs/{job_id}/cancel", json={"reason": "wrong amount"})).status_code == 200
            await until_state(client, job_id, "cancelled", within=20)
            record = await engine.store.read(ledger.by_id, tx_id)
            assert len(record.hashes) == 2 and record.to == WORKER.address and record.value == 0
            rpc("evm_mine")

            async def settled() -> bool:
                return (await engine.store.read(ledger.by_id, tx_id)).state == "cancelled"
            await wait_for(settled, within=20, interval=0.2)
            assert int(rpc("eth_getBalance", to, "latest"), 16) == balance  # the ether never moved
            assert int(rpc("eth_getTransactionCount", WORKER.address, "latest"), 16) == 1  # the self-send


@pytest.mark.trio
async def test_the_engine_fails_over_from_a_dead_first_endpoint(anvil: Anvil, tmp_path: Path) -> None:
    from engine.ports import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(tmp_path / "data", **{**chain_settings(tmp_path, anvil.url, None),
                                                   "chains.devnet.rpc": [dead, anvil.url]})
    with trio.fail_after(60):
        async with running_engine(settings) as (_engine, client):
            job_id = (await client.post("/v1/jobs", json={"kind": "evm.tx", "payload": {
                "chain": "devnet", "to": Account.from_key(DEV_KEYS[1]).address, "value": 1}})).json()["id"]
            done = await until_state(client, job_id, "completed", within=30)
            assert done["result"]["block"] >= 1
            (chain,) = (await client.get("/v1/chains")).json()["chains"]
            first, second = chain["detail"]["endpoints"]
            assert first["failures"] >= 1 and "ConnectError" in first["last_error"]
            assert second["failures"] == 0 and second["requests"] > first["requests"]


@pytest.mark.trio
async def test_a_structs_proof_waits_on_an_evm_chain_fed_by_its_head_watcher(anvil: Anvil, tmp_path: Path) -> None:
    """The EVM head watcher feeds the one heights book: a height gate works on a watched chain."""
    rpc = Rpc(anvil.url)
    settings = make_settings(tmp_path / "data", **chain_settings(tmp_path, anvil.url, None))
    with trio.fail_after(60):
        async with running_engine(settings) as (engine, client):
            start = int(rpc("eth_blockNumber"), 16)
            payload = {"action": "mine", "object_id": "5-42", "block_start": start, "difficulty_range": 2,
                       "target_age": 3, "chain": "devnet", "start_nonce": 0}
            r = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload})
            job_id = r.json()["id"]
            waiting = await until_state(client, job_id, "waiting", within=20)
            assert waiting["progress"]["waiting_info"]["chain"] == "devnet"
            for _ in range(3):
                rpc("evm_mine")
            done = await until_state(client, job_id, "completed", "failed", within=30)
            assert done["state"] == "completed", done["error"]
            assert done["result"]["height"] >= start + 3
            assert (engine.services.heights.get("devnet") or 0) >= done["result"]["height"]
            chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
            assert set(chains) == {"devnet"} and chains["devnet"]["kind"] == "evm"  # no second, manual entry
            metrics = (await client.get("/metrics")).text
            assert f'shiftboss_chain_head{{chain="devnet",kind="evm"}} {chains["devnet"]["head"]}' in metrics
            assert 'shiftboss_chain_reachable{chain="devnet"} 1.0' in metrics
            assert f'shiftboss_signer_balance{{address="{WORKER.address}",chain="devnet"}}' in metrics
