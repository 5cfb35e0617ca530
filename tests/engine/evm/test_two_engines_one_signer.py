"""Two engines sending for one EVM signer through one PostgreSQL store (two transaction managers,
each with its own memory, sharing only the database) against a real anvil: contiguous nonces,
every intent mined exactly once, no duplicate transaction; only one of them tracks at a time."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import trio

from engine.chains.evm import Anvil, EvmRpc
from engine.chains.evm import _ledger as ledger
from engine.chains.evm._devnet import Rpc
from engine.chains.evm._txmanager import TxManager
from engine.store import Store
from tests.engine.evm.test_txmanager import KEY, OTHER, POLICY


@pytest.mark.trio
async def test_two_engines_share_one_signer_with_contiguous_nonces(anvil: Anvil, pg_cluster: Any,
                                                                   tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    stores = [Store.open(url), Store.open(url)]
    start = int(Rpc(anvil.url)("eth_getTransactionCount", KEY.address, "pending"), 16)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for store in stores:
                await nursery.start(store.run)
            async with EvmRpc([anvil.url]) as rpc_a, EvmRpc([anvil.url]) as rpc_b:
                managers = [TxManager("devnet", 31337, rpc, store, KEY, POLICY)
                            for rpc, store in zip((rpc_a, rpc_b), stores, strict=True)]
                for m in managers:
                    await nursery.start(functools.partial(m.run, interval=0.2))
                sent: list[Any] = []

                async def send(m: TxManager, i: int) -> None:
                    sent.append(await m.send(f"job:{i}", to=OTHER, value=1000 + i))

                async with trio.open_nursery() as senders:  # both engines at once, interleaved
                    for i in range(40):
                        senders.start_soon(send, managers[i % 2], i)
                await trio.sleep(1.0)
                assert sum(m.tracking for m in managers) == 1  # one tracker for the signer
                for record in sent:
                    await managers[0].wait(record.id, within=20)
                records = await stores[1].read(
                    lambda c: [ledger.by_id(c, i) for (i,) in c.execute("SELECT id FROM evm_txs").fetchall()])
                nursery.cancel_scope.cancel()
    nonces = sorted(r.nonce for r in sent)
    assert nonces == list(range(start, start + 40))  # contiguous, none twice
    chain_nonce = int(Rpc(anvil.url)("eth_getTransactionCount", KEY.address, "latest"), 16)
    assert chain_nonce == start + 40  # exactly 40 transactions landed: no duplicate
    assert {r.intent for r in records} == {f"job:{i}" for i in range(40)} and all(r.state == "confirmed" for r in records)

