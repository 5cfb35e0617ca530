"""``pow.structs`` from waiting to included, in a real engine against the local Structs chain:
the job waits for its age (heights from the NewBlock subscription), hashes, submits the signed
MsgStructBuildComplete and follows it to inclusion; one transaction per proof."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.chains.cometbft import _txledger as txledger
from tests.conftest import running_engine, wait_for
from tests.engine.structs.conftest import Local

RANGE = 20  # difficulty 16 at age 10, 4 at age 18, 2 at 19: a test proof qualifies within ~9 blocks


async def finished(client: httpx.AsyncClient, job_id: str, within: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()["job"]
        return job if job["state"] in ("completed", "failed", "dead") else None

    result: dict[str, Any] = await wait_for(done, within=within, interval=0.1)
    return result


def payload(local: Local, target: Any, **more: Any) -> dict[str, Any]:
    return {"action": "build", "object_id": target.id, "block_start": target.block_start, "difficulty_range": RANGE,
            "signer": "alice", "player_id": local.alice.player_id, **more}


@pytest.mark.trio
async def test_a_proof_waits_hashes_and_lands_once(local: Local, tmp_path: Path) -> None:
    target = local.node.chain.add_target(local.alice.player_id, "build", RANGE)
    async with running_engine(local.settings(tmp_path / "engine")) as (engine, client):
        resp = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload(local, target)})
        assert resp.status_code == 201, resp.text
        job_id = resp.json()["id"]

        async def waiting() -> dict[str, Any] | None:
            job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()["job"]
            return job if job["state"] == "waiting" else None

        info = (await wait_for(waiting, within=10))["progress"]["waiting_info"]
        assert info["target_age"] == 10 and info["chain"] == "structs" and info["difficulty_now"] >= 16

        job = await finished(client, job_id)
        assert job["state"] == "completed", job.get("error")
        result = job["result"]
        pow_, tx = result["proof_of_work"], result["transaction"]
        assert pow_["valid"] and pow_["difficulty_met"] and pow_["hash"].startswith("0" * pow_["difficulty"])
        assert tx["status"] == "included" and tx["height"] > target.block_start + 10
        included = local.node.chain.included[tx["hash"]]
        assert included.code == 0 and included.height == tx["height"]
        assert target.done  # the chain recorded the build

        # the same proof again (another job, same struct and start): the same transaction, nothing new
        again = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload(local, target)})
        second = await finished(client, again.json()["id"])
        assert second["state"] == "completed" and second["result"]["transaction"]["hash"] == tx["hash"]
        txs = engine.services.cometbft["structs"].txs
        assert await txs.store.read(txledger.counts, "structs") == {"success": 1}
        assert sum(1 for b in local.node.chain.blocks for _ in b.txs) == 1

        chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
        detail = chains["structs"]["detail"]
        assert detail["websocket"]["connected"] and detail["network"] == "structstestnet-111"
        assert chains["structs"]["head"] >= tx["height"]
