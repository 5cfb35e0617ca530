"""The local Solana node over real HTTP JSON-RPC: LiteSVM executes the CloudMesh program's
transactions; preflight, the blockhash window, one landing per signature, statuses and the
account queries answer as Solana's RPC does."""

from __future__ import annotations

import base64
from typing import Any

import base58
import httpx
import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from engine.chains.solana import cloudmesh as cm
from engine.devnets.solana import SolanaDevnet
from tests.engine.solana.test_program import CID, PROGRAM, Chain


class Rpc:
    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.n = http, url, 0

    async def call(self, method: str, *params: Any) -> Any:
        answer = await self.raw(method, list(params))
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    async def raw(self, method: str, params: Any) -> dict[str, Any]:
        self.n += 1
        return (await self.http.post(self.url, json={"jsonrpc": "2.0", "id": self.n, "method": method,
                                                     "params": params})).json()  # type: ignore[no-any-return]


def signed(ix: Any, signer: Keypair, blockhash: str) -> str:
    bh = Hash.from_string(blockhash)
    tx = Transaction([signer], Message.new_with_blockhash([ix], signer.pubkey(), bh), bh)
    return base64.b64encode(bytes(tx)).decode()


@pytest.mark.trio
async def test_jobs_land_through_json_rpc_as_on_solana() -> None:
    Chain()  # skips (or fails under CI) when the program is not built
    node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, autoproduce=False)
    owner = Keypair()
    async with trio.open_nursery() as nursery, httpx.AsyncClient() as http:
        rpc = Rpc(http, await nursery.start(node.run))
        assert "LiteSVM" in (await rpc.call("getVersion"))["solana-core"]
        await rpc.call("requestAirdrop", str(owner.pubkey()), 5 * 10**9)
        assert (await rpc.call("getBalance", str(owner.pubkey())))["value"] == 5 * 10**9

        latest = (await rpc.call("getLatestBlockhash"))["value"]
        tx = signed(cm.initialize_job(owner.pubkey(), "nightly", CID), owner, latest["blockhash"])
        signature = await rpc.call("sendTransaction", tx, {"encoding": "base64"})
        assert (await rpc.call("getSignatureStatuses", [signature]))["value"] == [None]  # waits for the slot
        node.produce_slot()
        status = (await rpc.call("getSignatureStatuses", [signature]))["value"][0]
        assert status["err"] is None and status["confirmationStatus"] == "processed"

        # the same transaction again: refused by preflight, dropped without it — never twice
        again = await rpc.raw("sendTransaction", [tx, {"encoding": "base64"}])
        assert again["error"]["code"] == -32002 and "already been processed" in again["error"]["message"]
        assert await rpc.call("sendTransaction", tx, {"encoding": "base64", "skipPreflight": True}) == signature
        node.produce_slot()

        job = cm.job_address(owner.pubkey(), "nightly")
        by_discriminator = {"memcmp": {"offset": 0, "bytes": base58.b58encode(cm.JOB_DISCRIMINATOR).decode()}}
        found = await rpc.call("getProgramAccounts", str(cm.PROGRAM_ID), {"encoding": "base64",
                                                                          "filters": [by_discriminator]})
        assert [a["pubkey"] for a in found] == [str(job)]
        decoded = cm.JobAccount.decode(base64.b64decode(found[0]["account"]["data"][0]))
        assert decoded.title == "nightly" and decoded.code_cid == CID
        assert await rpc.call("getProgramAccounts", str(cm.PROGRAM_ID), {"filters": [{"dataSize": 308}]}) == []
        info = (await rpc.call("getAccountInfo", str(job), {"encoding": "base64"}))["value"]
        assert info["owner"] == str(cm.PROGRAM_ID) and info["space"] == cm.JOB_SPACE

        # preflight decodes the program's error; skipping it, the failure lands with its error
        latest = (await rpc.call("getLatestBlockhash"))["value"]
        bad = signed(cm.complete_job(job, owner.pubkey(), "QmResult", 0), owner, latest["blockhash"])
        refused = (await rpc.raw("sendTransaction", [bad, {"encoding": "base64"}]))["error"]
        assert refused["data"]["err"] == {"InstructionError": [0, {"Custom": 6002}]}
        assert "custom program error: 0x1772" in refused["message"] and refused["data"]["logs"]
        failed = await rpc.call("sendTransaction", bad, {"encoding": "base64", "skipPreflight": True})
        node.produce_slot()
        status = (await rpc.call("getSignatureStatuses", [failed]))["value"][0]
        assert status["err"] == {"InstructionError": [0, {"Custom": 6002}]}

        # a blockhash lives 150 slots; statuses finalize after 32
        old = latest["blockhash"]
        for _ in range(151):
            node.produce_slot()
        late = signed(cm.complete_job(job, owner.pubkey(), "QmResult", 5), owner, old)
        expired = (await rpc.raw("sendTransaction", [late, {"encoding": "base64", "skipPreflight": True}]))["error"]
        assert expired["data"]["err"] == "BlockhashNotFound"
        status = (await rpc.call("getSignatureStatuses", [signature]))["value"][0]
        assert status["confirmationStatus"] == "finalized" and status["confirmations"] is None

        assert (await rpc.raw("getBogus", []))["error"]["code"] == -32601
        assert (await rpc.raw("getBalance", ["not-a-key"]))["error"]["code"] == -32602
        assert (await rpc.raw("getBalance", {"pubkey": "x"}))["error"]["code"] == -32602
        nursery.cancel_scope.cancel()
