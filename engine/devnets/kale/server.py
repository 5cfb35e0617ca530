"""The devnet's Soroban-RPC-compatible JSON-RPC server (hypercorn on Trio), and the clock that
closes a ledger every ``ledger_seconds``.

Methods so far: ``getHealth``, ``getNetwork``, ``getLatestLedger``, ``getLedgerEntries``, with
the real server's parameter names and answer fields. Unknown methods get JSON-RPC's -32601 and
bad parameters -32602, as stellar-rpc answers them.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stellar_sdk import xdr as sx

from engine.devnets.kale.ledger import PASSPHRASE, Ledger

PROTOCOL_VERSION = 23
MAX_KEYS = 200


class InvalidParams(Exception):
    """JSON-RPC -32602."""


@dataclass
class Devnet:
    ledger: Ledger
    ledger_seconds: float = 5.0

    # --- the methods -------------------------------------------------------------------------

    def get_health(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"status": "healthy", "latestLedger": self.ledger.sequence, "oldestLedger": 1,
                "ledgerRetentionWindow": 17280}

    def get_network(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"passphrase": PASSPHRASE, "protocolVersion": PROTOCOL_VERSION, "friendbotUrl": None}

    def get_latest_ledger(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.ledger_hash(self.ledger.sequence), "protocolVersion": PROTOCOL_VERSION,
                "sequence": self.ledger.sequence, "closeTime": str(self.ledger.close_time)}

    def get_ledger_entries(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = params.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
            raise InvalidParams(f"keys: expected 1 to {MAX_KEYS} base64 LedgerKeys")
        entries = []
        for raw in keys:
            try:
                key = sx.LedgerKey.from_xdr(raw)
            except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
                raise InvalidParams(f"cannot unmarshal key value {str(raw)[:40]!r}: {exc}") from None
            found = self.ledger.entry(key)
            if found is None:
                continue
            data, live_until = found
            entry: dict[str, Any] = {"key": raw, "xdr": data.to_xdr(), "lastModifiedLedgerSeq": self.ledger.sequence}
            if live_until is not None:
                entry["liveUntilLedgerSeq"] = live_until
            entries.append(entry)
        return {"entries": entries, "latestLedger": self.ledger.sequence}

    @staticmethod
    def ledger_hash(sequence: int) -> str:
        return base64.b16encode(sequence.to_bytes(32, "big")).decode().lower()

    # --- serving -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        methods = {"getHealth": self.get_health, "getNetwork": self.get_network,
                   "getLatestLedger": self.get_latest_ledger, "getLedgerEntries": self.get_ledger_entries}

        async def rpc(request: Request) -> JSONResponse:
            try:
                body = json.loads(await request.body())
            except ValueError:
                return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            if isinstance(body, list):
                return JSONResponse([answer(call, methods) for call in body])
            return JSONResponse(answer(body, methods))

        return Starlette(routes=[Route("/", rpc, methods=["POST"])])

    async def close_ledgers(self) -> None:
        while True:
            await trio.sleep(self.ledger_seconds)
            self.ledger.sequence += 1
            self.ledger.close_time = int(time.time())

    async def run(self, host: str = "127.0.0.1", port: int = 0, *,
                  task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve and close ledgers until cancelled; reports the RPC URL."""
        config = Config()
        config.bind = [f"{host}:{port}"]
        config.accesslog = None
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, self.app(), config)
            nursery.start_soon(self.close_ledgers)
            task_status.started(binds[0])


def answer(call: Any, methods: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(call, dict) or call.get("jsonrpc") != "2.0" or not isinstance(call.get("method"), str):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
    id_ = call.get("id")
    method = methods.get(call["method"])
    if method is None:
        return {"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "method not found"}}
    params = call.get("params") or {}
    if not isinstance(params, dict):
        return {"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": "params must be an object"}}
    try:
        return {"jsonrpc": "2.0", "id": id_, "result": method(params)}
    except InvalidParams as exc:
        return {"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": str(exc)}}
