"""JSON-RPC 2.0 over httpx with several endpoints, failover and retries: the one client every
chain adapter uses (EVM, Soroban, Solana, CometBFT), each adding its typed calls and how its
node reports errors.

Each request goes to the healthiest endpoint first. A transport error, a timeout, HTTP 429 or
5xx, or a malformed answer marks that endpoint down for a while (doubling, up to 30 s) and the
request moves on to the next; after every endpoint has failed, the round is retried with
backoff, ``retries`` times, then :class:`RpcUnavailable`. A JSON-RPC *error* is an answer, not a
failure: :meth:`JsonRpc.error` turns it into an exception at once, never retried elsewhere.
Answers are depth-checked before they are parsed (:mod:`engine.safejson`).

Resource handling: one ``httpx.AsyncClient`` per client; ``aclose()`` it (or use it as an
async context manager). Error handling: httpx and JSON errors are mapped here, ``from`` the
original.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import httpx
import trio

from engine import safejson
from engine.errors import BadAnswer, RpcError, RpcUnavailable

MAX_DOWN_S = 30.0
LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=8)
T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]


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


class Failover:
    """Endpoints tried healthiest first, each failure marking one down for a while, rounds
    retried with backoff: what every chain client shares (JSON-RPC here, REST in :class:`Rest`)."""

    def __init__(self, urls: Sequence[str], *, timeout: float = 10.0, retries: int = 3, backoff: float = 0.2,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not urls:
            raise ValueError("at least one RPC endpoint is needed")
        self.endpoints = [Endpoint(u) for u in urls]
        self.retries, self.backoff = retries, backoff
        # A few kept-alive connections: the pool checks each idle one (a syscall) on every request
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, limits=LIMITS,
                                       headers={"content-type": "application/json"})

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _over(self, attempt: Callable[[Endpoint], Awaitable[T]]) -> T:
        """``attempt(endpoint)``'s answer from the first endpoint that gives one."""
        errors: list[str] = []
        for round_ in range(self.retries + 1):
            now = time.monotonic()
            order = sorted(self.endpoints, key=lambda e: (not e.healthy(now), e.down_until))
            for endpoint in order:
                endpoint.requests += 1
                began = time.monotonic()
                try:
                    answer = await attempt(endpoint)
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

    @staticmethod
    def _json(resp: httpx.Response) -> Any:
        try:
            safejson.check_depth(resp.content)
            return json.loads(resp.content)
        except safejson.TooDeep as exc:
            raise BadAnswer(str(exc)) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(f"not JSON: {resp.text[:80]!r}") from exc

    def stats(self) -> list[dict[str, Any]]:
        return [e.public() for e in self.endpoints]


class _Call:
    __slots__ = ("method", "params", "done", "result", "error")

    def __init__(self, method: str, params: Params) -> None:
        self.method, self.params = method, params
        self.done = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class JsonRpc(Failover):
    """``coalesce``: the calls that many tasks make in the same moment go out together as one
    JSON-RPC batch (up to ``max_batch`` each) — a keeper executing a block's due workflows at
    once sends their simulations, gas estimates, raw transactions and receipt lookups as a few
    HTTP requests, not one each. Every caller still gets its own answer or its own error, and a
    caller cancelled while its batch is out simply stops waiting for it.

    ``ordered`` methods (a signer's raw transactions) go in the order they were called: their
    requests one after another, never beside each other. A node parks a transaction whose nonce
    is ahead of the account's (geth keeps at most 64 such per account; anvil's automine leaves
    them unmined until something else arrives), so nonces must reach it in order."""

    def __init__(self, urls: Sequence[str], *, timeout: float = 10.0, retries: int = 3, backoff: float = 0.2,
                 transport: httpx.AsyncBaseTransport | None = None, coalesce: bool = False,
                 max_batch: int = 200, ordered: frozenset[str] = frozenset()) -> None:
        super().__init__(urls, timeout=timeout, retries=retries, backoff=backoff, transport=transport)
        self._ids = itertools.count(1)
        self.coalesce, self.max_batch = coalesce, max_batch
        self._queue: list[_Call] = []
        self.ordered = ordered
        self._in_order = trio.Lock()  # FIFO: the ordered calls' requests, one at a time
        self.calls = 0  # calls made through request() …
        self.posts = 0  # … and the HTTP requests that carried them

    # --- requests ---------------------------------------------------------------------------

    async def request(self, method: str, *params: Any, named: dict[str, Any] | None = None) -> Any:
        """One JSON-RPC call with positional ``params`` (or ``named`` ones); its ``result``."""
        self.calls += 1
        if self.coalesce:
            return await self._coalesced(_Call(method, named if named is not None else list(params)))
        self.posts += 1
        return await self._single(method, named if named is not None else list(params))

    async def _single(self, method: str, params: Params) -> Any:
        id_ = next(self._ids)
        body = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
        answer = await self._send(body, lambda data: _check_single(data, id_))
        return self._result(answer, method)

    async def _coalesced(self, call: _Call) -> Any:
        self._enqueue([call])
        await call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def _enqueue(self, calls: list[_Call]) -> None:
        first = not self._queue
        self._queue += calls
        if first:  # the first of this moment's calls: send them all, apart from any caller
            trio.lowlevel.spawn_system_task(self._flush)

    async def together(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        """Several calls answered together, each result or its error (an exception in its
        place): with ``coalesce``, in the moment's batch with every other caller's."""
        if not self.coalesce or not calls:
            return await self.batch(calls, errors=True)
        self.calls += len(calls)
        pending = [_Call(method, list(params) if not isinstance(params, dict) else params) for method, params in calls]
        self._enqueue(pending)
        for call in pending:
            await call.done.wait()
        return [call.error if call.error is not None else call.result for call in pending]

    async def _flush(self) -> None:
        """Send the queued calls (a system task: a cancelled caller must not take its batch's
        other calls down with it), ``max_batch`` to a request, the requests at once (a quick call
        must not wait behind a slow chunk). Every call gets its answer, or the error that
        stopped it."""
        calls = self._queue  # until they are taken from the queue, these are the calls to answer
        try:
            await trio.lowlevel.checkpoint()  # the tasks made ready with the first caller add theirs
            calls, self._queue = self._queue, []
            ordered = [c for c in calls if c.method in self.ordered]
            others = [c for c in calls if c.method not in self.ordered] if ordered else calls
            async with trio.open_nursery() as nursery:
                for i in range(0, len(others), self.max_batch):
                    nursery.start_soon(self._post, others[i:i + self.max_batch])
                if ordered:
                    nursery.start_soon(self._post_in_order, ordered)
        finally:  # cancelled (the run is ending) or broken: nobody waits forever
            for call in calls:
                if not call.done.is_set():
                    call.error = call.error or RpcUnavailable("the request was abandoned")
                    call.done.set()

    async def _post_in_order(self, calls: list[_Call]) -> None:
        async with self._in_order:
            for i in range(0, len(calls), self.max_batch):
                await self._post(calls[i:i + self.max_batch])

    async def _post(self, chunk: list[_Call]) -> None:
        """One HTTP request for ``chunk``; each call's answer or error set on it."""
        self.posts += 1
        if len(chunk) == 1:
            try:
                chunk[0].result = await self._single(chunk[0].method, chunk[0].params)
            except Exception as exc:  # noqa: BLE001 - it is the caller's error to raise
                chunk[0].error = exc
            chunk[0].done.set()
            return
        ids = [next(self._ids) for _ in chunk]
        body = [{"jsonrpc": "2.0", "id": i, "method": c.method, "params": c.params} for i, c in zip(ids, chunk, strict=True)]
        try:
            answers: list[Any] = await self._send(body, lambda data: _check_batch(data, ids))
        except Exception as exc:  # noqa: BLE001 - no endpoint answered: each caller raises it
            answers = [exc] * len(chunk)
        for call, answer in zip(chunk, answers, strict=True):
            if isinstance(answer, Exception):
                call.error = answer
            else:
                try:
                    call.result = self._result(answer, call.method)
                except Exception as exc:  # noqa: BLE001
                    call.error = exc
            call.done.set()

    async def batch(self, calls: Sequence[tuple[str, Params]], *, errors: bool = False) -> list[Any]:
        """Several calls in one HTTP request; results in order (an error raises, as in
        ``request`` — or, with ``errors``, takes its call's place as the exception)."""
        if not calls:
            return []
        self.calls += len(calls)
        self.posts += 1
        ids = [next(self._ids) for _ in calls]
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p if isinstance(p, dict) else list(p)}
                for i, (m, p) in zip(ids, calls, strict=True)]
        answers = await self._send(body, lambda data: _check_batch(data, ids))
        results: list[Any] = []
        for answer, (method, _p) in zip(answers, calls, strict=True):
            try:
                results.append(self._result(answer, method))
            except RpcError as exc:
                if not errors:
                    raise
                results.append(exc)
        return results

    def _result(self, answer: dict[str, Any], method: str) -> Any:
        error = answer.get("error")
        if error is None:
            return answer.get("result")
        if not isinstance(error, dict):
            raise BadAnswer(f"{method}: malformed error {str(error)[:80]}")
        raise self.error(error, method)

    def error(self, error: dict[str, Any], method: str) -> Exception:
        """The exception for a JSON-RPC error answer (a chain maps its own kinds here)."""
        return RpcError(f"{method}: {error.get('message', 'error')}", code=_code(error), data=error.get("data"),
                        method=method)

    async def _send(self, body: Any, check: Any) -> Any:
        payload = json.dumps(body).encode()

        async def attempt(endpoint: Endpoint) -> Any:
            resp = await self._http.post(endpoint.url, content=payload)
            if resp.status_code == 429 or resp.status_code >= 500:
                raise _Retryable(f"HTTP {resp.status_code}")
            if resp.status_code >= 400:
                raise _Retryable(f"HTTP {resp.status_code}: {resp.text[:120]}")
            return check(self._json(resp))

        return await self._over(attempt)


class Rest(Failover):
    """A REST API (the Cosmos SDK's gRPC gateway) on the same failover rules. An error status
    whose body is the gateway's ``{"code", "message"}`` is an answer — :class:`RestError`,
    raised at once, never retried elsewhere; any other error status fails the endpoint."""

    async def get(self, path: str) -> Any:
        return await self._over(lambda e: self._call(e, "GET", path, None))

    async def post(self, path: str, body: Any) -> Any:
        return await self._over(lambda e: self._call(e, "POST", path, body))

    async def _call(self, endpoint: Endpoint, method: str, path: str, body: Any) -> Any:
        resp = await self._http.request(method, endpoint.url.rstrip("/") + path,
                                        content=None if body is None else json.dumps(body).encode())
        if resp.status_code == 429:
            raise _Retryable("HTTP 429")
        if resp.status_code < 400:
            return self._json(resp)
        try:
            data = json.loads(resp.content)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("code"), int) and isinstance(data.get("message"), str):
            raise RestError(f"{method} {path}: {data['message']}", code=data["code"], status=resp.status_code)
        raise _Retryable(f"HTTP {resp.status_code}: {resp.text[:120]}")


class RestError(RpcError):
    """The gateway answered an error: ``code`` is the gRPC status code (5: not found), ``status``
    the HTTP one."""

    def __init__(self, message: str, *, code: int, status: int) -> None:
        super().__init__(message, code=code, data=None, method="rest")
        self.status = status


def _code(error: dict[str, Any]) -> int:
    try:
        return int(error.get("code", 0))
    except (TypeError, ValueError):
        return 0


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
