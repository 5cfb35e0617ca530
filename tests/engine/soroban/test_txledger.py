"""The Soroban ledger's guard for engines sharing a store, on both backends: a transaction is
stored only while its account is idle (Stellar queues one per account) and only at a sequence
no landed transaction of the account has passed."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from engine.chains.soroban import _txledger as ledger
from engine.store import Store

SOURCE = "GSOURCE"


def tx(intent: str, sequence: int) -> ledger.SorobanTx:
    return ledger.SorobanTx(id=f"soroban-tx_{intent}", chain="kale", source=SOURCE, intent=intent, contract="C",
                            function="plant", args=[], sequence=sequence, envelope="AAAA", hashes=[f"{intent}-h"],
                            max_time=0)


@pytest.mark.trio
async def test_stored_only_while_the_account_is_idle_and_past_every_landed_sequence(store_target: Path | str) -> None:
    store = Store.open(store_target)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        first = await store.write(ledger.insert_if_idle, tx("a", 11))
        assert first is not None and first.intent == "a"
        assert await store.write(ledger.insert_if_idle, tx("b", 11)) is None  # "a" is open: busy
        assert (await store.write(ledger.insert_if_idle, tx("a", 12))).id == first.id  # type: ignore[union-attr]
        await store.write(ledger.update, first, state="success", ledger=101)
        assert await store.write(ledger.insert_if_idle, tx("b", 11)) is None  # built on a stale sequence
        second = await store.write(ledger.insert_if_idle, tx("b", 12))
        assert second is not None and second.sequence == 12
        await store.write(ledger.update, second, state="failed", error="refused by the network: txBAD_AUTH")
        third = await store.write(ledger.insert_if_idle, tx("c", 12))  # refused, never landed: 12 is free
        assert third is not None and [t.intent for t in await store.read(ledger.open_txs, "kale", SOURCE)] == ["c"]
        nursery.cancel_scope.cancel()
