"""JSON-RPC 2.0 serving for the devnets: one call or a batch, the spec's error codes (-32700
parse, -32600 invalid request, -32601 unknown method, -32602 bad params), and the method's own
errors with their code, message and data — as real nodes answer them. A body nested deeper
than :data:`engine.safejson.MAX_DEPTH` is a parse error (Go's encoding/json, which stellar-rpc
and CometBFT use, refuses JSON nested past 10,000 levels), never a crash."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.safejson import TooDeep, check_depth


class JsonRpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"data": self.data} if self.data is not None else {})}


class InvalidParams(JsonRpcError):
    def __init__(self, message: str) -> None:
        super().__init__(-32602, message)


Method = Callable[[Any], Any]


def answer(call: Any, methods: dict[str, Method], *, params_type: type = dict) -> dict[str, Any]:
    """The response to one call. ``params_type``: what the protocol passes (Soroban: an object;
    Solana: a list); a missing ``params`` is an empty one."""
    if not isinstance(call, dict) or call.get("jsonrpc") != "2.0" or not isinstance(call.get("method"), str):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
    id_ = call.get("id")
    method = methods.get(call["method"])
    if method is None:
        return {"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}}
    params = call.get("params")
    params = params_type() if params is None else params
    if not isinstance(params, params_type):
        kind = "an object" if params_type is dict else "an array"
        return {"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": f"params must be {kind}"}}
    try:
        return {"jsonrpc": "2.0", "id": id_, "result": method(params)}
    except JsonRpcError as exc:
        return {"jsonrpc": "2.0", "id": id_, "error": exc.body()}


def endpoint(methods: dict[str, Method], *, params_type: type = dict) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette handler serving ``methods`` (POST, one call or a batch)."""

    async def rpc(request: Request) -> JSONResponse:
        raw = await request.body()
        try:  # nesting first: json recurses in C, and an import may have raised the recursion limit
            check_depth(raw)
            body = json.loads(raw)
        except (ValueError, TooDeep, RecursionError):
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
        if isinstance(body, list):
            return JSONResponse([answer(call, methods, params_type=params_type) for call in body])
        return JSONResponse(answer(body, methods, params_type=params_type))

    return rpc
