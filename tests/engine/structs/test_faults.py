"""Bad input and faults on the Structs link, each against the local chain in a real engine:
a player key that is not the player's is refused at submit; the chain refusing a proof fails the
job for good with the chain's message; a sequence spent behind the engine's back is skipped and
one transaction lands (re-signing after a refused broadcast: test_txs.py); work another transaction already did counts as done; a dropped
WebSocket falls back to polling and the gate misses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from engine.chains.cometbft import _txledger as txledger
from engine.chains.cometbft import tx as codec
from tests.conftest import running_engine, wait_for
from tests.engine.structs.conftest import Local, age_for, solve
from tests.engine.structs.test_proofs import RANGE, finished, payload


async def submit(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    resp = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": body})
    assert resp.status_code == 201, resp.text
    job_id: str = resp.json()["id"]
    return job_id


@pytest.mark.trio
async def test_a_key_that_is_not_the_players_is_refused_at_submit(local: Local, tmp_path: Path) -> None:
    bob = local.player(tmp_path, "bob")
    target = local.node.chain.add_target(local.alice.player_id, "build", RANGE)
    async with running_engine(local.settings(tmp_path / "engine")) as (_engine, client):
        resp = await client.post("/v1/jobs", json={"kind": "pow.structs",
                                                   "payload": payload(local, target, player_id=bob.player_id)})
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "player_mismatch"
        assert f"not player {bob.player_id}" in resp.json()["error"]["message"]
        resp = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload(local, target, signer="eve")})
        assert resp.status_code == 422 and "no signer 'eve'" in resp.json()["error"]["message"]
        jobs = (await client.get("/v1/jobs", params={"kind": "pow.structs"})).json()
        assert jobs["jobs"] == []  # nothing was queued


@pytest.mark.trio
async def test_the_chain_refusing_a_proof_fails_the_job_with_its_message(local: Local, tmp_path: Path) -> None:
    wrong_start = local.node.chain.add_target(local.alice.player_id, "build", RANGE)
    too_early = local.node.chain.add_target(local.alice.player_id, "build", 10**6)  # the chain's range is far harder
    async with running_engine(local.settings(tmp_path / "engine")) as (engine, client):
        ids = [await submit(client, payload(local, wrong_start, block_start=wrong_start.block_start + 1)),
               await submit(client, payload(local, too_early))]
        for job_id, target in zip(ids, (wrong_start, too_early), strict=True):
            job = await finished(client, job_id)
            assert job["state"] == "failed" and job["attempts"] == 1, job
            assert job["error"]["code"] == "chain_rejected" and not job["error"]["retryable"]
            assert f"work failure for input ({target.id}BUILD" in job["error"]["message"]
            assert not target.done
        txs = engine.services.cometbft["structs"].txs
        assert await txs.store.read(txledger.counts, "structs") == {}  # refused by simulation: nothing was sent


@pytest.mark.trio
async def test_a_spent_sequence_is_signed_again_and_one_transaction_lands(local: Local, tmp_path: Path) -> None:
    first, second, outside = (local.node.chain.add_target(local.alice.player_id, "build", RANGE) for _ in range(3))
    async with running_engine(local.settings(tmp_path / "engine")) as (engine, client):
        assert (await finished(client, await submit(client, payload(local, first))))["state"] == "completed"
        # another wallet with alice's key spends sequence 1, which the engine holds as its next
        await wait_for(lambda: _at_age(local, outside.block_start, age_for(4, RANGE)), within=10)
        proof, nonce = solve("build", outside.id, outside.block_start, 4)
        raw = codec.sign(local.alice.key, [codec.completion("build", local.alice.address, outside.id, proof, nonce)],
                         chain_id=local.node.chain.chain_id, account_number=1, sequence=1, gas=200_000).raw
        local.node.chain.check_tx(raw)
        job = await finished(client, await submit(client, payload(local, second)))
        assert job["state"] == "completed", job.get("error")
        record = await engine.services.cometbft["structs"].txs.store.read(txledger.by_id, job["result"]["transaction"]["id"])
        assert record is not None and record.sequence == 2  # the simulation found 1 spent: signed at 2
        landed = [h for h in record.hashes if h in local.node.chain.included]
        assert landed == [record.hash] and second.done and outside.done


@pytest.mark.trio
async def test_work_done_by_another_transaction_counts_as_done(local: Local, tmp_path: Path) -> None:
    target = local.node.chain.add_target(local.alice.player_id, "build", RANGE)
    async with running_engine(local.settings(tmp_path / "engine")) as (engine, client):
        await wait_for(lambda: _at_age(local, target.block_start, age_for(3, RANGE)), within=10)
        proof, nonce = solve("build", target.id, target.block_start, 3)
        local.node.chain.check_tx(codec.sign(
            local.alice.key, [codec.completion("build", local.alice.address, target.id, proof, nonce)],
            chain_id=local.node.chain.chain_id, account_number=1, sequence=0, gas=200_000).raw)
        await wait_for(lambda: _true(target.done), within=5)
        job = await finished(client, await submit(client, payload(local, target)))
        assert job["state"] == "completed", job.get("error")
        assert job["result"]["transaction"]["status"] == "already_complete"
        assert "is built" in job["result"]["transaction"]["message"]


@pytest.mark.trio
async def test_a_dropped_websocket_falls_back_to_polling_and_reconnects(local: Local, tmp_path: Path) -> None:
    target = local.node.chain.add_target(local.alice.player_id, "build", RANGE)
    async with running_engine(local.settings(tmp_path / "engine")) as (engine, client):
        chain = engine.services.cometbft["structs"]
        await wait_for(lambda: _true(chain.ws_connected), within=10)
        job_id = await submit(client, payload(local, target))
        async with httpx.AsyncClient() as http:
            resp = await http.post(f"{local.rest}/devnet/websocket-drop", json={"refuseSeconds": 2.0})
            assert resp.json()["dropped"] == 1
        await wait_for(lambda: _true(not chain.ws_connected), within=5)
        before = chain.head
        assert before is not None
        await trio.sleep(1.0)
        assert not chain.ws_connected and chain.head is not None and chain.head >= before + 5  # polled meanwhile
        job = await finished(client, job_id)
        assert job["state"] == "completed", job.get("error")
        await wait_for(lambda: _true(chain.ws_connected), within=10)
        chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
        assert chains["structs"]["detail"]["websocket"]["reconnects"] >= 1


async def _at_age(local: Local, start: int, age: int) -> bool:
    return local.node.chain.height + 1 - start >= age


async def _true(value: bool) -> bool:
    return value
