"""The Cosmos sender against the local Structs chain, without an engine around it: a
transaction persisted signed but never broadcast (a crash) whose sequence another wallet then
spends is refused by CheckTx, signed again with the next sequence, and lands once; the same
bytes broadcast twice land once; during an e-stop nothing new is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from engine.chains.cometbft import CometRpc, CosmosTxs
from engine.chains.cometbft import _txledger as ledger
from engine.chains.cometbft import tx as codec
from engine.chains.cometbft._rpc import Refused
from engine.devnets.structs import StructsDevnet
from engine.devnets.structs.chain import Target
from engine.errors import EstopActive
from engine.store import Store
from tests.engine.structs.conftest import solve

RANGE = 20


@dataclass
class Rig:
    node: StructsDevnet
    txs: CosmosTxs
    address: str
    player: str
    estop: list[bool]

    def proof_msg(self, target: Target, zeros: int = 1) -> dict[str, object]:
        proof, nonce = solve("build", target.id, target.block_start, zeros)
        return codec.completion("build", self.address, target.id, proof, nonce)

    def ready_target(self) -> Target:
        """A struct old enough that one zero is a proof."""
        target = self.node.chain.add_target(self.player, "build", RANGE, age=40)
        return target


@asynccontextmanager
async def rig(tmp_path: Path, store_target: Path | str | None = None) -> AsyncIterator[Rig]:
    node = StructsDevnet(autoproduce=False)
    node.produce_block()
    key = codec.create_key(tmp_path / "alice.key")
    address = codec.address(key.public_key, "structs")
    player = node.chain.add_player(address)
    for _ in range(40):
        node.produce_block()
    store = Store.open(store_target or tmp_path / "sb.db")
    flag = [False]
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        rpc_url, rest_url = await nursery.start(node.run)
        async with CometRpc([rpc_url], [rest_url], retries=0, backoff=0.01) as rpc:
            txs = CosmosTxs("structs", rpc, store, chain_id=node.chain.chain_id, estop=lambda: flag[0])
            txs.add_signer(address, key)
            yield Rig(node, txs, address, player, flag)
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_sequence_spent_while_the_engine_was_down_is_signed_again(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ours, theirs = r.ready_target(), r.ready_target()
        key = r.txs._keys[r.address]
        crashed = codec.sign(key, [r.proof_msg(ours)], chain_id=r.node.chain.chain_id, account_number=1, sequence=0,
                             gas=200_000)
        record = ledger.CosmosTx(id="cosmos-tx_crashed", chain="structs", signer=r.address, intent="crashed",
                                 label="build", msgs=[r.proof_msg(ours)], raw=crashed.raw.hex(), hashes=[crashed.hash],
                                 sequence=0, account_number=1, gas=200_000)
        await r.txs.store.write(ledger.insert_signed, record)  # persisted, never broadcast: then the crash
        r.node.chain.check_tx(codec.sign(key, [r.proof_msg(theirs)], chain_id=r.node.chain.chain_id, account_number=1,
                                         sequence=0, gas=200_000).raw)  # another wallet spends sequence 0
        r.node.produce_block()
        await r.txs.track()  # broadcasts the stored bytes: "expected 1, got 0" → signed again at 1
        again = await r.txs.store.read(ledger.by_id, record.id)
        assert again is not None and again.state == "sent" and again.sequence == 1 and len(again.hashes) == 2
        r.node.produce_block()
        await r.txs.track()
        done = await r.txs.store.read(ledger.by_id, record.id)
        assert done is not None and done.state == "success"
        assert [h for h in done.hashes if h in r.node.chain.included] == [done.hash] and ours.done and theirs.done


@pytest.mark.trio
async def test_the_same_bytes_land_once_and_an_estop_sends_nothing_new(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        target = r.ready_target()
        sent = await r.txs.send("build:a", r.address, [r.proof_msg(target)], label="build a")
        assert sent.state == "sent" and (await r.txs.send("build:a", r.address, [], label="again")).id == sent.id
        await r.txs.rpc.broadcast(bytes.fromhex(sent.raw))  # "tx already exists in cache": the same hash, once
        r.node.produce_block()
        await r.txs.track()
        done = await r.txs.wait(sent.id, within=5)
        assert done.state == "success" and done.height == r.node.chain.height
        assert sum(len(b.txs) for b in r.node.chain.blocks) == 1
        r.estop[0] = True
        with pytest.raises(EstopActive):
            await r.txs.send("build:b", r.address, [r.proof_msg(r.ready_target())], label="build b")
        assert await r.txs.store.read(ledger.by_intent, "build:b") is None


@pytest.mark.trio
async def test_sends_made_at_once_are_simulated_together_and_land_in_one_block(tmp_path: Path) -> None:
    """A signer's sends that are ready together go as a batch: simulated before any of them is
    broadcast (one sequence for all, as the mempool expects it), stored at contiguous sequences,
    broadcast in order; a proof the chain refuses fails alone, with nothing signed."""
    async with rig(tmp_path) as r:
        calls: list[str] = []
        simulate, broadcast = r.txs.rpc.simulate, r.txs.rpc.broadcast

        async def simulated(raw: bytes) -> int:
            calls.append("simulate")
            return await simulate(raw)

        async def broadcasted(raw: bytes) -> str:
            calls.append("broadcast")
            return await broadcast(raw)

        r.txs.rpc.simulate, r.txs.rpc.broadcast = simulated, broadcasted  # type: ignore[method-assign]
        targets, bad = [r.ready_target() for _ in range(20)], r.ready_target()
        results: dict[object, object] = {}

        async def send(i: object, msg: dict[str, object]) -> None:
            try:
                results[i] = await r.txs.send(f"build:{i}", r.address, [msg], label=f"build {i}")
            except Refused as exc:
                results[i] = exc

        async with trio.open_nursery() as senders:
            for i, target in enumerate(targets):
                senders.start_soon(send, i, r.proof_msg(target))
            senders.start_soon(send, "bad", codec.completion("build", r.address, bad.id, "0" * 64, "1"))
        assert isinstance(results["bad"], Refused) and await r.txs.store.read(ledger.by_intent, "build:bad") is None
        records = [results[i] for i in range(20)]
        assert sorted(t.sequence for t in records) == list(range(20))  # type: ignore[attr-defined]
        assert calls.index("broadcast") >= 10 and calls.count("broadcast") == 20  # batched; each sent once
        r.node.produce_block()
        await r.txs.track()
        assert len(r.node.chain.blocks[-1].txs) == 20 and all(t.done for t in targets) and not bad.done


@pytest.mark.trio
async def test_two_engines_sending_for_one_signer_never_sign_at_one_sequence(tmp_path: Path, pg_cluster: Any) -> None:
    """Two senders on one PostgreSQL store (two engines) send for one signer at once: each
    sequence is allocated once (no transaction refused and signed again), all land once."""
    url = pg_cluster.new_database()
    async with rig(tmp_path, url) as r, trio.open_nursery() as nursery:
        second = Store.open(url)
        await nursery.start(second.run)
        other = CosmosTxs("structs", r.txs.rpc, second, chain_id=r.node.chain.chain_id)
        other.add_signer(r.address, r.txs._keys[r.address])
        targets = [r.ready_target() for _ in range(10)]
        sent: dict[int, ledger.CosmosTx] = {}

        async def send(txs: CosmosTxs, i: int) -> None:
            sent[i] = await txs.send(f"build:{i}", r.address, [r.proof_msg(targets[i])], label=f"build {i}")

        async with trio.open_nursery() as senders:
            for i in range(10):
                senders.start_soon(send, (r.txs, other)[i % 2], i)
        for _ in range(5):
            r.node.produce_block()
            await r.txs.track()
        records = [await r.txs.store.read(ledger.by_id, tx.id) for tx in sent.values()]
        assert sorted(t.sequence for t in records if t is not None) == list(range(10))
        assert all(t is not None and t.state == "success" and len(t.hashes) == 1 for t in records)
        assert sum(len(b.txs) for b in r.node.chain.blocks) == 10 and all(t.done for t in targets)
        nursery.cancel_scope.cancel()


def test_a_key_file_others_can_read_stops_the_start_with_its_key_named(tmp_path: Path) -> None:
    from engine.chains.cometbft import CometChain
    from engine.errors import ConfigError
    from tests.conftest import make_settings

    key = tmp_path / "alice.key"
    codec.create_key(key)
    key.chmod(0o644)
    settings = make_settings(tmp_path / "e", **{"chains.structs.kind": "cometbft", "chains.structs.rpc": ["http://x"],
                                                "chains.structs.rest": ["http://x"], "chains.structs.keys": {"alice": str(key)}})
    store = Store.open(tmp_path / "sb.db")
    with pytest.raises(ConfigError) as refused:
        CometChain("structs", settings.chains["structs"], store, None)  # type: ignore[arg-type]
    assert refused.value.problems == [("chains.structs.keys.alice", f"{key} is readable by others (mode 644): chmod 600 it")]
    assert key.read_text().strip() not in str(refused.value)
