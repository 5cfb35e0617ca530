"""JSON-RPC to an EVM chain over httpx, with several endpoints, failover and retries.

Each request goes to the healthiest endpoint first. A transport error, a timeout, HTTP 429 or
5xx, or a malformed answer marks that endpoint down for a while (doubling, up to 30 s) and the
request moves on to the next; after every endpoint has failed, the round is retried with
backoff, ``retries`` times, then :class:`RpcUnavailable`. A JSON-RPC *error* is an answer, not a
failure: it is raised at once as :class:`RpcError` (or :class:`Reverted`, with the reason
decoded), never retried elsewhere.

Resource handling: one ``httpx.AsyncClient`` per :class:`EvmRpc`; ``aclose()`` it (or use it as
an async context manager). Error handling: httpx and JSON errors are mapped here, ``from`` the
original.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio
from eth_abi import decode as abi_decode

from engine import safejson
from engine.errors import BadAnswer, Reverted, RpcError, RpcUnavailable, WrongChain

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
MAX_DOWN_S = 30.0


@dataclass
class Endpoint:
    """One RPC URL and how it has behaved (shown per chain in ``/v1/chains``)."""

    url: str
    requests: int = 0
    failures: int = 0
    latency_ms: float | None = None  # moving average of successful requests
    last_error: str = ""
    down_until: float = 0.0
    _penalty: float = field(default=0.0, repr=False)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until

    def succeeded(self, seconds: float) -> None:
        ms = seconds * 1000
        self.latency_ms = ms if self.latency_ms is None else 0.8 * self.latency_ms + 0.2 * ms
        self._penalty = 0.0
        self.down_until = 0.0

    def failed(self, why: str, now: float) -> None:
        self.failures += 1
        self.last_error = why
        self._penalty = min(MAX_DOWN_S, max(0.5, self._penalty * 2))
        self.down_until = now + self._penalty

    def public(self) -> dict[str, Any]:
        return {"url": _redact(self.url), "requests": self.requests, "failures": self.failures,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
                "healthy": self.healthy(time.monotonic()), "last_error": self.last_error}


def _redact(url: str) -> str:
    """Endpoint URLs often carry an API key in the path or query: show scheme and host only."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "") + (
        "/…" if parsed.path not in ("", "/") or parsed.query else "")


class EvmRpc:
    def __init__(self, urls: Sequence[str], *, chain_id: int | None = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.2, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not urls:
            raise ValueError("at least one RPC endpoint is needed")
        self.endpoints = [Endpoint(u) for u in urls]
        self.chain_id = chain_id
        self.retries, self.backoff = retries, backoff
        self._ids = itertools.count(1)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport,
                                       headers={"content-type": "application/json"})

    async def __aenter__(self) -> EvmRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- requests ---------------------------------------------------------------------------

    async def request(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; its ``result``."""
        id_ = next(self._ids)
        body = {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}
        answer = await self._send(body, lambda data: _check_single(data, id_))
        return _result(answer, method)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in order (an error raises, as in ``request``)."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls, strict=True)]
        answers = await self._send(body, lambda data: _check_batch(data, ids))
        return [_result(a, m) for a, (m, _p) in zip(answers, calls, strict=True)]

    async def _send(self, body: Any, check: Any) -> Any:
        payload = json.dumps(body).encode()
        errors: list[str] = []
        for round_ in range(self.retries + 1):
            now = time.monotonic()
            order = sorted(self.endpoints, key=lambda e: (not e.healthy(now), e.down_until))
            for endpoint in order:
                endpoint.requests += 1
                began = time.monotonic()
                try:
                    resp = await self._http.post(endpoint.url, content=payload)
                    if resp.status_code == 429 or resp.status_code >= 500:
                        raise _Retryable(f"HTTP {resp.status_code}")
                    if resp.status_code >= 400:
                        raise _Retryable(f"HTTP {resp.status_code}: {resp.text[:120]}")
                    try:
                        safejson.check_depth(resp.content)
                        data = json.loads(resp.content)
                    except safejson.TooDeep as exc:
                        raise BadAnswer(str(exc)) from None
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise _Retryable(f"not JSON: {resp.text[:80]!r}") from exc
                    answer = check(data)
                except _Retryable as exc:
                    why = str(exc)
                except BadAnswer as exc:
                    why = f"malformed answer: {exc}"
                except httpx.TimeoutException:
                    why = "timed out"
                except httpx.TransportError as exc:
                    why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                else:
                    endpoint.succeeded(time.monotonic() - began)
                    return answer
                endpoint.failed(why, time.monotonic())
                errors.append(f"{_redact(endpoint.url)}: {why}")
            if round_ < self.retries:
                await trio.sleep(self.backoff * 2**round_)
        raise RpcUnavailable(f"no RPC endpoint answered ({'; '.join(errors[-len(self.endpoints):])})")

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

    def stats(self) -> list[dict[str, Any]]:
        return [e.public() for e in self.endpoints]


class _Retryable(Exception):
    """This endpoint failed; try another."""


def _check_single(data: Any, id_: int) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("id") != id_ or ("result" not in data and "error" not in data):
        raise BadAnswer(f"not a JSON-RPC answer to request {id_}: {str(data)[:80]}")
    return data


def _check_batch(data: Any, ids: list[int]) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise BadAnswer(f"a batch answer must be a list, got {str(data)[:80]}")
    by_id = {a.get("id"): a for a in data if isinstance(a, dict)}
    if set(by_id) != set(ids):
        raise BadAnswer(f"the batch answer has ids {sorted(map(str, by_id))[:5]}, expected {ids[:5]}…")
    return [_check_single(by_id[i], i) for i in ids]


def _result(answer: dict[str, Any], method: str) -> Any:
    error = answer.get("error")
    if error is None:
        return answer.get("result")
    if not isinstance(error, dict):
        raise BadAnswer(f"{method}: malformed error {str(error)[:80]}")
    message = str(error.get("message", "error"))
    data = error.get("data")
    if "revert" in message.lower() or error.get("code") == 3:
        raise Reverted(decode_revert(data) or message.removeprefix("execution reverted").strip(": "),
                       code=int(error.get("code", 3)), data=data, method=method)
    raise RpcError(f"{method}: {message}", code=int(error.get("code", 0)), data=data, method=method)


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
