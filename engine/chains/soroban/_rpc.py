"""Soroban JSON-RPC: the shared failover client (:mod:`engine.chains._jsonrpc`) with Soroban's
typed calls. Answers are validated into stellar-sdk's pydantic models (a malformed answer is
:class:`BadAnswer`, and the endpoint is not trusted for it); XDR is built and read with
stellar-sdk. Calls take and give XDR as base64 strings or stellar-sdk objects, never dicts.

Contract failures come back in different places — a simulation's ``error`` string, a sent
transaction's ``errorResultXdr``, a failed transaction's result — and all end up as
:class:`ContractFailed` with the contract's error number when there is one
(``Error(Contract, #N)``); the chain service names the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import pydantic
from stellar_sdk import Keypair
from stellar_sdk import xdr as sx
from stellar_sdk.soroban_rpc import (
    GetLedgerEntriesResponse,
    GetTransactionResponse,
    SendTransactionResponse,
    SimulateTransactionResponse,
)

from engine.chains._jsonrpc import JsonRpc
from engine.errors import BadAnswer, RpcError

M = TypeVar("M", bound=pydantic.BaseModel)
_CONTRACT_ERROR = re.compile(r"Error\(Contract, #(\d+)\)")
MAX_KEYS = 200  # getLedgerEntries takes at most this many keys per call


class ContractFailed(RpcError):
    """A contract call failed: ``number`` is its ``Error(Contract, #N)`` when it said one."""

    def __init__(self, message: str, *, number: int | None, method: str) -> None:
        super().__init__(message, code=0, data=None, method=method)
        self.number = number


def contract_error_number(text: str) -> int | None:
    found = _CONTRACT_ERROR.search(text)
    return int(found.group(1)) if found else None


class LatestLedger(pydantic.BaseModel):
    """``getLatestLedger``: stellar-sdk's model requires ``closeTime``, ``headerXdr`` and
    ``metadataXdr``, which servers before protocol 23 do not send; only these are needed."""

    model_config = pydantic.ConfigDict(populate_by_name=True)
    id: str
    protocol_version: int = pydantic.Field(alias="protocolVersion")
    sequence: int = pydantic.Field(ge=1, lt=2**32)
    close_time: int | None = pydantic.Field(None, alias="closeTime")


class SorobanRpc(JsonRpc):
    async def _typed(self, model: type[M], method: str, params: dict[str, Any] | None = None) -> M:
        result = await self.request(method, named=params or {})
        try:
            return model.model_validate(result)
        except pydantic.ValidationError as exc:
            raise BadAnswer(f"{method} returned {str(result)[:120]}: {exc.error_count()} invalid fields") from None

    async def latest_ledger(self) -> LatestLedger:
        return await self._typed(LatestLedger, "getLatestLedger")

    async def ledger_entries(self, keys: Sequence[sx.LedgerKey]) -> GetLedgerEntriesResponse:
        """Entries for ``keys`` (missing ones are left out), ``MAX_KEYS`` per request."""
        if len(keys) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} keys per getLedgerEntries call")
        return await self._typed(GetLedgerEntriesResponse, "getLedgerEntries", {"keys": [k.to_xdr() for k in keys]})

    async def simulate(self, envelope_xdr: str) -> SimulateTransactionResponse:
        """Simulate; a failed simulation raises :class:`ContractFailed`."""
        sim = await self._typed(SimulateTransactionResponse, "simulateTransaction", {"transaction": envelope_xdr})
        if sim.error:
            raise ContractFailed(f"simulation failed: {sim.error[:300]}", number=contract_error_number(sim.error),
                                 method="simulateTransaction")
        return sim

    async def send(self, envelope_xdr: str) -> SendTransactionResponse:
        """Send as is; the status (PENDING, DUPLICATE, TRY_AGAIN_LATER, ERROR) is the caller's."""
        return await self._typed(SendTransactionResponse, "sendTransaction", {"transaction": envelope_xdr})

    async def transaction(self, tx_hash: str) -> GetTransactionResponse:
        return await self._typed(GetTransactionResponse, "getTransaction", {"hash": tx_hash})

    async def account_sequence(self, address: str) -> int | None:
        """The account's current sequence number (its next transaction uses this + 1); None if
        the account does not exist."""
        key = sx.LedgerKey(sx.LedgerEntryType.ACCOUNT,
                           account=sx.LedgerKeyAccount(Keypair.from_public_key(address).xdr_account_id()))
        found = await self.ledger_entries([key])
        if not found.entries:
            return None
        try:
            account = sx.LedgerEntryData.from_xdr(found.entries[0].xdr).account
        except Exception as exc:  # noqa: BLE001 - any XDR failure is a malformed answer
            raise BadAnswer(f"getLedgerEntries returned an unreadable account entry: {exc}") from None
        if account is None:
            raise BadAnswer("getLedgerEntries returned a non-account entry for an account key")
        return int(account.seq_num.sequence_number.int64)
