"""The devnet's Soroban-RPC-compatible JSON-RPC server (hypercorn on Trio), and the clock that
closes a ledger every ``ledger_seconds``.

Methods: ``getHealth``, ``getNetwork``, ``getLatestLedger``, ``getVersionInfo``, ``getFeeStats``,
``getLedgerEntries``, ``simulateTransaction``, ``sendTransaction``, ``getTransaction``, with the real server's
parameter names and answer fields. A sent transaction waits for the next ledger close, which
applies the waiting ones in order. Unknown methods get JSON-RPC's -32601 and bad parameters
-32602, as stellar-rpc answers them.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stellar_sdk import xdr as sx

from engine.devnets._http import serve_app
from engine.devnets._jsonrpc import InvalidParams, endpoint
from engine.devnets.kale import ledger_xdr
from engine.devnets.kale.contract import ContractError
from engine.devnets.kale.ledger import PASSPHRASE, TEMP_TTL, Ledger
from engine.devnets.kale.txs import (
    Call,
    Rejected,
    check_footprint,
    error_event,
    invoke,
    meta_xdr,
    parse,
    result_xdr,
    simulation,
    validate,
)

log = logging.getLogger("shiftboss.devnet.kale")
PROTOCOL_VERSION = 23
MAX_FRIENDBOT_KALE = 10**18  # stroops a friendbot call gives at most (100 billion KALE)
MAX_KEYS = 200


@dataclass
class Devnet:
    ledger: Ledger
    ledger_seconds: float = 5.0
    friendbot_url: str | None = None
    autoclose: bool = True  # False: ledgers close only when ``close`` is called (tests)
    pending: list[Call] = field(default_factory=list)
    done: dict[str, dict[str, Any]] = field(default_factory=dict)  # hash → what getTransaction shows
    _friendbot_seq: int = 0

    # --- the methods -------------------------------------------------------------------------

    def get_health(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"status": "healthy", "latestLedger": self.ledger.sequence, "oldestLedger": 1,
                "ledgerRetentionWindow": 17280}

    def get_network(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"passphrase": PASSPHRASE, "protocolVersion": PROTOCOL_VERSION, "friendbotUrl": self.friendbot_url}

    def get_latest_ledger(self, _params: dict[str, Any]) -> dict[str, Any]:
        """stellar-rpc ``methods/get_latest_ledger.go``: the hash, protocol, sequence, close time,
        the ``LedgerHeader`` (``headerXdr``) and the ``LedgerCloseMeta`` (``metadataXdr``)."""
        seq, close = self.ledger.sequence, self.ledger.close_time
        return {"id": self.ledger_hash(seq), "protocolVersion": PROTOCOL_VERSION, "sequence": seq,
                "closeTime": str(close), "headerXdr": ledger_xdr.header(seq, close).to_xdr(),
                "metadataXdr": ledger_xdr.close_meta(seq, close).to_xdr()}

    def get_version_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        """stellar-rpc ``methods/get_version_info.go`` (there is no Stellar Core here to name)."""
        return {"version": "shiftboss-kale-devnet", "commitHash": "", "buildTimestamp": "",
                "captiveCoreVersion": "none (a local model, not stellar-core)", "protocolVersion": PROTOCOL_VERSION}

    def get_fee_stats(self, _params: dict[str, Any]) -> dict[str, Any]:
        """stellar-rpc ``methods/get_fee_stats.go``: the inclusion-fee distributions (every fee
        here is the base fee: no surge pricing on the devnet)."""
        base = str(ledger_xdr.BASE_FEE)
        dist = {"max": base, "min": base, "mode": base, **{f"p{p}": base for p in (10, 20, 30, 40, 50, 60, 70, 80,
                                                                                  90, 95, 99)},
                "transactionCount": "0", "ledgerCount": 1}
        return {"sorobanInclusionFee": dist, "inclusionFee": dict(dist), "latestLedger": self.ledger.sequence}

    def get_ledger_entries(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = params.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
            raise InvalidParams(f"keys: expected 1 to {MAX_KEYS} base64 LedgerKeys")
        entries = []
        for raw in keys:
            try:
                key = sx.LedgerKey.from_xdr(raw)
            except Exception as exc:  # noqa: BLE001 - any XDR failure (EOFError included) is a bad key
                raise InvalidParams(f"cannot unmarshal key value {str(raw)[:40]!r}: {exc}") from None
            try:
                found = self.ledger.entry(key)
            except (ValueError, TypeError, AttributeError, KeyError, UnicodeDecodeError):
                found = None  # a well-formed key no entry can have (a pail of a non-address): not found, as stellar-rpc
            if found is None:
                continue
            data, live_until = found
            entry: dict[str, Any] = {"key": raw, "xdr": data.to_xdr(), "lastModifiedLedgerSeq": self.ledger.sequence}
            if live_until is not None:
                entry["liveUntilLedgerSeq"] = live_until
            entries.append(entry)
        return {"entries": entries, "latestLedger": self.ledger.sequence}

    def simulate_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            call = parse(_xdr_param(params), self.ledger)
        except Rejected as exc:
            return {"error": str(exc), "latestLedger": self.ledger.sequence}
        return simulation(call, self.ledger, ledger_seconds=self.ledger_seconds)

    def send_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        envelope = _xdr_param(params)
        answer: dict[str, Any] = {"latestLedger": self.ledger.sequence,
                                  "latestLedgerCloseTime": str(self.ledger.close_time)}
        try:
            call = parse(envelope, self.ledger)
        except Rejected as exc:
            return {**answer, "status": "ERROR", "hash": "", "errorResultXdr": result_xdr(exc.code, 0)}
        # stellar-core's TransactionQueue answers DUPLICATE only while the transaction waits; once
        # applied, it is a transaction whose sequence number is used: txBAD_SEQ (validate, below)
        if any(p.hash == call.hash for p in self.pending):
            return {**answer, "status": "DUPLICATE", "hash": call.hash}
        if any(p.source == call.source for p in self.pending):  # Stellar Core queues one per account
            return {**answer, "status": "TRY_AGAIN_LATER", "hash": call.hash}
        try:
            validate(call, self.ledger, self.ledger.close_time)
        except Rejected as exc:
            return {**answer, "status": "ERROR", "hash": call.hash, "errorResultXdr": result_xdr(exc.code, 0)}
        self.pending.append(call)
        return {**answer, "status": "PENDING", "hash": call.hash}

    def get_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        tx_hash = params.get("hash")
        if not isinstance(tx_hash, str) or len(tx_hash) != 64:
            raise InvalidParams("hash: expected a 64-character hex transaction hash")
        answer = {"latestLedger": self.ledger.sequence, "latestLedgerCloseTime": str(self.ledger.close_time),
                  "oldestLedger": 1, "oldestLedgerCloseTime": "0"}
        found = self.done.get(tx_hash.lower())
        return {**answer, **found} if found else {**answer, "status": "NOT_FOUND", "txHash": tx_hash.lower()}

    def close(self, now: int) -> None:
        """Close the next ledger: apply what waits, in order, then drop expired temporary entries."""
        ledger = self.ledger
        ledger.sequence += 1
        ledger.close_time = now
        calls, self.pending = self.pending, []
        for order, call in enumerate(calls, 1):
            account = ledger.accounts[call.source]
            account.sequence = call.sequence
            account.balance -= call.fee
            record = {"txHash": call.hash, "ledger": ledger.sequence, "createdAt": str(now),
                      "applicationOrder": order, "feeBump": False, "envelopeXdr": call.envelope.to_xdr()}
            try:
                check_footprint(call, ledger, now)
                value = invoke(call, ledger, sequence=ledger.sequence, now=now, check_auth=True)
            except Exception as exc:  # whatever one transaction does, only it fails
                if not isinstance(exc, ContractError):
                    log.exception("devnet: transaction %s failed in an unexpected way", call.hash)
                    exc = ContractError(0, "trap")
                event = error_event(exc)
                record.update(status="FAILED", resultXdr=result_xdr(sx.TransactionResultCode.txFAILED, call.fee),
                              resultMetaXdr=meta_xdr(sx.SCVal(sx.SCValType.SCV_VOID), [event]),
                              diagnosticEventsXdr=[event.to_xdr()])
            else:
                record.update(status="SUCCESS", resultXdr=result_xdr(sx.TransactionResultCode.txSUCCESS, call.fee, value),
                              resultMetaXdr=meta_xdr(value))
            self.done[call.hash] = record
        for used, live_until in list(ledger.nonces.items()):
            if ledger.sequence > live_until:
                del ledger.nonces[used]
        for key, since in list(ledger.modified.items()):
            if ledger.sequence > since + TEMP_TTL:
                del ledger.modified[key]
                if key[0] == "Block":
                    ledger.farm.evict(key[1])
                else:
                    ledger.farm.state.pails.pop((key[1], key[2]), None)

    @staticmethod
    def ledger_hash(sequence: int) -> str:
        return base64.b16encode(sequence.to_bytes(32, "big")).decode().lower()

    # --- serving -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        methods = {"getHealth": self.get_health, "getNetwork": self.get_network,
                   "getLatestLedger": self.get_latest_ledger, "getLedgerEntries": self.get_ledger_entries,
                   "getVersionInfo": self.get_version_info, "getFeeStats": self.get_fee_stats,
                   "simulateTransaction": self.simulate_transaction, "sendTransaction": self.send_transaction,
                   "getTransaction": self.get_transaction}

        rpc = endpoint(methods)

        async def friendbot(request: Request) -> JSONResponse:
            """As Stellar's friendbot (``GET`` or ``POST /friendbot?addr=G…``): creates the account
            with 10,000 XLM by a ``createAccount`` transaction and answers with it as Horizon
            shows a transaction (``hash``, ``envelope_xdr``, ``result_xdr``, ``result_meta_xdr``;
            ``getTransaction`` finds it too). An account that exists already is a 400 whose
            detail says ``createAccountAlreadyExist`` (what @stellar/stellar-sdk's
            ``requestAirdrop`` looks for). Devnet extension: ``kale=STROOPS`` also gives KALE
            (and a trustline) — to an existing account too."""
            address = request.query_params.get("addr", "")
            try:
                kale = int(request.query_params.get("kale", "0"))
                if not 0 <= kale <= MAX_FRIENDBOT_KALE:
                    raise ValueError(f"kale must be between 0 and {MAX_FRIENDBOT_KALE} stroops")
                exists = address in self.ledger.accounts
                if exists and not kale:
                    return JSONResponse({"type": "https://stellar.org/horizon-errors/transaction_failed",
                                         "title": "Transaction Failed", "status": 400,
                                         "detail": f"createAccountAlreadyExist: account {address} exists already"},
                                        status_code=400)
                self.ledger.fund(address, kale=kale)
            except (ValueError, ContractError) as exc:  # a bad address, or a balance past i128
                return JSONResponse({"status": 400, "detail": str(exc)}, status_code=400)
            if exists:
                return JSONResponse({"successful": True, "account": address, "ledger": self.ledger.sequence,
                                     "kale": str(kale)})
            return JSONResponse(self._friendbot_record(address))

        return Starlette(routes=[Route("/", rpc, methods=["POST"]),
                                 Route("/friendbot", friendbot, methods=["GET", "POST"])])

    def _friendbot_record(self, address: str) -> dict[str, Any]:
        self._friendbot_seq += 1
        account = self.ledger.accounts[address]
        tx_hash, envelope, result, meta = ledger_xdr.friendbot_payment(address, account.balance, self._friendbot_seq,
                                                                      self.ledger.sequence)
        self.done[tx_hash] = {"status": "SUCCESS", "txHash": tx_hash, "ledger": self.ledger.sequence,
                              "createdAt": str(self.ledger.close_time), "applicationOrder": 1, "feeBump": False,
                              "envelopeXdr": envelope, "resultXdr": result, "resultMetaXdr": meta}
        return {"successful": True, "hash": tx_hash, "ledger": self.ledger.sequence, "envelope_xdr": envelope,
                "result_xdr": result, "result_meta_xdr": meta}

    async def close_ledgers(self) -> None:
        while True:
            await trio.sleep(self.ledger_seconds)
            self.close(int(time.time()))

    async def run(self, host: str = "127.0.0.1", port: int = 0, *,
                  task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve and close ledgers until cancelled; reports the RPC URL."""
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_app, self.app(), host, port)
            self.friendbot_url = f"{url}/friendbot"
            if self.autoclose:
                nursery.start_soon(self.close_ledgers)
            task_status.started(url)


def _xdr_param(params: dict[str, Any]) -> str:
    envelope = params.get("transaction")
    if not isinstance(envelope, str) or not envelope:
        raise InvalidParams("transaction: expected a base64 TransactionEnvelope")
    return envelope


