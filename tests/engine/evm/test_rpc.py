"""JSON-RPC against a real anvil: failover, retries, malformed answers, reverts, chain id."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
from eth_account import Account

from engine.chains.evm import DEV_KEYS, Anvil, EvmRpc
from engine.errors import BadAnswer, Reverted, RpcError, RpcUnavailable, WrongChain
from engine.ports import free_port


class Flaky(httpx.AsyncBaseTransport):
    """The real transport, except for the first ``faults`` requests, which get ``fault``."""

    def __init__(self, fault: str, faults: int) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.fault, self.faults, self.seen = fault, faults, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.faults:
            if self.fault == "429":
                return httpx.Response(429, text="slow down")
            if self.fault == "502":
                return httpx.Response(502, text="bad gateway")
            if self.fault == "garbage":
                return httpx.Response(200, text="<html>oops</html>")
            if self.fault == "deep":  # would overflow the C stack of a recursive decoder
                nested = "[" * 30_000 + "]" * 30_000
                return httpx.Response(200, text=f'{{"jsonrpc": "2.0", "id": 1, "result": {nested}}}')
            if self.fault == "wrong-id":
                return httpx.Response(200, json={"jsonrpc": "2.0", "id": 999_999, "result": "0x1"})
            raise httpx.ConnectError("connection refused")
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.trio
async def test_a_dead_first_endpoint_fails_over_and_is_avoided(anvil: Anvil) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with trio.fail_after(20):
        async with EvmRpc([dead, anvil.url], backoff=0.01) as rpc:
            assert await rpc.check_chain() == 31337
            first, second = rpc.endpoints
            assert first.failures == 1 and "ConnectError" in first.last_error
            for _ in range(5):
                await rpc.block_number()
            assert first.requests == 1  # marked down: not asked again while the other answers
            assert second.requests == 6 and second.latency_ms is not None
            stats = rpc.stats()
            assert stats[0]["failures"] == 1 and stats[1]["healthy"]


@pytest.mark.trio
@pytest.mark.parametrize("fault", ["429", "502", "garbage", "deep", "wrong-id", "refused"])
async def test_transient_faults_and_lying_answers_are_retried(anvil: Anvil, fault: str) -> None:
    transport = Flaky(fault, faults=2)
    with trio.fail_after(20):
        async with EvmRpc([anvil.url], backoff=0.01, transport=transport) as rpc:
            assert await rpc.block_number() >= 0
            assert transport.seen == 3 and rpc.endpoints[0].failures == 2


@pytest.mark.trio
async def test_when_nothing_answers_the_error_says_why(anvil: Anvil) -> None:
    with trio.fail_after(20):
        async with EvmRpc([anvil.url], retries=1, backoff=0.01, transport=Flaky("502", faults=10)) as rpc:
            with pytest.raises(RpcUnavailable, match=r"no RPC endpoint answered .*HTTP 502"):
                await rpc.block_number()


@pytest.mark.trio
async def test_rpc_errors_are_answers_not_failures(anvil: Anvil) -> None:
    with trio.fail_after(20):
        async with EvmRpc([anvil.url]) as rpc:
            with pytest.raises(RpcError, match="eth_noSuchMethod") as err:
                await rpc.request("eth_noSuchMethod")
            assert err.value.code != 0 and rpc.endpoints[0].failures == 0
            # a revert with a reason, decoded: deploy `revert("nope")` as init code and eth_call it
            init = "0x" + _revert_init_code("nope")
            with pytest.raises(Reverted) as rev:
                await rpc.call({"data": init})
            assert rev.value.reason == "nope"
            with pytest.raises(BadAnswer):
                await rpc.get_block(10**9)  # past the head: null, not a block


@pytest.mark.trio
async def test_a_wrong_chain_id_is_refused(anvil: Anvil) -> None:
    with trio.fail_after(20):
        async with EvmRpc([anvil.url], chain_id=1) as rpc:
            with pytest.raises(WrongChain, match="serves chain id 31337, but chain id 1 is configured"):
                await rpc.check_chain()


@pytest.mark.trio
async def test_batches_keep_their_order(anvil: Anvil) -> None:
    with trio.fail_after(20):
        async with EvmRpc([anvil.url]) as rpc:
            chain, number, block = await rpc.batch([("eth_chainId", []), ("eth_blockNumber", []),
                                                   ("eth_getBlockByNumber", ["0x0", False])])
            assert int(chain, 16) == 31337 and int(number, 16) >= 0 and block["number"] == "0x0"


def _revert_init_code(reason: str) -> str:
    """Init code that reverts with Error(reason): store the ABI-encoded error in memory, revert."""
    from eth_abi import encode

    payload = bytes.fromhex("08c379a0") + encode(["string"], [reason])
    code = b""
    for i in range(0, len(payload), 32):
        word = payload[i:i + 32].ljust(32, b"\0")
        code += b"\x7f" + word + b"\x60" + bytes([i]) + b"\x52"  # PUSH32 word, PUSH1 i, MSTORE
    code += b"\x60" + bytes([len(payload)]) + b"\x60\x00\xfd"  # PUSH1 len, PUSH1 0, REVERT
    return code.hex()


class Counting(httpx.AsyncBaseTransport):
    """The real transport, counting the HTTP requests and the calls they carry."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.posts = self.calls = 0
        self.raws: list[str] = []  # raw transactions, in the order the node got them
        self.sending = self.most_sending = 0  # requests with raw transactions out at once

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.posts += 1
        self.calls += len(body) if isinstance(body, list) else 1
        raws = [c["params"][0] for c in body if c["method"] == "eth_sendRawTransaction"] if isinstance(body, list) else []
        self.raws += raws
        self.sending += bool(raws)
        self.most_sending = max(self.most_sending, self.sending)
        try:
            return await self.real.handle_async_request(request)
        finally:
            self.sending -= bool(raws)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.trio
async def test_calls_made_at_once_share_batches_and_each_gets_its_own_answer(anvil: Anvil) -> None:
    transport = Counting()
    accounts = [f"0x{i:040x}" for i in range(1, 251)]
    precompile = {"to": "0x" + "00" * 19 + "01", "data": "0x", "value": "0x0"}  # ecrecover of nothing: empty
    answers: dict[str, object] = {}
    async with EvmRpc([anvil.url], transport=transport, max_batch=100) as rpc:

        async def balance(address: str) -> None:
            answers[address] = await rpc.balance(address)

        async def bad() -> None:
            try:
                await rpc.request("eth_getBalance", "not an address", "latest")
            except RpcError as exc:
                answers["bad"] = exc

        async def given_up() -> None:
            with trio.move_on_after(0):  # its caller goes away: the batch it rode in is not harmed
                answers["given_up"] = await rpc.balance(accounts[0])

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for address in accounts:
                    nursery.start_soon(balance, address)
                nursery.start_soon(bad)
                nursery.start_soon(given_up)
            assert await rpc.call(precompile) == b""  # alone: one call, one request
    assert [answers[a] for a in accounts] == [0] * 250
    assert isinstance(answers["bad"], RpcError) and "given_up" not in answers
    assert transport.calls >= 252 and transport.posts <= 5  # 252 calls in three batches of ≤ 100, and one alone
    assert rpc.calls == 253 and rpc.posts == transport.posts


@pytest.mark.trio
async def test_raw_transactions_reach_the_node_in_the_order_they_were_sent(anvil: Anvil) -> None:
    """Their batches go one after another, never beside each other: a nonce that arrives ahead
    of its predecessor is parked by the node (anvil's automine then leaves it unmined)."""
    key = Account.from_key(DEV_KEYS[1])
    transport = Counting()
    async with EvmRpc([anvil.url], transport=transport, max_batch=50) as rpc:
        first = await rpc.nonce(key.address)
        raws = ["0x" + bytes(key.sign_transaction({
            "type": 2, "chainId": 31337, "nonce": first + i, "to": key.address, "value": 0, "gas": 21_000,
            "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9}).raw_transaction).hex() for i in range(230)]
        with trio.fail_after(30):
            answers = await rpc.together([("eth_sendRawTransaction", [raw]) for raw in raws[:200]])
            async with trio.open_nursery() as nursery:  # a later send waits for the batches before it
                nursery.start_soon(rpc.together, [("eth_sendRawTransaction", [raw]) for raw in raws[200:]])
                nursery.start_soon(rpc.balance, key.address)
            for _ in range(400):  # all mined: none was left parked
                if await rpc.nonce(key.address, "latest") == first + 230:
                    break
                await trio.sleep(0.05)
    assert not [a for a in answers if isinstance(a, Exception)]
    assert transport.raws == raws and transport.most_sending == 1
