"""PoW jobs end to end in a real engine: submit through the API, hash on the pool's threads,
re-verify, complete; cancel and e-stop leave every hashing thread idle within the bound."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from engine.pow.kale import KaleWork, parse_entropy, parse_farmer
from engine.pow.structs import StructsWork
from tests.conftest import job, make_settings, running_engine, until_state, wait_for

FARMER = "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE"
ENTROPY = "AAAAAAn66y/43JP7M02rwTmONZoWOmu1OPYz/bmzJ8o="


HASHING = 60  # seconds a PoW job may take to finish here: the first one may compile the kernels


async def hashing_threads(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    workers = (await client.get("/v1/workers")).json()["workers"]
    return [w for w in workers if w["id"].startswith("pow/thread-") and w["state"] == "hashing"]


@pytest.mark.trio
async def test_a_kale_job_finds_and_verifies_a_nonce(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "pow.kale", "payload": {
            "index": 37, "entropy": ENTROPY, "farmer": FARMER, "min_zeros": 4, "start_nonce": 0}})
        assert r.status_code == 201, r.text
        done = await until_state(client, r.json()["id"], "completed", "failed", within=HASHING)
        assert done["state"] == "completed", done["error"]
        result = done["result"]
        assert result["zeros"] >= 4 and result["hash"].startswith("0000")
        work = KaleWork(37, parse_entropy(ENTROPY), parse_farmer(FARMER))
        assert work.hash(result["nonce"]).hex() == result["hash"]
        assert result["hashes"] >= 1 and done["progress"]["hashes"] == result["hashes"]
        workers = (await client.get("/v1/workers")).json()["workers"]
        pow_threads = [w for w in workers if w["id"].startswith("pow/thread-")]
        assert len(pow_threads) == os.cpu_count()  # threads = 0: one per core
        assert sum(w["detail"]["hashes"] for w in pow_threads) >= result["hashes"]
        (pool,) = [w for w in workers if w["id"] == "pow/threads"]
        assert pool["detail"]["hashes"] == sum(w["detail"]["hashes"] for w in pow_threads)
        assert set(pool["detail"]["hashrate"]) == {"10s", "60s", "15m"} and pool["state"] == "idle"


@pytest.mark.trio
async def test_best_mode_hashes_for_its_budget_and_keeps_the_best(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "pow.kale", "payload": {
            "index": 1, "entropy": "00" * 32, "farmer": "11" * 32, "min_zeros": 3, "mode": "best", "seconds": 1.5}})
        done = await until_state(client, r.json()["id"], "completed", "failed", within=HASHING)
        assert done["state"] == "completed", done["error"]
        assert done["result"]["seconds"] >= 1.4
        assert done["result"]["zeros"] >= 5  # tens of millions of hashes in 1.5 s
        assert done["progress"]["hashrate"]["10s"] > 0


@pytest.mark.trio
async def test_bad_kale_payloads_are_refused_with_the_field_named(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        base = {"index": 1, "entropy": ENTROPY, "farmer": FARMER}
        for payload, field in (
            ({**base, "farmer": FARMER[:-1] + "A"}, "payload.farmer"),
            ({**base, "entropy": "abcd"}, "payload.entropy"),
            ({**base, "min_zeros": 40}, "payload.min_zeros"),
            ({**base, "index": -1}, "payload.index"),
            ({**base, "mode": "best"}, "payload.seconds"),
        ):
            r = await client.post("/v1/jobs", json={"kind": "pow.kale", "payload": payload})
            assert r.status_code == 422, (payload, r.text)
            assert r.json()["error"]["details"]["field"] == field, r.text
        assert (await client.get("/v1/jobs")).json()["total"] == 0


@pytest.mark.trio
@pytest.mark.parametrize("how", ["cancel", "estop"])
async def test_cancel_and_estop_stop_hashing_within_the_bound(tmp_path: Path, how: str) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "pow.kale", "payload": {
            "index": 2, "entropy": "00" * 32, "farmer": "22" * 32, "min_zeros": 16}})
        job_id = r.json()["id"]
        await wait_for(lambda: hashing_threads(client), 60)

        async def hashed() -> bool:  # a batch has come back (else the e-stop may land inside the first)
            return bool(((await job(client, job_id)).get("progress") or {}).get("hashes"))

        await wait_for(hashed, 30)
        await wait_for(lambda: hashing_threads(client), 30)
        started = trio.current_time()
        if how == "cancel":
            await client.post(f"/v1/jobs/{job_id}/cancel", json={"reason": "test"})
        else:
            await client.post("/v1/estop", json={"reason": "test"})

        async def all_idle() -> bool:
            return not await hashing_threads(client)

        await wait_for(all_idle, 5, interval=0.005)
        assert trio.current_time() - started < 0.5  # batches are ~50 ms; measured precisely by bench pow
        final = await until_state(client, job_id, "cancelled" if how == "cancel" else "queued", within=5)
        assert final["progress"]["hashes"] > 0


async def set_height(client: httpx.AsyncClient, height: int) -> dict[str, Any]:
    r = await client.post("/v1/chains/structs/height", json={"height": height, "reason": "test"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.trio
async def test_a_structs_job_waits_for_its_age_then_hashes_until_the_falling_difficulty_is_met(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        await set_height(client, 5)
        payload = {"action": "mine", "object_id": "5-42", "block_start": 0, "difficulty_range": 100,
                   "target_age": 10, "start_nonce": 0}
        job_id = (await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload})).json()["id"]
        waiting = await until_state(client, job_id, "waiting", within=30)
        assert waiting["progress"]["waiting_info"] == {"chain": "structs", "height": 5, "current_age": 5,
                                                        "target_age": 10, "blocks_remaining": 5,
                                                        "difficulty_now": 42}  # 64 - floor(log10(5)/log10(100)*63)
        assert waiting["attempts"] == 0
        await set_height(client, 7)
        info = await wait_for(lambda: _waiting_info(client, job_id, 7), 10)
        assert info["blocks_remaining"] == 3 and info["difficulty_now"] == 38  # refreshed by the store at each height
        queued = await set_height(client, 10)  # age 10: difficulty 33 zeros — hashing, no proof yet
        assert queued["queued"] == [job_id]
        await until_state(client, job_id, "running", within=10)
        await wait_for(lambda: hashing_threads(client), 30)
        assert (await job(client, job_id))["state"] == "running"
        await set_height(client, 100)  # age 100 = the range: difficulty 1, the best hash qualifies
        done = await until_state(client, job_id, "completed", "failed", within=30)
        assert done["state"] == "completed", done["error"]
        result = done["result"]
        assert result["difficulty"] == 1 and result["height"] == 100 and result["zeros"] >= 1
        work = StructsWork(b"5-42MINE0NONCE")
        assert work.hash(result["nonce"]).hex() == result["hash"]
        chains = (await client.get("/v1/chains")).json()["chains"]
        assert chains == [{"name": "structs", "kind": "manual", "head": 100, "head_hash": None, "lag_s": None,
                           "detail": chains[0]["detail"]}]


async def _waiting_info(client: httpx.AsyncClient, job_id: str, height: int) -> dict[str, Any] | None:
    info = (await job(client, job_id))["progress"]["waiting_info"]
    return info if info["height"] == height else None  # type: ignore[no-any-return]


@pytest.mark.trio
async def test_bad_structs_payloads_name_the_field(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        base = {"action": "mine", "object_id": "5-42", "block_start": 0, "difficulty_range": 14000}
        for payload, field in (({**base, "action": "teleport"}, "payload.action"),
                               ({**base, "action": "raid"}, "payload.planet_id"),
                               ({**base, "difficulty_range": 1}, "payload.difficulty_range"),
                               ({k: v for k, v in base.items() if k != "block_start"}, "payload.block_start")):
            r = await client.post("/v1/jobs", json={"kind": "pow.structs", "payload": payload})
            assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, (payload, r.text)
        r = await client.post("/v1/chains/structs/height", json={"height": -3})
        assert r.status_code == 422


@pytest.mark.trio
async def test_a_hashcash_job_mints_a_valid_stamp(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "pow.hashcash", "payload": {
            "resource": "foo", "bits": 18, "date": "040428", "rand": "0298b26853c8ebb3"}})
        assert r.status_code == 201, r.text
        done = await until_state(client, r.json()["id"], "completed", "failed", within=HASHING)
        assert done["state"] == "completed", done["error"]
        stamp = done["result"]["stamp"]
        assert stamp.startswith("1:18:040428:foo::0298b26853c8ebb3:")
        digest = hashlib.sha1(stamp.encode()).digest()
        assert int.from_bytes(digest, "big") >> (160 - 18) == 0
        bad = await client.post("/v1/jobs", json={"kind": "pow.hashcash", "payload": {"resource": "a:b"}})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "payload.resource"
