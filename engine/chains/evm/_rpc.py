"""JSON-RPC to an EVM chain: the shared failover client (:mod:`engine.chains._jsonrpc`) with
the EVM's typed calls; a JSON-RPC error is :class:`RpcError`, or :class:`Reverted` with the
reason decoded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from eth_abi import decode as abi_decode

from engine.chains._jsonrpc import Endpoint, JsonRpc
from engine.errors import BadAnswer, Reverted, WrongChain

__all__ = ["Endpoint", "EvmRpc", "decode_revert", "to_bytes", "to_int"]

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


class EvmRpc(JsonRpc):
    def __init__(self, urls: Sequence[str], *, chain_id: int | None = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.2, transport: httpx.AsyncBaseTransport | None = None,
                 coalesce: bool = True, max_batch: int = 200) -> None:
        super().__init__(urls, timeout=timeout, retries=retries, backoff=backoff, transport=transport,
                         coalesce=coalesce, max_batch=max_batch, ordered=frozenset({"eth_sendRawTransaction"}))
        self.chain_id = chain_id

    def error(self, error: dict[str, Any], method: str) -> Exception:
        message = str(error.get("message", "error"))
        data = error.get("data")
        if "revert" in message.lower() or error.get("code") == 3:
            return Reverted(decode_revert(data) or message.removeprefix("execution reverted").strip(": "),
                            code=int(error.get("code", 3)), data=data, method=method)
        return super().error(error, method)

    # --- typed helpers ----------------------------------------------------------------------

    async def check_chain(self) -> int:
        """The endpoints' chain id; :class:`WrongChain` if it is not the configured one."""
        found = to_int(await self.request("eth_chainId"))
        if self.chain_id is not None and found != self.chain_id:
            raise WrongChain(f"the RPC endpoint serves chain id {found}, but chain id {self.chain_id} is configured")
        self.chain_id = found
        return found

    async def block_number(self) -> int:
        return to_int(await self.request("eth_blockNumber"))

    async def get_block(self, tag: int | str = "latest") -> dict[str, Any]:
        block = await self.request("eth_getBlockByNumber", hex(tag) if isinstance(tag, int) else tag, False)
        if not isinstance(block, dict) or "hash" not in block or "parentHash" not in block or "number" not in block:
            raise BadAnswer(f"eth_getBlockByNumber({tag}) returned {str(block)[:80]}")
        return block

    async def blocks(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Several blocks (headers) in one batch."""
        found = await self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        for n, block in zip(numbers, found, strict=True):
            if not isinstance(block, dict) or "hash" not in block or "parentHash" not in block or "number" not in block:
                raise BadAnswer(f"eth_getBlockByNumber({n}) returned {str(block)[:80]}")
        return found

    async def nonce(self, address: str, tag: str = "pending") -> int:
        return to_int(await self.request("eth_getTransactionCount", address, tag))

    async def balance(self, address: str, tag: str = "latest") -> int:
        return to_int(await self.request("eth_getBalance", address, tag))

    async def call(self, tx: dict[str, Any], tag: str = "latest") -> bytes:
        return to_bytes(await self.request("eth_call", tx, tag))

    async def estimate_gas(self, tx: dict[str, Any]) -> int:
        return to_int(await self.request("eth_estimateGas", tx))

    async def send_raw(self, raw: bytes) -> str:
        return str(await self.request("eth_sendRawTransaction", "0x" + raw.hex()))

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        receipt = await self.request("eth_getTransactionReceipt", tx_hash)
        if receipt is not None and (not isinstance(receipt, dict) or "status" not in receipt):
            raise BadAnswer(f"eth_getTransactionReceipt({tx_hash}) returned {str(receipt)[:80]}")
        return receipt  # type: ignore[no-any-return]

    async def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        return await self.request("eth_getTransactionByHash", tx_hash)  # type: ignore[no-any-return]

    async def fee_history(self, blocks: int = 10, percentiles: Sequence[float] = (50.0,)) -> dict[str, Any]:
        history = await self.request("eth_feeHistory", hex(blocks), "latest", list(percentiles))
        if not isinstance(history, dict) or not history.get("baseFeePerGas"):
            raise BadAnswer(f"eth_feeHistory returned {str(history)[:80]}")
        return history  # type: ignore[no-any-return]


def decode_revert(data: Any) -> str:
    """The reason in revert data: ``Error(string)``, ``Panic(uint256)``, or the raw hex."""
    if isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return ""
    raw = bytes.fromhex(data[2:])
    try:
        if raw[:4] == _ERROR_SELECTOR:
            return str(abi_decode(["string"], raw[4:])[0])
        if raw[:4] == _PANIC_SELECTOR:
            return f"panic 0x{abi_decode(['uint256'], raw[4:])[0]:02x}"
    except Exception:  # noqa: BLE001 - malformed revert data: show it raw
        pass
    return data


def to_int(value: Any) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise BadAnswer(f"expected a hex quantity, got {str(value)[:40]!r}")


def to_bytes(value: Any) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise BadAnswer(f"expected hex data, got {str(value)[:40]!r}")
