"""The Soroban transaction sender against the local KALE chain and a real SQLite store: one
transaction per intent, contract errors named before a fee is spent, TRY_AGAIN_LATER and
txBAD_SEQ, a transaction lost unseen past its time bound, a plant that races a block boundary,
and a send interrupted between persist and send (as a kill -9 leaves it)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio
from stellar_sdk import Account, Keypair, TransactionBuilder, scval
from stellar_sdk import xdr as sx
from stellar_sdk.base_soroban_server import _assemble_transaction

from engine.chains.soroban import SorobanRpc
from engine.chains.soroban import _txledger as ledger
from engine.chains.soroban._kale import error_name
from engine.chains.soroban._rpc import ContractFailed
from engine.chains.soroban._txs import SorobanTxs, TxFailed
from engine.devnets.kale.contract import KaleFarm, farm_hash, zeros_of
from engine.devnets.kale.ledger import PASSPHRASE, Ledger
from engine.devnets.kale.server import Devnet
from engine.store import Store

BLOCK = 300


class DropFirstSend(httpx.AsyncBaseTransport):
    """The real transport, but the first sendTransaction is lost on the way (the node never
    sees it) while the client is told PENDING: a transaction that can only expire unseen."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"sendTransaction" in request.content and not self.dropped:
            self.dropped += 1
            body = request.content.decode()
            id_ = int(body.split('"id": ')[1].split(",")[0])
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": id_, "result": {
                "status": "PENDING", "hash": "00" * 32, "latestLedger": 1, "latestLedgerCloseTime": "0"}})
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@dataclass
class Rig:
    node: Devnet
    txs: SorobanTxs
    farmer: Keypair
    estop: list[bool]

    def close(self, seconds: float = 5) -> None:
        """Close a ledger ``seconds`` after the last one."""
        self.node.close(self.node.ledger.close_time + int(seconds))

    async def settle(self, tx_id: str, *, closes: int = 10) -> ledger.SorobanTx:
        """Close ledgers and track until the transaction is final."""
        for _ in range(closes):
            await self.txs.track()
            record = await self.txs.store.read(ledger.by_id, tx_id)
            assert record is not None
            if record.state in ("success", "failed"):
                return record
            self.close()
        raise AssertionError(f"{tx_id} still {record.state}")


@asynccontextmanager
async def rig(tmp_path: Path, *, transport: httpx.AsyncBaseTransport | None = None,
              store: Store | None = None, now: int | None = None) -> AsyncIterator[Rig]:
    now = now or int(time.time())
    node = Devnet(Ledger(sequence=100, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now)),
                  ledger_seconds=5, autoclose=False)  # ledgers close when the test says
    farmer = Keypair.random()
    node.ledger.fund(farmer.public_key, kale=10_000)
    own = store is None
    store = store or Store.open(tmp_path / "sb.db")
    flag = [False]
    async with trio.open_nursery() as nursery:
        if own:
            await nursery.start(store.run)
        url = await nursery.start(node.run)
        async with SorobanRpc([url], retries=0, backoff=0.01, transport=transport) as rpc:
            txs = SorobanTxs("kale", rpc, store, passphrase=lambda: PASSPHRASE, estop=lambda: flag[0],
                             error_name=error_name, tx_timeout=30)
            txs.add_signer(farmer)
            yield Rig(node, txs, farmer, flag)
        nursery.cancel_scope.cancel()


def plant_args(who: Keypair, amount: int) -> list:  # type: ignore[type-arg]
    return [scval.to_address(who.public_key), scval.to_int128(amount)]


@pytest.mark.trio
async def test_one_transaction_per_intent_with_its_return_value(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        farm = r.node.ledger.farm_id
        sent = await r.txs.send("plant:1", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 400))
        again = await r.txs.send("plant:1", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 400))
        assert again.id == sent.id and again.hashes == sent.hashes
        assert sent.state == "sent"
        done = await r.settle(sent.id)
        assert done.state == "success" and done.ledger == 101
        assert r.node.ledger.farm.state.asset.balances[r.farmer.public_key] == 9_600  # type: ignore[union-attr]
        assert await r.txs.store.read(ledger.ledger_next, "kale", r.farmer.public_key) == done.sequence + 1

        entropy = r.node.ledger.farm.state.blocks[0].entropy
        digest = farm_hash(0, 7, entropy, r.farmer.public_key)
        work = await r.txs.send("work:1", r.farmer.public_key, farm, "work",
                                [scval.to_address(r.farmer.public_key), scval.to_bytes(digest), scval.to_uint64(7)])
        done = await r.settle(work.id)
        assert done.result is not None and scval.from_uint32(sx.SCVal.from_xdr(done.result)) >= 1  # the gap
        assert sum(1 for t in r.node.done.values() if t["status"] == "SUCCESS") == 2


@pytest.mark.trio
async def test_a_contract_error_is_named_before_any_fee_is_spent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        farm = r.node.ledger.farm_id
        await r.settle((await r.txs.send("p", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 1))).id)
        balance = r.node.ledger.accounts[r.farmer.public_key].balance
        with pytest.raises(ContractFailed) as err:
            await r.txs.send("w", r.farmer.public_key, farm, "work",
                             [scval.to_address(r.farmer.public_key), scval.to_bytes(bytes(32)), scval.to_uint64(1)])
        assert err.value.number == 13 and "HashInvalid" in str(err.value)
        assert await r.txs.store.read(ledger.by_intent, "w") is None  # nothing persisted
        with pytest.raises(ContractFailed, match="PailExists"):
            await r.txs.send("p2", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 1))
        assert r.node.ledger.accounts[r.farmer.public_key].balance == balance


def work_args(who: Keypair, entropy: bytes, nonce: int) -> list:  # type: ignore[type-arg]
    return [scval.to_address(who.public_key), scval.to_bytes(farm_hash(0, nonce, entropy, who.public_key)),
            scval.to_uint64(nonce)]


@pytest.mark.trio
async def test_try_again_later_then_bad_sequence_is_re_signed(tmp_path: Path) -> None:
    """Another transaction of the same account is queued first: ours is told TRY_AGAIN_LATER,
    then, once the other took its sequence number, txBAD_SEQ — and is re-signed, not lost."""
    async with rig(tmp_path) as r:
        farm = r.node.ledger.farm_id
        await r.settle((await r.txs.send("p", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 5))).id)
        entropy = r.node.ledger.farm.state.blocks[0].entropy
        zeros = {n: zeros_of(farm_hash(0, n, entropy, r.farmer.public_key)) for n in range(1, 200)}
        worse = next(n for n, z in zeros.items() if z == 0)
        better = next(n for n, z in zeros.items() if z >= 1)
        seq = r.node.ledger.accounts[r.farmer.public_key].sequence
        other = (TransactionBuilder(Account(r.farmer.public_key, seq), PASSPHRASE, base_fee=100)
                 .append_invoke_contract_function_op(farm, "work", work_args(r.farmer, entropy, worse))
                 .set_timeout(60).build())
        other = _assemble_transaction(other, await r.txs.rpc.simulate(other.to_xdr()))
        other.sign(r.farmer)
        assert (await r.txs.rpc.send(other.to_xdr())).status.value == "PENDING"

        ours = await r.txs.send("w", r.farmer.public_key, farm, "work", work_args(r.farmer, entropy, better))
        assert ours.state == "signed" and ours.error and "TRY_AGAIN_LATER" in ours.error
        r.close()  # the other one lands and takes the sequence number ours was signed with
        r.txs.resend_after = 0
        done = await r.settle(ours.id)
        assert done.state == "success" and len(done.hashes) == 2 and done.sequence == seq + 2
        assert r.node.ledger.farm.state.pails[(r.farmer.public_key, 0)].zeros == zeros[better]


@pytest.mark.trio
async def test_a_transaction_lost_unseen_is_re_signed_after_its_time_bound(tmp_path: Path) -> None:
    transport = DropFirstSend()
    async with rig(tmp_path, transport=transport) as r:
        sent = await r.txs.send("p", r.farmer.public_key, r.node.ledger.farm_id, "plant", plant_args(r.farmer, 3))
        assert sent.state == "sent" and transport.dropped == 1 and not r.node.pending
        await r.txs.track()  # not found, time bound not passed: nothing changes
        assert (await r.txs.store.read(ledger.by_id, sent.id)).hashes == sent.hashes  # type: ignore[union-attr]
        r.close(seconds=sent.max_time - r.node.ledger.close_time + 1)  # the network's clock passes the bound
        done = await r.settle(sent.id)
        assert done.state == "success" and len(done.hashes) == 2 and done.id == sent.id
        assert sum(1 for t in r.node.done.values() if t["status"] == "SUCCESS") == 1


@pytest.mark.trio
async def test_a_plant_that_races_a_block_boundary_fails_and_says_a_new_simulation_passes(tmp_path: Path) -> None:
    start = int(time.time())
    async with rig(tmp_path, now=start) as r:
        farm = r.node.ledger.farm_id
        await r.settle((await r.txs.send("p0", r.farmer.public_key, farm, "plant", plant_args(r.farmer, 1))).id)
        late = Keypair.random()
        r.node.ledger.fund(late.public_key, kale=10)
        r.txs.add_signer(late)
        r.node.ledger.close_time = r.node.ledger.farm.state.farm_block.timestamp + BLOCK - 10  # type: ignore[union-attr]
        sent = await r.txs.send("p1", late.public_key, farm, "plant", plant_args(late, 1))  # simulated in block 0
        r.close(seconds=20)  # applied in the ledger after the boundary: it opens block 1
        done = await r.settle(sent.id)
        assert done.state == "failed" and done.error_number is None
        assert "new simulation passes" in (done.error or "")
        with pytest.raises(TxFailed):
            await r.txs.wait(sent.id, within=1)


class FailSends(httpx.AsyncBaseTransport):
    """The real transport, but sendTransaction never gets through: the engine dies right after
    persisting the signed transaction."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"sendTransaction" in request.content:
            raise httpx.ConnectError("the engine was killed here")
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.trio
async def test_a_send_cut_between_persist_and_send_is_sent_once_after_restart(tmp_path: Path) -> None:
    async with rig(tmp_path, transport=FailSends()) as r:
        cut = await r.txs.send("p", r.farmer.public_key, r.node.ledger.farm_id, "plant", plant_args(r.farmer, 2))
        assert cut.state == "signed" and not r.node.pending
        node, farmer = r.node, r.farmer
    # "restart": a new sender on the same database and chain; the job's retry asks for the same intent
    store = Store.open(tmp_path / "sb.db")
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        url = await nursery.start(node.run)
        async with SorobanRpc([url], retries=0) as rpc:
            txs = SorobanTxs("kale", rpc, store, passphrase=lambda: PASSPHRASE, error_name=error_name)
            txs.add_signer(farmer)
            txs.resend_after = 0
            again = await txs.send("p", farmer.public_key, node.ledger.farm_id, "plant", plant_args(farmer, 2))
            assert again.id == cut.id and again.hashes == cut.hashes
            estop = [True]
            txs.estop = lambda: estop[0]
            await txs.track()  # during an e-stop a transaction never sent stays unsent
            assert not node.pending
            estop[0] = False
            await txs.track()
            node.close(node.ledger.close_time + 5)
            await txs.track()
            done = await store.read(ledger.by_id, cut.id)
            assert done is not None and done.state == "success" and done.hashes == cut.hashes
        assert [t["status"] for t in node.done.values()] == ["SUCCESS"]
        nursery.cancel_scope.cancel()


class CountLookups(httpx.AsyncBaseTransport):
    """The real transport, counting the ``getTransaction`` requests that pass through it."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.lookups = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.lookups += b'"getTransaction"' in request.content
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.trio
async def test_a_sent_transaction_is_looked_up_once_per_ledger_not_per_tick(tmp_path: Path) -> None:
    """A transaction lands only when a ledger closes: however often the tracker ticks, it asks
    ``getTransaction`` once per ledger the chain's watcher has seen (200 farmers' work at a
    0.25 s poll would otherwise be 800 lookups a second, all answered NOT_FOUND)."""
    counter = CountLookups()
    async with rig(tmp_path, transport=counter) as r:
        head = [r.node.ledger.sequence]
        r.txs.head = lambda: head[0]
        sent = await r.txs.send("plant:once", r.farmer.public_key, r.node.ledger.farm_id, "plant",
                                plant_args(r.farmer, 10))
        for _ in range(20):  # no ledger closes: one lookup, then none
            await r.txs.track()
        assert counter.lookups == 1
        r.close()
        head[0] = r.node.ledger.sequence  # the watcher sees the new ledger
        await r.txs.track()
        record = await r.txs.store.read(ledger.by_id, sent.id)
        assert record is not None and record.state == "success" and counter.lookups == 2
