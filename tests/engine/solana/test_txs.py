"""The Solana transaction sender against the local Solana node (LiteSVM running the CloudMesh
program) and a real SQLite store: one transaction per intent, program errors named in preflight
and on chain, a transaction lost on the way re-signed only after its blockhash expired (and
landing once), a send interrupted between persist and send (as a kill -9 leaves it), e-stop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio
from solders.keypair import Keypair

from engine.chains.solana import _txledger as ledger
from engine.chains.solana import cloudmesh as cm
from engine.chains.solana._rpc import SolanaRpc
from engine.chains.solana._txs import SolanaTxs, encode_instructions, sign
from engine.devnets.solana import SolanaDevnet
from engine.errors import EstopActive
from engine.ids import job_id as new_id
from engine.store import Store
from tests.engine.solana.test_program import CID, PROGRAM, RESULT, Chain


class DropFirstSend(httpx.AsyncBaseTransport):
    """The real transport, but the first sendTransaction never reaches the node while the client
    is told it was accepted: a transaction that can only expire unseen."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if isinstance(body, dict) and body.get("method") == "sendTransaction" and not self.dropped:
            self.dropped += 1
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": "1" * 64})
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@dataclass
class Rig:
    node: SolanaDevnet
    txs: SolanaTxs
    owner: Keypair
    worker: Keypair
    estop: list[bool]

    async def settle(self, tx_id: str, slots: int = 6) -> ledger.SolanaTx:
        for _ in range(slots):
            self.node.produce_slot()
            await self.txs.track()
            record = await self.txs.store.read(ledger.by_id, tx_id)
            assert record is not None
            if record.state in ("success", "failed"):
                return record
        raise AssertionError(f"{tx_id} still {record.state}")

    async def new_job(self, title: str) -> object:
        sent = await self.txs.send(f"init:{title}", str(self.owner.pubkey()),
                                   [cm.initialize_job(self.owner.pubkey(), title, CID)], label="initialize_job")
        assert (await self.settle(sent.id)).state == "success"
        return cm.job_address(self.owner.pubkey(), title)


@asynccontextmanager
async def rig(tmp_path: Path, *, transport: httpx.AsyncBaseTransport | None = None,
              store: Store | None = None) -> AsyncIterator[Rig]:
    Chain()  # skips (or fails under CI) when the program is not built
    node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, autoproduce=False)
    owner, worker = Keypair(), Keypair()
    for key in (owner, worker):
        node.svm.airdrop(key.pubkey(), 10**10)
    own = store is None
    store = store or Store.open(tmp_path / "sb.db")
    flag = [False]
    async with trio.open_nursery() as nursery:
        if own:
            await nursery.start(store.run)
        url = await nursery.start(node.run)
        async with SolanaRpc([url], retries=0, backoff=0.01, transport=transport) as rpc:
            txs = SolanaTxs("sol", rpc, store, estop=lambda: flag[0], error_name=cm.error_name)
            txs.add_signer(owner)
            txs.add_signer(worker)
            yield Rig(node, txs, owner, worker, flag)
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_one_transaction_per_intent_confirmed(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ix = cm.initialize_job(r.owner.pubkey(), "nightly", CID)
        sent = await r.txs.send("init:nightly", str(r.owner.pubkey()), [ix], label="initialize_job")
        again = await r.txs.send("init:nightly", str(r.owner.pubkey()), [ix], label="initialize_job")
        assert again.id == sent.id and again.signatures == sent.signatures and sent.state == "sent"
        r.node.produce_slot()
        await r.txs.track()  # landed, processed: not yet at "confirmed"
        assert (await r.txs.store.read(ledger.by_id, sent.id)).state == "sent"  # type: ignore[union-attr]
        done = await r.settle(sent.id)
        assert done.state == "success" and done.slot == 2 and len(done.signatures) == 1
        assert r.node.svm.get_account(cm.job_address(r.owner.pubkey(), "nightly")) is not None


@pytest.mark.trio
async def test_program_errors_are_named_in_preflight_and_on_chain(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        job = await r.new_job("nightly")
        worker = str(r.worker.pubkey())
        free = await r.txs.send("complete:free", worker, [cm.complete_job(job, r.worker.pubkey(), RESULT, 0)],
                                label="complete_job")
        assert free.state == "failed" and free.error_code == 6002 and free.error == "InvalidCost (6002)"
        assert r.node.landed.get(free.signature) is None  # refused before any fee

        # two intents race for one job: both pass preflight, one lands, the other fails on chain
        first = await r.txs.send("complete:a", worker, [cm.complete_job(job, r.worker.pubkey(), RESULT, 5)],
                                 label="complete_job")
        second = await r.txs.send("complete:b", worker, [cm.complete_job(job, r.worker.pubkey(), "QmOther", 5)],
                                  label="complete_job")
        assert (await r.settle(first.id)).state == "success"
        lost = await r.settle(second.id)
        assert lost.state == "failed" and lost.error == "JobAlreadyCompleted (6003)" and lost.slot is not None


@pytest.mark.trio
async def test_a_lost_transaction_is_resigned_only_after_its_blockhash_expired(tmp_path: Path) -> None:
    lossy = DropFirstSend()
    async with rig(tmp_path, transport=lossy) as r:
        sent = await r.txs.send("init:lost", str(r.owner.pubkey()), [cm.initialize_job(r.owner.pubkey(), "lost", CID)],
                                label="initialize_job")
        assert lossy.dropped == 1 and sent.state == "sent"
        r.txs.resend_after = 1e9  # no rebroadcast: only expiry can move it
        for _ in range(10):
            r.node.produce_slot()
            await r.txs.track()
        record = await r.txs.store.read(ledger.by_id, sent.id)
        assert record is not None and len(record.signatures) == 1 and record.state == "sent"  # not yet expired
        for _ in range(150):
            r.node.produce_slot()
        await r.txs.track()  # past lastValidBlockHeight: signed again, same intent, same id
        done = await r.settle(sent.id)
        assert done.state == "success" and len(done.signatures) == 2
        assert done.signatures[0] not in r.node.landed and done.signatures[1] in r.node.landed


@pytest.mark.trio
async def test_a_send_interrupted_after_persisting_is_sent_by_the_tracker(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ix = cm.initialize_job(r.owner.pubkey(), "crash", CID)
        blockhash, last_valid = await r.txs.rpc.latest_blockhash()
        raw, signature = sign(r.owner, [ix], blockhash)
        record = ledger.SolanaTx(id=new_id("solana.tx"), chain="sol", signer=str(r.owner.pubkey()),
                                 intent="init:crash", label="initialize_job", instructions=encode_instructions([ix]),
                                 raw=raw, signatures=[signature], last_valid=last_valid)
        await r.txs.store.write(ledger.insert_signed, record)  # persisted, then the process died
        again = await r.txs.send("init:crash", str(r.owner.pubkey()), [ix], label="initialize_job")
        assert again.id == record.id and again.state == "signed"  # the restart finds it, sends nothing new
        done = await r.settle(record.id)
        assert done.state == "success" and done.signatures == [signature]


@pytest.mark.trio
async def test_during_an_estop_nothing_new_is_sent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.estop[0] = True
        with pytest.raises(EstopActive):
            await r.txs.send("init:x", str(r.owner.pubkey()), [cm.initialize_job(r.owner.pubkey(), "x", CID)],
                             label="initialize_job")
        assert await r.txs.store.read(ledger.by_intent, "init:x") is None
        r.estop[0] = False
        sent = await r.txs.send("init:x", str(r.owner.pubkey()), [cm.initialize_job(r.owner.pubkey(), "x", CID)],
                                label="initialize_job")
        assert (await r.settle(sent.id)).state == "success"
