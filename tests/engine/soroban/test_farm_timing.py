"""KALE work against the clock, in a real engine on the local KALE chain: a job keeps hashing
after its first submission and resubmits more zeros (counted on chain), a job that starts
long after ``work_delay`` still hashes and lands before the block ends, and a block whose
successor the engine missed while it was down is still reported to the Backend."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trio
from stellar_sdk import Keypair, TransactionEnvelope, scval

from engine.chains.soroban import _farmstore as farmstore
from engine.devnets.kale.ledger import PASSPHRASE
from engine.devnets.kale.server import Devnet
from tests.conftest import running_engine, wait_for
from tests.engine.soroban.test_farm import farm_settings, farmers, local_chain
from tests.engine.soroban.test_pooler import Backend


def work_on_chain(node: Devnet, farmer: str, index: int) -> list[tuple[int, int]]:
    """(ledger, zeros of the digest sent) of every successful ``work`` of ``farmer`` that landed
    in block ``index``'s time, read from the devnet's applied transactions."""
    out = []
    for record in node.done.values():
        if record["status"] != "SUCCESS":
            continue
        op = TransactionEnvelope.from_xdr(record["envelopeXdr"], PASSPHRASE).transaction.operations[0]
        call = op.host_function.invoke_contract  # type: ignore[attr-defined]
        if call.function_name.sc_symbol.decode() != "work" or scval.from_address(call.args[0]).address != farmer:
            continue
        digest = scval.from_bytes(call.args[1])
        zeros = len(digest.hex()) - len(digest.hex().lstrip("0"))
        out.append((record["ledger"], zeros))
    return sorted(out)


def open_block(node: Devnet, opener: Keypair) -> int:
    """Someone else plants (stake 0) and so opens the next block now; its index."""
    farm = node.ledger.farm
    farm.plant(opener.public_key, 0, now=int(time.time()), sequence=node.ledger.sequence)
    return farm.state.farm_index


@pytest.mark.slow
@pytest.mark.trio
async def test_work_keeps_hashing_and_resubmits_more_zeros(tmp_path: Path) -> None:
    """The first work goes out early (work_delay 1.5 s of a 16 s block); the job hashes on and
    sends again each time it beats what it sent. Three farmers: each has ~13 s to beat ~1 s of
    hashing, so at least one resubmits in any run (a job that beats nothing sends nothing)."""
    node = local_chain(block=16)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        keys, overrides = farmers(node, tmp_path, 3)
        settings = farm_settings(tmp_path, url, node, **overrides, **{
            "kale.block_interval": 16, "kale.work_delay": 1.5, "kale.work_margin": 1.5, "kale.plant_window": 3})
        async with running_engine(settings) as (engine, client):
            store = engine.store

            async def one_block_worked() -> int | None:
                rows = await store.read(farmstore.pails, limit=100)
                done = {}
                for r in rows:
                    done.setdefault(r["block"], []).append(r)
                over = [i for i, rs in done.items() if len(rs) == 3 and all(r["state"] in ("worked", "harvested")
                                                                              for r in rs)
                        and engine.services.kale.view.index > i]  # type: ignore[union-attr]
                return min(over) if over else None

            index = await wait_for(one_block_worked, within=45, interval=0.3)
            rows = [r for r in await store.read(farmstore.pails, index=index)]
            resubmitted = 0
            for key in keys:
                sent = work_on_chain(node, key.public_key, index)
                row = next(r for r in rows if r["farmer"] == key.public_key)
                assert sent, f"no work of {key.public_key} in block {index} on chain"
                zeros = [z for _ledger, z in sent]
                assert zeros == sorted(set(zeros)), sent  # each resend has strictly more zeros
                assert row["zeros"] == zeros[-1] and row["resubmissions"] == len(sent) - 1, (row, sent)
                resubmitted += len(sent) - 1
                job = (await client.get(f"/v1/jobs/{row['job']}")).json()["job"]
                assert job["result"]["resubmissions"] == len(sent) - 1 and job["result"]["zeros"] == zeros[-1]
            assert resubmitted >= 1
            assert not await store.read(farmstore.compensations)
        nursery.cancel_scope.cancel()


@pytest.mark.slow
@pytest.mark.trio
async def test_a_work_job_started_long_after_work_delay_still_lands(tmp_path: Path) -> None:
    """The engine comes up into a block someone else opened 12 s ago (work_delay 2 s + 10 s):
    it plants, and its late work hashes for what is left and lands before the block ends."""
    node = local_chain(block=24)
    opener = Keypair.random()
    node.ledger.fund(opener.public_key)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        keys, overrides = farmers(node, tmp_path, 1)
        index = open_block(node, opener)
        opened = node.ledger.farm.state.blocks[index].timestamp
        await trio.sleep(max(0.0, opened + 12 - time.time()))
        settings = farm_settings(tmp_path, url, node, **overrides, **{
            "kale.block_interval": 24, "kale.work_delay": 2, "kale.work_margin": 3, "kale.plant_window": 16})
        async with running_engine(settings) as (engine, _client):
            async def worked() -> dict[str, Any] | None:
                rows = await engine.store.read(farmstore.pails, index=index, farmer=keys[0].public_key)
                return rows[0] if rows and rows[0]["state"] in ("worked", "failed") else None

            row = await wait_for(worked, within=20, interval=0.2)
            assert row["state"] == "worked", row
            sent = work_on_chain(node, keys[0].public_key, index)
            assert sent and node.ledger.farm.state.pails[(keys[0].public_key, index)].zeros == sent[-1][1] >= 1
            assert time.time() < opened + 24  # landed in the block's time
            assert row["hashes"] > 0 and not await engine.store.read(farmstore.compensations)
        nursery.cancel_scope.cancel()


@pytest.mark.slow
@pytest.mark.trio
async def test_a_block_whose_successor_was_missed_is_still_reported(tmp_path: Path) -> None:
    """Work in block N, the engine stops, two blocks open without it, it comes back: the
    Backend still gets /pooler/work-completed for N (and once)."""
    node = local_chain(block=6)
    opener = Keypair.random()
    node.ledger.fund(opener.public_key)
    backend = Backend()
    backend.fail_first = 0
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        backend_url = await nursery.start(backend.run)
        keys, overrides = farmers(node, tmp_path, 1)
        settings = farm_settings(tmp_path, url, node, **overrides, **{
            "kale.block_interval": 6, "kale.work_delay": 1.5, "kale.work_margin": 1.5, "kale.plant_window": 2,
            "kale.backend_url": backend_url})
        async with running_engine(settings) as (engine, _client):
            async def worked() -> int | None:
                rows = await engine.store.read(farmstore.pails, farmer=keys[0].public_key)
                return next((r["block"] for r in rows if r["state"] == "worked"), None)

            index = await wait_for(worked, within=20, interval=0.1)
        assert node.ledger.farm.state.farm_index == index  # stopped before its successor opened
        for _ in range(2):
            due = node.ledger.farm.state.farm_block.timestamp + 6  # type: ignore[union-attr]
            await trio.sleep(max(0.0, due - time.time()) + 0.05)
            open_block(node, opener)
        assert node.ledger.farm.state.farm_index == index + 2
        async with running_engine(settings) as (engine, _client):
            async def reported() -> list[dict[str, Any]]:
                return [b for p, _h, b in backend.reports if p == "/pooler/work-completed" and b["blockIndex"] == index]

            (body,) = await wait_for(reported, within=15, interval=0.2)
            (result,) = body["workResults"]
            assert result["custodialWallet"] == keys[0].public_key and result["status"] == "success"
            await trio.sleep(1.5)  # a second look at the same blocks queues nothing again
            assert len(await reported()) == 1
        nursery.cancel_scope.cancel()

