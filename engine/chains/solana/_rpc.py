"""Solana JSON-RPC: the shared failover client (:mod:`engine.chains._jsonrpc`) with Solana's
typed calls. Answers are validated with msgspec (a malformed one is :class:`BadAnswer`); keys,
hashes and transactions are solders objects.

A failed preflight (``-32002``) is :class:`PreflightFailed` with the transaction error and
logs; its ``custom`` is the program's error code when there is one (``{"InstructionError":
[i, {"Custom": n}]}``), which the caller names from the program's IDL.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import msgspec
from solders.hash import Hash
from solders.pubkey import Pubkey

from engine.chains._jsonrpc import JsonRpc
from engine.errors import BadAnswer, RpcError

T = TypeVar("T")
Commitment = Literal["processed", "confirmed", "finalized"]
LEVELS: dict[str, int] = {"processed": 0, "confirmed": 1, "finalized": 2}


class PreflightFailed(RpcError):
    """``sendTransaction``'s simulation failed: nothing was sent."""

    def __init__(self, message: str, *, err: Any, logs: list[str], method: str) -> None:
        super().__init__(message, code=-32002, data={"err": err}, method=method)
        self.err, self.logs = err, logs

    @property
    def custom(self) -> int | None:
        return custom_code(self.err)

    @property
    def kind(self) -> str:
        """``BlockhashNotFound``, ``AlreadyProcessed``, ``InstructionError``, … (the error's name)."""
        return self.err if isinstance(self.err, str) else next(iter(self.err), "") if isinstance(self.err, dict) else ""


def custom_code(err: Any) -> int | None:
    if isinstance(err, dict) and isinstance(err.get("InstructionError"), list) and len(err["InstructionError"]) == 2:
        inner = err["InstructionError"][1]
        if isinstance(inner, dict) and isinstance(inner.get("Custom"), int):
            return int(inner["Custom"])
    return None


class Blockhash(msgspec.Struct):
    blockhash: str
    lastValidBlockHeight: int


class SignatureStatus(msgspec.Struct):
    slot: int
    confirmations: int | None
    err: Any
    confirmationStatus: Commitment | None = None

    def reached(self, level: Commitment) -> bool:
        return LEVELS[self.confirmationStatus or "processed"] >= LEVELS[level]


class AccountInfo(msgspec.Struct):
    data: tuple[str, str]
    executable: bool
    lamports: int
    owner: str

    def bytes(self) -> bytes:
        if self.data[1] != "base64":
            raise BadAnswer(f"account data in {self.data[1]!r}, asked for base64")
        return base64.b64decode(self.data[0])


class KeyedAccount(msgspec.Struct):
    pubkey: str
    account: AccountInfo


class _Context(msgspec.Struct):
    slot: int


class _Valued(msgspec.Struct):
    context: _Context
    value: Any


class SolanaRpc(JsonRpc):
    def error(self, error: dict[str, Any], method: str) -> Exception:
        data = error.get("data")
        if error.get("code") == -32002 and isinstance(data, dict) and "err" in data:
            logs = data.get("logs")
            return PreflightFailed(f"{method}: {error.get('message', 'preflight failed')}", err=data["err"],
                                   logs=[str(line) for line in logs] if isinstance(logs, list) else [], method=method)
        return super().error(error, method)

    async def _typed(self, type_: type[T], method: str, *params: Any, valued: bool = False) -> T:
        result = await self.request(method, *params)
        try:
            if valued:
                result = msgspec.convert(result, _Valued).value
            return msgspec.convert(result, type_)
        except msgspec.ValidationError as exc:
            raise BadAnswer(f"{method} returned {str(result)[:120]}: {exc}") from None

    async def slot(self, commitment: Commitment = "processed") -> int:
        return await self._typed(int, "getSlot", {"commitment": commitment})

    async def block_height(self, commitment: Commitment = "processed") -> int:
        return await self._typed(int, "getBlockHeight", {"commitment": commitment})

    async def latest_blockhash(self, commitment: Commitment = "confirmed") -> tuple[Hash, int]:
        found = await self._typed(Blockhash, "getLatestBlockhash", {"commitment": commitment}, valued=True)
        try:
            return Hash.from_string(found.blockhash), found.lastValidBlockHeight
        except ValueError:
            raise BadAnswer(f"getLatestBlockhash: {found.blockhash!r} is not a hash") from None

    async def balance(self, key: Pubkey) -> int:
        return await self._typed(int, "getBalance", str(key), {"commitment": "confirmed"}, valued=True)

    async def account(self, key: Pubkey) -> AccountInfo | None:
        return await self._typed(AccountInfo | None, "getAccountInfo", str(key),  # type: ignore[arg-type]
                                 {"encoding": "base64", "commitment": "confirmed"}, valued=True)

    async def program_accounts(self, program: Pubkey, filters: Sequence[dict[str, Any]]) -> list[KeyedAccount]:
        return await self._typed(list[KeyedAccount], "getProgramAccounts", str(program),
                                 {"encoding": "base64", "commitment": "confirmed", "filters": list(filters)})

    async def send(self, raw: bytes, *, skip_preflight: bool = False) -> str:
        """Send a signed transaction; its signature (a failed preflight raises :class:`PreflightFailed`)."""
        return await self._typed(str, "sendTransaction", base64.b64encode(raw).decode(),
                                 {"encoding": "base64", "skipPreflight": skip_preflight,
                                  "preflightCommitment": "confirmed", "maxRetries": 0})

    async def statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        """Each signature's status (None: not seen), the node's history searched too."""
        found: list[SignatureStatus | None] = []
        for at in range(0, len(signatures), 256):
            found += await self._typed(list[SignatureStatus | None], "getSignatureStatuses",
                                       list(signatures[at:at + 256]), {"searchTransactionHistory": True},
                                       valued=True)
        return found

    async def airdrop(self, key: Pubkey, lamports: int) -> str:
        return await self._typed(str, "requestAirdrop", str(key), lamports)
