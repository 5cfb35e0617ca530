"""The transaction manager against a real anvil and a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from eth_account import Account

from engine.chains.evm import DEV_KEYS, Anvil, EvmRpc
from engine.chains.evm import _ledger as ledger
from engine.chains.evm._contracts import load
from engine.chains.evm._devnet import Rpc
from engine.chains.evm._txmanager import GWEI, EstopActive, FeePolicy, TxManager
from engine.errors import ChainError, JobFailure, PermanentFailure
from engine.store import Store

KEY = Account.from_key(DEV_KEYS[3])
OTHER = Account.from_key(DEV_KEYS[2]).address
POLICY = FeePolicy(max_fee=500 * GWEI, max_priority_fee=5 * GWEI, bump_after=0.3, confirmations=1,
                   receipt_timeout=20)


class FailSends(httpx.AsyncBaseTransport):
    """Real transport, but eth_sendRawTransaction "fails" (the process dies right after persisting)."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"eth_sendRawTransaction" in request.content:
            raise httpx.ConnectError("the engine was killed here")
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


class RecordSends(httpx.AsyncBaseTransport):
    """The real transport, recording the raw transactions sent, in the order the node got them,
    and how many requests carrying them were out at once at most."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.raws: list[str] = []
        self.out = self.most_out = self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        raws = [c["params"][0] for c in (body if isinstance(body, list) else [body])
                if c["method"] == "eth_sendRawTransaction"]
        if not raws:
            return await self.real.handle_async_request(request)
        self.raws += raws
        self.posts += 1
        self.out += 1
        self.most_out = max(self.most_out, self.out)
        try:
            return await self.real.handle_async_request(request)
        finally:
            self.out -= 1

    async def aclose(self) -> None:
        await self.real.aclose()


@asynccontextmanager
async def manager(anvil: Anvil, tmp_path: Path, *, estop: list[bool] | None = None, policy: FeePolicy = POLICY,
                  transport: httpx.AsyncBaseTransport | None = None,
                  store: Store | None = None) -> AsyncIterator[TxManager]:
    flag = estop if estop is not None else [False]
    own = store is None
    store = store or Store.open(tmp_path / "sb.db")
    async with trio.open_nursery() as nursery:
        if own:
            await nursery.start(store.run)
        async with EvmRpc([anvil.url], backoff=0.01, retries=0 if transport else 3, transport=transport) as rpc:
            yield TxManager("devnet", 31337, rpc, store, KEY, policy, estop=lambda: flag[0])
        nursery.cancel_scope.cancel()


async def settle(m: TxManager, tx_id: str, within: float = 10.0) -> None:
    """Track until the transaction is done (confirmed, failed or cancelled): a receipt may take
    a moment even with automine."""
    with trio.fail_after(within):
        while (await m.store.read(ledger.by_id, tx_id)).state not in ("confirmed", "failed", "cancelled"):
            await m.track()
            await trio.sleep(0.05)


def _chain_nonce(anvil: Anvil) -> int:
    """The key's next nonce. "pending": anvil's automine may answer a send before the block
    with it is the latest (seen once: the next external send then reused a nonce)."""
    return int(Rpc(anvil.url)("eth_getTransactionCount", KEY.address, "pending"), 16)


@pytest.mark.trio
async def test_one_intent_one_transaction_confirmed(anvil: Anvil, tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            before = _chain_nonce(anvil)
            record = await m.send("job:a", to=OTHER, value=12345)
            assert record.state == "sent" and record.nonce == before
            await settle(m, record.id)
            done = await m.wait(record.id)
            assert done.state == "confirmed" and done.receipt and done.receipt["status"] == "0x1"
            again = await m.send("job:a", to=OTHER, value=12345)
            assert again.id == record.id and _chain_nonce(anvil) == before + 1
            seen = await m.reconcile()
            assert seen["ledger_next_nonce"] == seen["chain_pending_nonce"] == before + 1 and seen["drift"] == 0


@pytest.mark.trio
async def test_a_reverting_call_fails_before_anything_is_signed(anvil: Anvil, tmp_path: Path) -> None:
    target = Rpc(anvil.url).deploy("DemoTarget")
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            before = _chain_nonce(anvil)
            with pytest.raises(PermanentFailure, match="would revert: nope") as err:
                await m.send("job:b", to=target, data=load("DemoTarget").fn("fail").encode("nope"))
            assert err.value.code == "reverted"
            assert await m.store.read(ledger.by_intent, "job:b") is None and _chain_nonce(anvil) == before


@pytest.mark.trio
async def test_a_mined_revert_fails_the_wait_with_its_reason(anvil: Anvil, tmp_path: Path) -> None:
    target = Rpc(anvil.url).deploy("DemoTarget")
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            record = await m.send("job:oog", to=target, data=load("DemoTarget").fn("poke").encode(), gas=21_500)
            await settle(m, record.id)
            with pytest.raises(PermanentFailure, match="reverted") as err:
                await m.wait(record.id)
            assert err.value.code == "reverted"
            assert (await m.store.read(ledger.by_id, record.id)).state == "failed"


@pytest.mark.trio
async def test_a_stuck_transaction_is_replaced_with_higher_fees(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    rpc("evm_setAutomine", False)
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            before = _chain_nonce(anvil)
            record = await m.send("job:stuck", to=OTHER, value=1)
            await trio.sleep(0.4)
            await m.track()  # unmined past bump_after: replaced
            bumped = await m.store.read(ledger.by_id, record.id)
            assert len(bumped.hashes) == 2 and bumped.max_fee > record.max_fee
            assert bumped.priority_fee > record.priority_fee and bumped.nonce == record.nonce
            rpc("evm_mine")
            await settle(m, record.id)
            done = await m.wait(record.id)
            assert done.receipt["transactionHash"] == bumped.hashes[-1]  # the replacement was mined
            assert _chain_nonce(anvil) == before + 1  # …and only one transaction for the intent


@pytest.mark.trio
async def test_external_transactions_from_the_key_are_reconciled(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            await m.reconcile()
            first = await m.send("job:1", to=OTHER, value=1)
            await settle(m, first.id)
            await m.wait(first.id)
            _send_external(rpc, _chain_nonce(anvil))  # someone else uses the same key
            _send_external(rpc, _chain_nonce(anvil))
            seen = await m.reconcile()
            assert seen["ledger_next_nonce"] == seen["chain_pending_nonce"] == first.nonce + 3
            second = await m.send("job:2", to=OTHER, value=2)
            assert second.nonce == first.nonce + 3
            await settle(m, second.id)
            assert (await m.wait(second.id)).state == "confirmed"
            # an external transaction that takes our pending nonce: ours is signed again
            rpc("evm_setAutomine", False)
            third = await m.send("job:3", to=OTHER, value=3)
            _send_external(rpc, third.nonce, tip=20 * GWEI)  # replaces ours in the mempool
            rpc("evm_mine")
            await m.track()
            moved = await m.store.read(ledger.by_id, third.id)
            assert moved.nonce == third.nonce + 1 and len(moved.hashes) == 2
            rpc("evm_mine")
            await settle(m, third.id)
            assert (await m.wait(third.id)).state == "confirmed"


@pytest.mark.trio
async def test_after_a_crash_between_persist_and_broadcast_no_second_transaction(anvil: Anvil,
                                                                                   tmp_path: Path) -> None:
    store = Store.open(tmp_path / "sb.db")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            before = _chain_nonce(anvil)
            async with manager(anvil, tmp_path, transport=FailSends(), store=store) as dying:
                with pytest.raises(JobFailure, match="broadcast"):
                    await dying.send("job:crash", to=OTHER, value=7)
            persisted = await store.read(ledger.by_intent, "job:crash")
            assert persisted is not None and persisted.state == "signed" and _chain_nonce(anvil) == before
            async with manager(anvil, tmp_path, store=store) as restarted:  # the engine comes back
                again = await restarted.send("job:crash", to=OTHER, value=7)
                assert again.id == persisted.id and again.hash == persisted.hash  # found, not re-signed
                await settle(restarted, persisted.id)  # broadcasts the persisted raw transaction
                done = await restarted.wait(persisted.id)
                assert done.receipt["transactionHash"] == persisted.hash
            assert _chain_nonce(anvil) == before + 1
            nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_estop_blocks_new_broadcasts_but_tracks_sent_ones(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    estop = [False]
    with trio.fail_after(30):
        async with manager(anvil, tmp_path, estop=estop) as m:
            rpc("evm_setAutomine", False)
            sent = await m.send("job:before", to=OTHER, value=1)
            estop[0] = True
            with pytest.raises(EstopActive):
                await m.send("job:during", to=OTHER, value=1)
            rpc("evm_mine")
            await settle(m, sent.id)
            assert (await m.wait(sent.id)).state == "confirmed"  # still followed to its receipt
            assert await m.store.read(ledger.by_intent, "job:during") is None


@pytest.mark.trio
async def test_cancel_replaces_with_a_self_send(anvil: Anvil, tmp_path: Path) -> None:
    rpc = Rpc(anvil.url)
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            rpc("evm_setAutomine", False)
            record = await m.send("job:c", to=OTHER, value=10**18)
            balance = int(rpc("eth_getBalance", OTHER, "latest"), 16)
            await m.cancel(record.id)
            rpc("evm_mine")
            await settle(m, record.id)
            with pytest.raises(PermanentFailure, match="cancelled"):
                await m.wait(record.id)
            assert int(rpc("eth_getBalance", OTHER, "latest"), 16) == balance  # the value never moved


def _send_external(rpc: Rpc, nonce: int, tip: int = GWEI) -> Any:
    tx = {"type": 2, "chainId": 31337, "nonce": nonce, "to": OTHER, "value": 5, "gas": 21_000,
          "maxFeePerGas": 100 * GWEI, "maxPriorityFeePerGas": tip}
    return rpc("eth_sendRawTransaction", "0x" + bytes(KEY.sign_transaction(tx).raw_transaction).hex())


@pytest.mark.trio
async def test_concurrent_sends_get_contiguous_nonces_and_share_commits(anvil: Anvil, tmp_path: Path) -> None:
    """Sends made at once are signed at contiguous nonces, stored together and broadcast
    together, in nonce order (a node parks a nonce that arrives ahead of its predecessor)."""
    sends = RecordSends()
    with trio.fail_after(60):
        async with manager(anvil, tmp_path, transport=sends) as m:
            before = _chain_nonce(anvil)
            records: list[Any] = []

            async def one(i: int) -> None:
                records.append(await m.send(f"job:c{i}", to=OTHER, value=i + 1))
            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(one, i)
                    nursery.start_soon(one, i)  # the same intent twice at once: still one transaction
            assert len({r.id for r in records}) == 20
            assert sorted(r.nonce for r in {r.id: r for r in records}.values()) == list(range(before, before + 20))
            nonce_of = {"0x" + r.raw.hex(): r.nonce for r in records}
            assert [nonce_of[raw] for raw in sends.raws] == list(range(before, before + 20))  # each once, in order
            assert sends.most_out == 1 and sends.posts <= 3  # batched: not one request per transaction
            for r in records:
                await settle(m, r.id)
            assert _chain_nonce(anvil) == before + 20


@pytest.mark.trio
async def test_a_nonce_handed_out_but_never_stored_is_filled(anvil: Anvil, tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with manager(anvil, tmp_path) as m:
            before = _chain_nonce(anvil)
            lost = await m._allocate()  # as if the send was interrupted before its row was stored
            m._gaps.add(lost)
            record = await m.send("job:after-gap", to=OTHER, value=1)
            assert record.nonce == lost + 1  # held back on chain until the gap is filled
            await settle(m, record.id)
            filler = await m.store.read(ledger.by_nonce, "devnet", KEY.address, lost)
            assert filler is not None and filler.to == KEY.address and filler.value == 0
            assert _chain_nonce(anvil) == before + 2 and not m._gaps


class FeeReads(httpx.AsyncBaseTransport):
    """The real transport, counting eth_feeHistory calls; ``fail`` makes them fail."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.reads = 0
        self.fail = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"eth_feeHistory" in request.content:
            self.reads += 1
            if self.fail:
                raise httpx.ConnectError("the node went away")
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.trio
async def test_fees_asked_at_once_are_read_once_and_a_failed_read_fails_every_asker(anvil: Anvil,
                                                                                     tmp_path: Path) -> None:
    reads = FeeReads()
    answers: list[object] = []

    async def ask(m: TxManager) -> None:
        try:
            answers.append(await m.fees())
        except ChainError as exc:
            answers.append(exc)

    with trio.fail_after(30):
        async with manager(anvil, tmp_path, transport=reads) as m:
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(ask, m)
            assert reads.reads == 1 and len(set(answers)) == 1 and isinstance(answers[0], tuple)
            m.head = lambda: 10**9  # a new block: the fees are read again
            reads.fail, answers[:] = True, []
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(ask, m)
            assert reads.reads == 2 and len(answers) == 50 and all(isinstance(a, ChainError) for a in answers)
