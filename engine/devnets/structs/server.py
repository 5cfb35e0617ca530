"""The local Structs chain served as a node serves it: CometBFT's RPC (JSON-RPC on ``/`` and the
URI form ``GET /status``, ``/block``, ``/tx``, ``/broadcast_tx_sync``; the ``/websocket``
``NewBlock`` subscription) on one port, the Cosmos REST API (account query, simulate, the
Structs queries) on another, and a block every ``block_seconds``. See :mod:`.chain` for the
rules it applies.

Devnet-only routes (``/devnet/…`` on the REST port) make players and structs — what the real
chain does through its own messages — and drop WebSocket clients, a fault tests cause for real.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.chains.cometbft._tx import tx_hash
from engine.devnets._http import serve_app
from engine.devnets._jsonrpc import InvalidParams, JsonRpcError, endpoint
from engine.devnets.structs.chain import DuplicateTx, StructsChain, TxRefused

VERSION = "0.38.17"
NEW_BLOCK = "tm.event='NewBlock'"


def _internal(data: str) -> JsonRpcError:
    return JsonRpcError(-32603, "Internal error", data)


class StructsDevnet:
    def __init__(self, chain: StructsChain | None = None, block_seconds: float = 1.0,
                 autoproduce: bool = True) -> None:
        self.chain = chain or StructsChain()
        self.block_seconds = block_seconds
        self.autoproduce = autoproduce  # False: blocks only when produce_block is called (tests)
        self._subscribers: set[trio.MemorySendChannel[dict[str, Any]]] = set()
        self._sockets: set[WebSocket] = set()
        self.refuse_ws_until = 0.0
        self.methods = {"status": self._status, "health": lambda p: {}, "block": self._block,
                        "broadcast_tx_sync": self._broadcast, "tx": self._tx}

    # --- blocks --------------------------------------------------------------------------------

    def produce_block(self) -> int:
        block = self.chain.produce_block()
        event = {"query": NEW_BLOCK, "events": {"tm.event": ["NewBlock"]},
                 "data": {"type": "tendermint/event/NewBlock", "value": {"block": self._block_json(block.height)["block"]}}}
        for channel in list(self._subscribers):
            try:
                channel.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.discard(channel)  # a reader that cannot keep up is dropped, as CometBFT does
        return block.height

    async def _produce(self) -> None:
        while True:
            await trio.sleep(self.block_seconds)
            self.produce_block()

    # --- CometBFT RPC --------------------------------------------------------------------------

    def _status(self, params: dict[str, Any]) -> dict[str, Any]:
        block = self.chain.blocks[-1]
        return {"node_info": {"network": self.chain.chain_id, "version": VERSION, "moniker": "shiftboss-structs-devnet"},
                "sync_info": {"latest_block_hash": block.hash, "latest_block_height": str(block.height),
                              "latest_block_time": block.header(self.chain.chain_id)["time"], "catching_up": False}}

    def _block_json(self, height: int) -> dict[str, Any]:
        block = self.chain.block(height)
        assert block is not None
        return {"block_id": {"hash": block.hash},
                "block": {"header": block.header(self.chain.chain_id),
                          "data": {"txs": [base64.b64encode(t).decode() for t in block.txs]}}}

    def _block(self, params: dict[str, Any]) -> dict[str, Any]:
        height = _int(params.get("height"), "height", self.chain.height)
        if self.chain.block(height) is None:
            raise _internal(f"height {height} is not available, lowest height is {self.chain.blocks[0].height} and "
                            f"the current blockchain height is {self.chain.height}")
        return self._block_json(height)

    def _broadcast(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = _b64(params.get("tx"), "tx")
        try:
            hash_ = self.chain.check_tx(raw)
        except DuplicateTx as exc:
            raise _internal(str(exc)) from None
        except TxRefused as exc:
            return {"code": exc.code, "codespace": exc.codespace, "log": exc.log, "data": "", "hash": tx_hash(raw)}
        return {"code": 0, "codespace": "", "log": "[]", "data": "", "hash": hash_}

    def _tx(self, params: dict[str, Any]) -> dict[str, Any]:
        hash_ = _b64(params.get("hash"), "hash").hex().upper()
        included = self.chain.included.get(hash_)
        if included is None:
            raise _internal(f"tx ({hash_}) not found")
        return included.public(hash_)

    async def _uri(self, request: Request) -> JSONResponse:
        """CometBFT's URI form: ``GET /status``, ``/tx?hash=0x…``, ``/broadcast_tx_sync?tx=0x…``."""
        name = request.url.path.strip("/")
        params: dict[str, Any] = dict(request.query_params)
        for key in ("hash", "tx"):
            value = params.get(key)
            if isinstance(value, str) and value.startswith("0x"):
                try:
                    params[key] = base64.b64encode(bytes.fromhex(value[2:])).decode()
                except ValueError:
                    params[key] = "!"
        try:
            return JSONResponse({"jsonrpc": "2.0", "id": -1, "result": self.methods[name](params)})
        except JsonRpcError as exc:
            return JSONResponse({"jsonrpc": "2.0", "id": -1, "error": exc.body()}, status_code=500)

    async def _websocket(self, ws: WebSocket) -> None:
        if time.monotonic() < self.refuse_ws_until:
            await ws.close(code=1013)
            return
        await ws.accept()
        self._sockets.add(ws)
        send, receive = trio.open_memory_channel[dict[str, Any]](64)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._forward, ws, receive)
                while True:
                    try:
                        call = json.loads(await ws.receive_text())
                    except (WebSocketDisconnect, RuntimeError):
                        break
                    except ValueError:
                        await ws.send_json({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
                        continue
                    query = (call.get("params") or {}).get("query") if isinstance(call, dict) else None
                    if not isinstance(call, dict) or call.get("method") not in ("subscribe", "unsubscribe_all"):
                        await ws.send_json({"jsonrpc": "2.0", "id": call.get("id") if isinstance(call, dict) else None,
                                            "error": {"code": -32601, "message": "Method not found"}})
                    elif call["method"] == "subscribe" and query != NEW_BLOCK:
                        await ws.send_json({"jsonrpc": "2.0", "id": call.get("id"), "error": {
                            "code": -32603, "message": "Internal error",
                            "data": f"this devnet publishes only {NEW_BLOCK}, not {query}"}})
                    else:
                        (self._subscribers.add if call["method"] == "subscribe" else self._subscribers.discard)(send)
                        await ws.send_json({"jsonrpc": "2.0", "id": call.get("id"), "result": {}})
                nursery.cancel_scope.cancel()
        finally:
            self._subscribers.discard(send)
            self._sockets.discard(ws)

    @staticmethod
    async def _forward(ws: WebSocket, receive: trio.MemoryReceiveChannel[dict[str, Any]]) -> None:
        async for event in receive:
            try:
                await ws.send_json({"jsonrpc": "2.0", "id": 0, "result": event})
            except (WebSocketDisconnect, RuntimeError):
                return

    # --- Cosmos REST ---------------------------------------------------------------------------

    async def _account(self, request: Request) -> JSONResponse:
        address = request.path_params["address"]
        account = self.chain.account_json(address)
        if account is None:
            return _grpc_error(5, f"account {address} not found: key not found", 404)
        return JSONResponse({"account": account})

    async def _simulate(self, request: Request) -> JSONResponse:
        try:
            raw = _b64((await request.json()).get("tx_bytes"), "tx_bytes")
        except (ValueError, AttributeError, JsonRpcError) as exc:
            return _grpc_error(3, f"invalid request: {exc}", 400)
        try:
            gas = self.chain.simulate(raw)
        except TxRefused as exc:
            return _grpc_error(2, f"{exc.log} [codespace {exc.codespace} code {exc.code}] With gas wanted: "
                                  f"'18446744073709551615' and gas used: '{self.chain.gas(raw)}' : unknown request", 500)
        return JSONResponse({"gas_info": {"gas_wanted": "0", "gas_used": str(gas)},
                             "result": {"data": "", "log": "", "events": [], "msg_responses": []}})

    async def _address(self, request: Request) -> JSONResponse:
        address = request.path_params["address"]
        player = next((p for p, a in self.chain.players.items() if a == address), "")
        return JSONResponse({"address": address, "playerId": player, "permissions": "0" if not player else "16777215"})

    async def _struct(self, request: Request) -> JSONResponse:
        kind = "fleet" if request.url.path.startswith("/structs/fleet/") else "struct"
        target = self.chain.targets.get((kind, request.path_params["id"]))
        if target is None:
            return _grpc_error(5, "not found", 404)
        return JSONResponse({kind.capitalize(): target.public()})

    async def _height(self, request: Request) -> JSONResponse:
        return JSONResponse({"blockHeight": str(self.chain.height)})

    # --- devnet-only ---------------------------------------------------------------------------

    async def _admin(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
            what = request.path_params["what"]
            if what == "players":
                return JSONResponse({"playerId": self.chain.add_player(str(body["address"]))})
            if what == "targets":
                target = self.chain.add_target(str(body["owner"]), str(body["action"]), int(body["difficultyRange"]),
                                               body.get("planetId"), int(body.get("age", 0)))
                return JSONResponse(target.public())
            if what == "websocket-drop":
                self.refuse_ws_until = time.monotonic() + float(body.get("refuseSeconds", 0))
                for ws in list(self._sockets):
                    await ws.close(code=1001)
                return JSONResponse({"dropped": len(self._sockets)})
            if what == "blocks":
                return JSONResponse({"height": self.produce_block()})
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        return JSONResponse({"error": "unknown devnet route"}, status_code=404)

    # --- serving -------------------------------------------------------------------------------

    def rpc_app(self) -> Starlette:
        uri = [Route(f"/{name}", self._uri, methods=["GET"]) for name in self.methods]
        return Starlette(routes=[Route("/", endpoint(self.methods), methods=["POST"]), *uri,
                                 WebSocketRoute("/websocket", self._websocket)])

    def rest_app(self) -> Starlette:
        return Starlette(routes=[
            Route("/cosmos/auth/v1beta1/accounts/{address}", self._account),
            Route("/cosmos/tx/v1beta1/simulate", self._simulate, methods=["POST"]),
            Route("/structs/address/{address}", self._address),
            Route("/structs/struct/{id}", self._struct),
            Route("/structs/fleet/{id}", self._struct),
            Route("/blockheight", self._height),
            Route("/devnet/{what}", self._admin, methods=["POST"]),
        ])

    async def run(self, host: str = "127.0.0.1", rpc_port: int = 0, rest_port: int = 0, *,
                  task_status: trio.TaskStatus[tuple[str, str]] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports (RPC URL, REST URL)."""
        async with trio.open_nursery() as nursery:
            rpc = await nursery.start(serve_app, self.rpc_app(), host, rpc_port)
            rest = await nursery.start(serve_app, self.rest_app(), host, rest_port)
            if self.autoproduce:
                nursery.start_soon(self._produce)
            task_status.started((rpc, rest))


def _grpc_error(code: int, message: str, status: int) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "details": []}, status_code=status)


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"{name}: expected base64 bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParams(f"{name}: not base64") from None


def _int(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParams(f"{name}: expected an integer, got {value!r}") from None
