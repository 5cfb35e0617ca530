"""A local Solana node for tests and the demo: Solana's JSON-RPC (the methods the adapter uses)
over LiteSVM, which executes real transactions against real SBF programs — here the CloudMesh
program built from ``programs/cloudmesh``. It is not a validator: one process, no gossip, no
votes; a slot every ``slot_seconds``.

What it keeps honest:

* transactions are verified and executed by LiteSVM (signatures, fees, rent, the program's own
  checks); a sent transaction lands in the next slot, in the order sent;
* a blockhash is valid for 150 slots (``lastValidBlockHeight``), checked at send and at landing,
  and one transaction (one signature) lands once;
* ``sendTransaction`` runs a preflight simulation unless ``skipPreflight``, and answers its
  failure as Solana does (-32002 with ``err`` and ``logs``);
* statuses move processed → confirmed (1 slot) → finalized (32 slots);
* the clock's ``unix_timestamp`` follows the wall clock; the slot advances.

Methods: getVersion, getHealth, getSlot, getBlockHeight, getLatestBlockhash, getBalance,
getAccountInfo, getProgramAccounts (``memcmp``/``dataSize`` filters), getMinimumBalanceFor-
RentExemption, simulateTransaction, sendTransaction, getSignatureStatuses, requestAirdrop.
"""

from __future__ import annotations

import base64
import collections
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
import trio
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)
from starlette.applications import Starlette
from starlette.routing import Route

from engine.devnets._http import serve_app
from engine.devnets._jsonrpc import InvalidParams, JsonRpcError, endpoint

PROGRAMS = Path(__file__).resolve().parent / "programs"
BLOCKHASH_SLOTS = 150
FINALIZED_AFTER = 32
MAX_AIRDROP = 1_000 * 10**9
VERSION = "2.2.0"


@dataclass
class Landed:
    slot: int
    err: Any  # the RPC's JSON form of the transaction error, or None


class SolanaDevnet:
    def __init__(self, programs: dict[Pubkey, Path] | None = None, slot_seconds: float = 0.4,
                 autoproduce: bool = True) -> None:
        self.svm = LiteSVM().with_blockhash_check(False)  # the 150-slot window is checked here
        for program_id, path in (programs or {}).items():
            self.svm.add_program(program_id, path.read_bytes())
        self.slot_seconds = slot_seconds
        self.autoproduce = autoproduce  # False: slots advance only when produce_slot is called (tests)
        self.slot = 1
        self.blockhashes: collections.OrderedDict[str, int] = collections.OrderedDict()  # hash → its slot
        self.pending: list[VersionedTransaction] = []
        self.landed: dict[str, Landed] = {}
        self._advance_clock()
        self._new_blockhash()

    # --- the chain ----------------------------------------------------------------------------

    def _advance_clock(self) -> None:
        self.svm.warp_to_slot(self.slot)
        clock = self.svm.get_clock()
        clock.slot, clock.unix_timestamp = self.slot, int(time.time())
        self.svm.set_clock(clock)

    def _new_blockhash(self) -> None:
        self.svm.expire_blockhash()
        self.blockhashes[str(self.svm.latest_blockhash())] = self.slot
        while len(self.blockhashes) > BLOCKHASH_SLOTS + 1:
            self.blockhashes.popitem(last=False)

    def latest_blockhash(self) -> tuple[str, int]:
        blockhash = next(reversed(self.blockhashes))
        return blockhash, self.blockhashes[blockhash] + BLOCKHASH_SLOTS

    def produce_slot(self) -> None:
        """The next slot: the clock moves, the waiting transactions land in order, a new blockhash."""
        self.slot += 1
        self._advance_clock()
        waiting, self.pending = self.pending, []
        for tx in waiting:
            signature = str(tx.signatures[0])
            if signature in self.landed:
                continue
            if str(tx.message.recent_blockhash) not in self.blockhashes:
                continue  # expired while waiting: dropped, as a leader drops it
            result = self.svm.send_transaction(tx)
            self.landed[signature] = Landed(self.slot, _error_json(result.err()) if hasattr(result, "err") else None)
        self._new_blockhash()

    async def produce_slots(self) -> None:
        while True:
            await trio.sleep(self.slot_seconds)
            self.produce_slot()

    def _context(self) -> dict[str, Any]:
        return {"slot": self.slot, "apiVersion": VERSION}

    # --- the methods -------------------------------------------------------------------------

    def get_version(self, _params: list[Any]) -> dict[str, Any]:
        return {"solana-core": f"{VERSION} (shiftboss devnet on LiteSVM)", "feature-set": 0}

    def get_health(self, _params: list[Any]) -> str:
        return "ok"

    def get_slot(self, _params: list[Any]) -> int:
        return self.slot

    def get_latest_blockhash(self, _params: list[Any]) -> dict[str, Any]:
        blockhash, last_valid = self.latest_blockhash()
        return {"context": self._context(), "value": {"blockhash": blockhash, "lastValidBlockHeight": last_valid}}

    def get_balance(self, params: list[Any]) -> dict[str, Any]:
        return {"context": self._context(), "value": self.svm.get_balance(_pubkey(params, 0)) or 0}

    def get_account_info(self, params: list[Any]) -> dict[str, Any]:
        _encoding(params, 1)
        account = self.svm.get_account(_pubkey(params, 0))
        return {"context": self._context(), "value": _account_json(account) if account and account.lamports else None}

    def get_program_accounts(self, params: list[Any]) -> Any:
        program = _pubkey(params, 0)
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        _encoding(params, 1)
        filters = [_filter(f) for f in config.get("filters") or []]
        found = [{"pubkey": str(key), "account": _account_json(account)}
                 for key, account in self.svm.get_program_accounts(program)
                 if all(f(bytes(account.data)) for f in filters)]
        return {"context": self._context(), "value": found} if config.get("withContext") else found

    def get_minimum_balance_for_rent_exemption(self, params: list[Any]) -> int:
        if not params or not isinstance(params[0], int) or params[0] < 0:
            raise InvalidParams("Invalid params: expected a data length")
        return int(self.svm.minimum_balance_for_rent_exemption(params[0]))

    def simulate_transaction(self, params: list[Any]) -> dict[str, Any]:
        tx = _transaction(params)
        result = self.svm.simulate_transaction(tx)
        meta = result.meta()
        return {"context": self._context(), "value": {
            "err": _error_json(result.err()) if hasattr(result, "err") else None, "logs": list(meta.logs()),
            "accounts": None, "unitsConsumed": meta.compute_units_consumed(), "returnData": None}}

    def send_transaction(self, params: list[Any]) -> str:
        tx = _transaction(params)
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        signature = str(tx.signatures[0])
        if str(tx.message.recent_blockhash) not in self.blockhashes:
            raise _preflight("Blockhash not found", "BlockhashNotFound", [])
        if signature in self.landed or any(str(p.signatures[0]) == signature for p in self.pending):
            if config.get("skipPreflight"):
                return signature  # a leader drops the duplicate
            raise _preflight("This transaction has already been processed", "AlreadyProcessed", [])
        if not config.get("skipPreflight"):
            result = self.svm.simulate_transaction(tx)
            if hasattr(result, "err"):
                err = _error_json(result.err())
                raise _preflight(_describe(err), err, list(result.meta().logs()))
        self.pending.append(tx)
        return signature

    def get_signature_statuses(self, params: list[Any]) -> dict[str, Any]:
        if not params or not isinstance(params[0], list) or len(params[0]) > 256:
            raise InvalidParams("Invalid params: expected an array of at most 256 signatures")
        statuses: list[dict[str, Any] | None] = []
        for signature in params[0]:
            landed = self.landed.get(signature) if isinstance(signature, str) else None
            if landed is None:
                statuses.append(None)
                continue
            depth = self.slot - landed.slot
            finalized = depth >= FINALIZED_AFTER
            statuses.append({"slot": landed.slot, "confirmations": None if finalized else depth, "err": landed.err,
                             "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
                             "confirmationStatus": "finalized" if finalized else "confirmed" if depth else "processed"})
        return {"context": self._context(), "value": statuses}

    def request_airdrop(self, params: list[Any]) -> str:
        key = _pubkey(params, 0)
        lamports = params[1] if len(params) > 1 else None
        if not isinstance(lamports, int) or not 0 < lamports <= MAX_AIRDROP:
            raise InvalidParams(f"Invalid params: lamports must be between 1 and {MAX_AIRDROP}")
        result = self.svm.airdrop(key, lamports)
        if hasattr(result, "err"):
            raise JsonRpcError(-32600, f"airdrop failed: {result.err()}")
        signature = str(result.signature())
        self.landed[signature] = Landed(self.slot, None)
        return signature

    # --- serving -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        methods = {"getVersion": self.get_version, "getHealth": self.get_health, "getSlot": self.get_slot,
                   "getBlockHeight": self.get_slot, "getLatestBlockhash": self.get_latest_blockhash,
                   "getBalance": self.get_balance, "getAccountInfo": self.get_account_info,
                   "getProgramAccounts": self.get_program_accounts,
                   "getMinimumBalanceForRentExemption": self.get_minimum_balance_for_rent_exemption,
                   "simulateTransaction": self.simulate_transaction, "sendTransaction": self.send_transaction,
                   "getSignatureStatuses": self.get_signature_statuses, "requestAirdrop": self.request_airdrop}
        return Starlette(routes=[Route("/", endpoint(methods, params_type=list), methods=["POST"])])

    async def run(self, host: str = "127.0.0.1", port: int = 0, *,
                  task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve and produce slots until cancelled; reports the RPC URL."""
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_app, self.app(), host, port)
            if self.autoproduce:
                nursery.start_soon(self.produce_slots)
            task_status.started(url)


def _pubkey(params: list[Any], at: int) -> Pubkey:
    try:
        return Pubkey.from_string(params[at])
    except (IndexError, TypeError, ValueError):
        raise InvalidParams("Invalid param: expected a base-58 public key") from None


def _encoding(params: list[Any], at: int) -> None:
    config = params[at] if len(params) > at and isinstance(params[at], dict) else {}
    if config.get("encoding", "base64") not in ("base64", "base64+zstd"):
        raise InvalidParams("this devnet answers base64 encoding only")


def _transaction(params: list[Any]) -> VersionedTransaction:
    config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
    if not params or not isinstance(params[0], str):
        raise InvalidParams("Invalid params: expected an encoded transaction")
    try:
        raw = base64.b64decode(params[0], validate=True) if config.get("encoding") == "base64" else \
            base58.b58decode(params[0])
        return VersionedTransaction.from_bytes(raw)
    except ValueError as exc:
        raise InvalidParams(f"invalid transaction: {exc}") from None


def _filter(spec: Any) -> Any:
    if isinstance(spec, dict) and isinstance(spec.get("dataSize"), int):
        size = spec["dataSize"]
        return lambda data: len(data) == size
    memcmp = spec.get("memcmp") if isinstance(spec, dict) else None
    if isinstance(memcmp, dict) and isinstance(memcmp.get("offset"), int) and isinstance(memcmp.get("bytes"), str):
        try:
            wanted = base64.b64decode(memcmp["bytes"]) if memcmp.get("encoding") == "base64" else \
                base58.b58decode(memcmp["bytes"])
        except ValueError:
            raise InvalidParams("Invalid param: memcmp bytes are not valid base58/base64") from None
        offset = memcmp["offset"]
        return lambda data: data[offset:offset + len(wanted)] == wanted
    raise InvalidParams(f"Invalid filter: {spec!r} (memcmp or dataSize)")


def _account_json(account: Any) -> dict[str, Any]:
    data = bytes(account.data)
    return {"data": [base64.b64encode(data).decode(), "base64"], "executable": account.executable,
            "lamports": account.lamports, "owner": str(account.owner), "rentEpoch": 18446744073709551615,
            "space": len(data)}


def _error_json(err: Any) -> Any:
    """A solders TransactionError in the RPC's JSON form: ``{"InstructionError": [0, {"Custom": 6003}]}``."""
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        if isinstance(inner, InstructionErrorCustom):
            return {"InstructionError": [err.index, {"Custom": inner.code}]}
        if isinstance(inner, InstructionErrorFieldless):
            return {"InstructionError": [err.index, str(inner).rsplit(".", 1)[-1]]}
        return {"InstructionError": [err.index, str(inner)]}
    if isinstance(err, TransactionErrorFieldless):
        return str(err).rsplit(".", 1)[-1]
    return {type(err).__name__.removeprefix("TransactionError"): str(err)}


def _describe(err: Any) -> str:
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            return f"Error processing Instruction {index}: custom program error: {inner['Custom']:#x}"
        return f"Error processing Instruction {index}: {inner}"
    return str(err)


def _preflight(message: str, err: Any, logs: list[str]) -> JsonRpcError:
    return JsonRpcError(-32002, f"Transaction simulation failed: {message}",
                        {"err": err, "logs": logs, "accounts": None, "unitsConsumed": 0, "returnData": None})


__all__ = ["PROGRAMS", "SolanaDevnet"]
