"""Two engines on one PostgreSQL store, one Structs chain and one signer: one engine at a time
records the chain's heads (the other follows its heights), both send proofs for the one signer
and every sequence is taken once, and when the recording engine stops the other takes over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.chains.cometbft import _txledger as txledger
from engine.store import queries
from tests.conftest import running_engine, wait_for
from tests.engine.structs.conftest import Local
from tests.engine.structs.test_proofs import finished, payload

PROOFS = 8
LEASE = "chain.head:structs"


async def _leads(engine: Any) -> bool:
    return bool(engine.store.leading.get(LEASE))


async def _heads(engine: Any) -> list[int]:
    return [int(e.data["height"]) for e in await engine.store.read(queries.events_since, 0, 100_000)
            if e.type == "chain.head" and e.data["chain"] == "structs"]


@pytest.mark.trio
async def test_one_head_recorder_one_signer_two_engines(local: Local, pg_cluster: Any, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    settings = [local.settings(tmp_path / name, **{"store.url": url, "pools.default.concurrency": 4})
                for name in ("a", "b")]
    targets = [local.node.chain.add_target(local.alice.player_id, "build", 20, age=40) for _ in range(PROOFS)]
    async with running_engine(settings[0]) as (a, client_a):
        await wait_for(lambda: _leads(a), within=10)
        async with running_engine(settings[1]) as (b, client_b):
            await wait_for(lambda: _true(b.heights.get("structs") is not None), within=10)
            assert b.store.leading.get(LEASE) is False  # b follows: a records
            workers = (await client_b.get("/v1/workers")).json()["workers"]
            services = {w["id"]: w["detail"]["services"] for w in workers if w["pool"] == "(engine)"}
            assert LEASE in services[a.scheduler.owner] and LEASE not in services[b.scheduler.owner]

            ids = []
            for i, target in enumerate(targets):
                client = client_a if i % 2 else client_b
                resp = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload(local, target)})
                assert resp.status_code == 201, resp.text
                ids.append(resp.json()["id"])
            for job_id in ids:
                job = await finished(client_a, job_id, within=90)
                assert job["state"] == "completed", job.get("error")
                assert job["result"]["transaction"]["status"] == "included"
            # one signer, two engines: every proof in a block once, each at its own sequence
            in_blocks = [tx for block in local.node.chain.blocks for tx in block.txs]
            assert len(in_blocks) == PROOFS
            assert all(local.node.chain.included[h].code == 0 for h in local.node.chain.included)
            assert local.node.chain.accounts[local.alice.address].sequence == PROOFS
            records = await a.store.read(lambda c: c.execute("SELECT sequence, state, hashes FROM cosmos_txs").fetchall())
            assert sorted((n, state) for n, state, _ in records) == [(n, "success") for n in range(PROOFS)]
            # allocated under the signer's lock: no engine signed at a sequence the other held
            assert [len(json.loads(hashes)) for _, _, hashes in records] == [1] * PROOFS
            assert await a.store.read(txledger.counts, "structs") == {"success": PROOFS}
            attempts = await a.store.read(lambda c: c.execute("SELECT DISTINCT worker FROM attempts").fetchall())
            assert len({w.rsplit("/", 1)[0] for (w,) in attempts}) == 2  # both engines worked

            heads = await _heads(b)
            assert heads == sorted(set(heads))  # each height recorded once: by one engine

            a.request_shutdown()  # the recording engine stops: the other takes its heads over
            await wait_for(lambda: _leads(b), within=10)
            before = max(heads)
            await wait_for(lambda: _grew(b, before), within=10)
            heads = await _heads(b)
            assert heads == sorted(set(heads))


async def _grew(engine: Any, height: int) -> bool:
    return max(await _heads(engine)) > height + 3


async def _true(value: bool) -> bool:
    return value
