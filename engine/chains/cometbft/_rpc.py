"""A CometBFT node's RPC (JSON-RPC on the shared failover client) and its Cosmos SDK REST API
(the shared failover rules, :class:`~engine.chains._jsonrpc.Rest`), with the typed calls the
Structs adapter makes. Answers are validated with msgspec; a malformed one is
:class:`~engine.errors.BadAnswer`."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

from engine.chains._jsonrpc import JsonRpc, Rest, RestError
from engine.chains.cometbft._tx import tx_hash
from engine.errors import BadAnswer, ChainError, RpcError

T = TypeVar("T")
_ABCI = re.compile(r"\[codespace (\w*) code (\d+)\]")


class Refused(ChainError):
    """The chain refused a transaction (CheckTx, simulation or delivery): its ABCI code,
    codespace and log, as the node gave them."""

    def __init__(self, log: str, *, code: int, codespace: str) -> None:
        super().__init__(log)
        self.log, self.code, self.codespace = log, code, codespace

    @property
    def wrong_sequence(self) -> int | None:
        """The sequence the chain expected, when that is why it refused."""
        if self.codespace == "sdk" and self.code == 32:
            found = re.search(r"expected (\d+)", self.log)
            if found:
                return int(found.group(1))
        return None

    @property
    def already_complete(self) -> bool:
        return self.codespace == "structs" and already_complete(self.code, self.log)


def already_complete(code: int | None, log: str | None) -> bool:
    """The Structs keeper's answer for work already done (a built struct, a finished raid)."""
    return code == 1250 and ("is built but must be building" in (log or "") or "is not raiding" in (log or ""))


class _SyncInfo(msgspec.Struct):
    latest_block_height: str
    latest_block_hash: str = ""
    latest_block_time: str = ""
    catching_up: bool = False


class _NodeInfo(msgspec.Struct):
    network: str
    version: str = ""


class Status(msgspec.Struct):
    node_info: _NodeInfo
    sync_info: _SyncInfo

    @property
    def height(self) -> int:
        return int(self.sync_info.latest_block_height)


class TxResult(msgspec.Struct):
    code: int = 0
    codespace: str = ""
    log: str = ""
    gas_used: str = "0"


class TxFound(msgspec.Struct):
    hash: str
    height: str
    tx_result: TxResult


class _Account(msgspec.Struct):
    account_number: str
    sequence: str


class _AccountAnswer(msgspec.Struct):
    account: _Account


class _GasInfo(msgspec.Struct):
    gas_used: str


class _Simulated(msgspec.Struct):
    gas_info: _GasInfo


def _typed(value: Any, type_: type[T], what: str) -> T:
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise BadAnswer(f"{what}: {exc}: {str(value)[:120]}") from None


class CometRpc:
    def __init__(self, rpc: Sequence[str], rest: Sequence[str], *, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.2) -> None:
        self.rpc = JsonRpc(rpc, timeout=timeout, retries=retries, backoff=backoff)
        self.rest = Rest(rest, timeout=timeout, retries=retries, backoff=backoff)

    async def __aenter__(self) -> CometRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.rpc.aclose()
        await self.rest.aclose()

    def stats(self) -> list[dict[str, Any]]:
        return self.rpc.stats() + self.rest.stats()

    def websocket_url(self) -> str:
        """The ``/websocket`` of the healthiest RPC endpoint."""
        url = sorted(self.rpc.endpoints, key=lambda e: e.down_until)[0].url.rstrip("/")
        return url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/websocket"

    # --- CometBFT ------------------------------------------------------------------------------

    async def status(self) -> Status:
        return _typed(await self.rpc.request("status", named={}), Status, "status")

    async def broadcast(self, raw: bytes) -> str:
        """``broadcast_tx_sync``: the transaction's hash once it is in the mempool (also when it was
        there already); :class:`Refused` when CheckTx refuses it."""
        try:
            answer = await self.rpc.request("broadcast_tx_sync", named={"tx": base64.b64encode(raw).decode()})
        except RpcError as exc:
            if "tx already exists in cache" in str(exc.data):
                return tx_hash(raw)
            raise
        result = _typed(answer, _Broadcast, "broadcast_tx_sync")
        if result.code != 0:
            raise Refused(result.log, code=result.code, codespace=result.codespace)
        return result.hash.upper()

    async def find_txs(self, hashes: Sequence[str]) -> dict[str, TxFound | None]:
        """Each transaction as included in a block, or None if the node knows no such hash."""
        calls = [("tx", {"hash": base64.b64encode(bytes.fromhex(h)).decode(), "prove": False}) for h in hashes]
        answers = await self.rpc.batch(calls, errors=True)
        found: dict[str, TxFound | None] = {}
        for hash_, answer in zip(hashes, answers, strict=True):
            if isinstance(answer, RpcError):
                if "not found" not in str(answer.data):
                    raise answer
                found[hash_] = None
            else:
                found[hash_] = _typed(answer, TxFound, "tx")
        return found

    # --- Cosmos REST ---------------------------------------------------------------------------

    async def account(self, address: str) -> tuple[int, int] | None:
        """(account number, sequence), or None if the chain has no such account yet."""
        try:
            answer = await self.rest.get(f"/cosmos/auth/v1beta1/accounts/{address}")
        except RestError as exc:
            if exc.code == 5:
                return None
            raise
        account = _typed(answer, _AccountAnswer, "account").account
        return int(account.account_number), int(account.sequence)

    async def simulate(self, raw: bytes) -> int:
        """The gas the transaction uses; :class:`Refused` with the chain's message if it fails."""
        try:
            answer = await self.rest.post("/cosmos/tx/v1beta1/simulate", {"tx_bytes": base64.b64encode(raw).decode()})
        except RestError as exc:
            message = str(exc).split(": ", 1)[-1]
            abci = _ABCI.search(message)
            log = message[:abci.start()].rstrip() if abci else message
            raise Refused(log, code=int(abci.group(2)) if abci else exc.code,
                          codespace=abci.group(1) if abci else "grpc") from None
        return int(_typed(answer, _Simulated, "simulate").gas_info.gas_used)

    async def player_of(self, address: str) -> str:
        """The Structs player whose address this is ("" for none)."""
        answer = await self.rest.get(f"/structs/address/{address}")
        if not isinstance(answer, dict) or not isinstance(answer.get("playerId", ""), str):
            raise BadAnswer(f"/structs/address: {str(answer)[:120]}")
        return str(answer.get("playerId") or "")


class _Broadcast(msgspec.Struct):
    code: int
    hash: str
    log: str = ""
    codespace: str = ""
