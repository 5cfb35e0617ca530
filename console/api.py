"""The console's one seam to the engine: a typed ``httpx.AsyncClient`` over the control API v1.

Every answer is decoded into the wire types of :mod:`engine.schema`; every httpx error is mapped
here to :mod:`console.errors` (``raise … from``), so nothing above this module sees httpx.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from console.errors import ApiError, ReadOnly, Unreachable
from engine.schema import (
    AuditPage,
    BulkResult,
    ChainList,
    CloudMeshStatus,
    ErrorEnvelope,
    EstopResult,
    Event,
    FileUpload,
    JobActionResult,
    JobDetail,
    JobFilter,
    JobPage,
    JobSubmit,
    KaleStatus,
    KindList,
    PoolList,
    PoolResult,
    Status,
    SubmitResult,
    WorkerList,
)

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
#: The engine sends a heartbeat every 15 s on an idle stream; silence this long means it is gone.
STREAM_SILENCE_S = 40.0


@dataclass(frozen=True)
class Target:
    """Where the engine is: a Unix socket path, or an ``http(s)://`` URL with a bearer token."""

    where: str
    token: str | None = field(default=None, repr=False)  # never shown

    @property
    def is_tcp(self) -> bool:
        return self.where.startswith(("http://", "https://"))

    def __str__(self) -> str:
        return self.where


@dataclass(frozen=True)
class JobQuery:
    """What the jobs table shows: a filter, an order (``engine.schema.JOB_SORTS``) and a window."""

    state: tuple[str, ...] = ()
    kind: str = ""
    pool: str = ""
    text: str = ""
    sort: str = "-created"

    def as_filter(self) -> JobFilter:
        return JobFilter(state=list(self.state) or None, kind=self.kind or None, pool=self.pool or None,  # type: ignore[arg-type]
                         text=self.text or None)

    def params(self) -> dict[str, str]:
        out = {"sort": self.sort}
        if self.state:
            out["state"] = ",".join(self.state)
        for name in ("kind", "pool", "text"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} (console)"


class EngineApi:
    """An async client of one engine. Create it in the running event loop; ``aclose()`` it."""

    def __init__(self, target: Target, *, actor: str | None = None, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.target = target
        headers = {"x-shiftboss-actor": actor or default_actor()}
        if transport is not None:  # tests: an httpx.MockTransport with fixed answers
            self._http = httpx.AsyncClient(transport=transport, base_url="http://shiftboss", headers=headers,
                                           timeout=timeout)
        elif target.is_tcp:
            if target.token:
                headers["authorization"] = f"Bearer {target.token}"
            self._http = httpx.AsyncClient(base_url=target.where, headers=headers, timeout=timeout)
        else:
            self._http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=target.where),
                                           base_url="http://shiftboss", headers=headers, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ------------------------------------------------------------------------------

    async def status(self) -> Status:
        return await self._call("GET", "/v1/status", Status)

    async def kinds(self) -> KindList:
        return await self._call("GET", "/v1/kinds", KindList)

    async def jobs(self, query: JobQuery, *, offset: int = 0, limit: int = 200, count: bool = True) -> JobPage:
        params = {**query.params(), "offset": str(offset), "limit": str(limit), "count": "1" if count else "0"}
        return await self._call("GET", "/v1/jobs", JobPage, params=params)

    async def job(self, job_id: str) -> JobDetail:
        return await self._call("GET", f"/v1/jobs/{job_id}", JobDetail)

    async def pools(self) -> PoolList:
        return await self._call("GET", "/v1/pools", PoolList)

    async def workers(self) -> WorkerList:
        return await self._call("GET", "/v1/workers", WorkerList)

    async def chains(self) -> ChainList:
        return await self._call("GET", "/v1/chains", ChainList)

    async def cloudmesh(self) -> CloudMeshStatus:
        return await self._call("GET", "/v1/cloudmesh", CloudMeshStatus)

    async def kale(self) -> KaleStatus:
        return await self._call("GET", "/v1/kale", KaleStatus)

    async def audit(self, *, limit: int = 200, cursor: str | None = None, operator: bool = False) -> AuditPage:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {}), **({"operator": "1"} if operator else {})}
        return await self._call("GET", "/v1/audit", AuditPage, params=params)

    # --- actions ----------------------------------------------------------------------------

    async def submit(self, job: JobSubmit) -> SubmitResult:
        return await self._call("POST", "/v1/jobs", SubmitResult, body=job)

    async def upload(self, data: bytes) -> FileUpload:
        """A ``compute.run`` job's tarball, stored by the engine under its SHA-256."""
        return await self._call("POST", "/v1/files", FileUpload, raw=data)

    async def job_action(self, job_id: str, action: Literal["retry", "cancel"], reason: str = "") -> JobActionResult:
        return await self._call("POST", f"/v1/jobs/{job_id}/{action}", JobActionResult, body={"reason": reason})

    async def bulk(self, action: Literal["retry", "cancel"], query: JobQuery, *, dry_run: bool,
                   reason: str = "") -> BulkResult:
        body = {"filter": query.as_filter(), "dry_run": dry_run, "reason": reason}
        return await self._call("POST", f"/v1/jobs/{action}", BulkResult, body=body)

    async def estop(self, reason: str, pool: str | None = None) -> EstopResult:
        return await self._call("POST", "/v1/estop", EstopResult, body={"reason": reason, "pool": pool})

    async def resume(self, reason: str = "", pool: str | None = None) -> EstopResult:
        return await self._call("POST", "/v1/resume", EstopResult, body={"reason": reason, "pool": pool})

    async def pool_action(self, name: str, action: Literal["pause", "resume", "drain"], reason: str = "") -> PoolResult:
        return await self._call("POST", f"/v1/pools/{name}/{action}", PoolResult, body={"reason": reason})

    async def worker_action(self, worker_id: str, action: Literal["drain", "undrain"], reason: str = "") -> dict[str, Any]:
        """Drain or undrain a trusted pool's remote worker."""
        return await self._call("POST", f"/v1/workers/{action}", dict[str, Any],
                                body={"worker_id": worker_id, "reason": reason})

    # --- the event stream -------------------------------------------------------------------

    async def events(self, since: int, database: str | None = None) -> AsyncIterator[Event]:
        """Every event after ``since``, then live ones, until the connection drops
        (:class:`Unreachable`). Includes ``stream.reset`` and ``stream.heartbeat``. With the
        ``database`` id seen before, another database behind the engine answers with a reset."""
        timeout = httpx.Timeout(10.0, read=STREAM_SILENCE_S)
        params = {"since": str(since)} | ({"database": database} if database else {})
        try:
            async with self._http.stream("GET", "/v1/events", params=params, timeout=timeout) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    _raise_for(resp)
                async for line in resp.aiter_lines():
                    if line.strip():
                        yield msgspec.json.decode(line, type=Event)
        except httpx.TransportError as exc:
            raise Unreachable(_describe(exc, self.target)) from exc
        except msgspec.DecodeError as exc:
            raise ApiError(f"the engine sent an unreadable event: {exc}", status=200, code="bad_event") from exc
        raise Unreachable(f"the engine at {self.target} closed the event stream")

    # --- the seam ---------------------------------------------------------------------------

    async def _call(self, method: str, path: str, type_: type[T], *, params: dict[str, str] | None = None,
                    body: Any = None, raw: bytes | None = None) -> T:
        content = raw if raw is not None else None if body is None else _encode(body)
        headers = ({"content-type": "application/octet-stream"} if raw is not None else
                   None if body is None else {"content-type": "application/json"})
        try:
            resp = await self._http.request(method, path, params=params, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(_describe(exc, self.target)) from exc
        _raise_for(resp)
        try:
            return msgspec.json.decode(resp.content, type=type_)
        except msgspec.DecodeError as exc:  # a different engine version, or not an engine at all
            raise ApiError(f"unexpected answer to {method} {path}: {exc}", status=resp.status_code,
                           code="bad_response") from exc


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        err = msgspec.json.decode(resp.content, type=ErrorEnvelope).error
    except msgspec.DecodeError:
        raise ApiError(f"HTTP {resp.status_code}: {resp.text[:200]}", status=resp.status_code, code="http") from None
    cls = ReadOnly if err.code == "read_only" else ApiError
    raise cls(err.message, status=resp.status_code, code=err.code, details=err.details)


def _describe(exc: httpx.TransportError, target: Target) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"no engine answers at {target}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the engine at {target} did not answer in time"
    return f"lost the connection to {target}: {exc.__class__.__name__}"
