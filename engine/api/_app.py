"""The control API v1 as a Starlette app. Bodies and responses are the msgspec types of
:mod:`engine.schema`; every error is ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import functools
import logging
import pwd
import re
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import msgspec
import trio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine import safejson
from engine.api._cloudmesh import cloudmesh_routes
from engine.api._errors import BodyTooLarge, Malformed, UnknownRoute, status_of
from engine.api._kale import kale_routes
from engine.api._metrics import ApiMetrics, metrics_text
from engine.api._openapi import openapi
from engine.api._pool import pool_routes
from engine.errors import EngineError, Invalid, Rejected, StoreError
from engine.schema import (
    JOB_SORTS,
    JOB_STATES,
    ActionRequest,
    BulkRequest,
    ChainList,
    ErrorBody,
    ErrorEnvelope,
    EstopRequest,
    HeightRequest,
    JobActionResult,
    JobFilter,
    JobSubmit,
    KindList,
    PoolList,
    PoolResult,
    ResumeRequest,
    RetryRequest,
    ShutdownResult,
    WorkerList,
)
from engine.service import Service

log = logging.getLogger("shiftboss.api")
T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_AT = re.compile(r" - at `\$\.?(.*)`$")
_ACTOR = re.compile(r"[^\w.@:+\- ]")
MAX_PAGE = 1000


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encode(content)


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSON:
    body = ErrorEnvelope(error=ErrorBody(code=code, message=message, details=details or {}))
    return JSON(body, status_code=status, headers=headers)


def actor_of(request: Request) -> str:
    """Who is acting, for the audit log: over TCP the token's name (``api.token_name``), over the
    Unix socket the connecting user (``SO_PEERCRED``). A name the client sends
    (``X-Shiftboss-Actor``) is recorded only as ``on behalf of``."""
    claimed = _ACTOR.sub("", request.headers.get("x-shiftboss-actor", ""))[:100]
    if request.scope.get("shiftboss.transport") == "tcp":
        who = str(request.scope.get("shiftboss.token_name") or "token")
    elif (uid := request.scope.get("shiftboss.peer_uid")) is not None:
        who = _user_name(uid)
    else:  # an in-process client (tests' ASGI transport): only the claim is known
        return claimed or "api"
    if not claimed or claimed == who or claimed.startswith(f"{who}@"):  # the CLI sends user@host
        return claimed or who
    return f"{who} (on behalf of {claimed})"


@functools.lru_cache(maxsize=64)
def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


async def body_as(request: Request, type_: type[T], *, optional: bool = False) -> T:
    body = await request.body()
    if not body.strip() and optional:
        return type_()
    try:
        return safejson.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None
    except (msgspec.DecodeError, safejson.TooDeep) as exc:
        raise Malformed(f"request body is not valid JSON: {exc}") from None


def _invalid(message: str, prefix: str = "") -> Invalid:
    at = _AT.search(message)
    field = prefix
    if at:
        field = (prefix + "." + at.group(1)).strip(".") if at.group(1) else prefix
        message = message[: at.start()]
    missing = re.search(r"(?:missing required|unknown) field `([^`]+)`", message)
    if missing:
        field = (field + "." + missing.group(1)).strip(".")
    return Invalid(f"{field}: {message}" if field else message, field=field)


def query_filter(request: Request) -> JobFilter:
    q = request.query_params
    states: list[Any] = [s for part in q.getlist("state") for s in part.split(",") if s]
    bad = [s for s in states if s not in JOB_STATES]
    if bad:
        raise Invalid(f"state: unknown job state {bad[0]!r}; states: {', '.join(JOB_STATES)}", field="state")
    return JobFilter(state=states or None, kind=q.get("kind") or None, pool=q.get("pool") or None,
                     text=q.get("text") or None)


def int_param(request: Request, name: str, default: int | None, lo: int = 0, hi: int = 2**62) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name}: expected an integer, got {raw!r}", field=name) from None
    if not lo <= value <= hi:
        raise Invalid(f"{name}: must be between {lo} and {hi}", field=name)
    return value


def build_app(service: Service) -> Starlette:
    api_metrics = ApiMetrics()

    def route(path: str, methods: list[str]) -> Callable[[Callable[[Request], Awaitable[Response]]], Route]:
        def wrap(fn: Callable[[Request], Awaitable[Response]]) -> Route:
            return Route(path, fn, methods=methods)
        return wrap

    @route("/v1/status", ["GET"])
    async def status(request: Request) -> Response:
        result = service.status()
        if request.scope.get("shiftboss.read_only"):
            result.access = "read-only"
        return JSON(result)

    @route("/v1/kinds", ["GET"])
    async def kinds(request: Request) -> Response:
        return JSON(KindList(kinds=service.kinds()))

    @route("/v1/jobs", ["GET"])
    async def list_jobs(request: Request) -> Response:
        flt = query_filter(request)
        cursor = int_param(request, "cursor", None)
        limit = int_param(request, "limit", 50, 1, MAX_PAGE) or 50
        offset = int_param(request, "offset", 0) or 0
        count = int_param(request, "count", 1, 0, 1)
        sort = request.query_params.get("sort") or "-created"
        if sort not in JOB_SORTS:
            raise Invalid(f"sort: unknown order {sort!r}; orders: {', '.join(JOB_SORTS)}", field="sort")
        if cursor is not None and (sort != "-created" or offset):
            raise Invalid("cursor: pages only sort=-created without offset; use offset", field="cursor")
        return JSON(await service.list_jobs(flt, cursor, limit, count=bool(count), sort=sort, offset=offset))

    @route("/v1/jobs", ["POST"])
    async def submit(request: Request) -> Response:
        raw: Any = await body_as(request, object)
        batch = isinstance(raw, dict) and "jobs" in raw
        if batch:
            items = raw["jobs"]
            if not isinstance(items, list) or not items:
                raise Invalid("jobs: expected a non-empty array", field="jobs")
            if len(items) > 10_000:
                raise Invalid("jobs: at most 10000 jobs per request", field="jobs")
        else:
            items = [raw]
        specs = []
        for i, item in enumerate(items):
            try:
                specs.append(msgspec.convert(item, JobSubmit))
            except msgspec.ValidationError as exc:
                raise _invalid(str(exc), f"jobs[{i}]" if batch else "") from None
        result = await service.submit(specs, actor_of(request), batch=batch)
        return JSON(result if batch else result.jobs[0], status_code=201 if any(r.created for r in result.jobs) else 200)

    @route("/v1/jobs/retry", ["POST"])
    async def bulk_retry(request: Request) -> Response:
        body = await body_as(request, BulkRequest)
        return JSON(await service.bulk("retry", body.filter, body.dry_run, actor_of(request), body.reason))

    @route("/v1/jobs/cancel", ["POST"])
    async def bulk_cancel(request: Request) -> Response:
        body = await body_as(request, BulkRequest)
        return JSON(await service.bulk("cancel", body.filter, body.dry_run, actor_of(request), body.reason))

    @route("/v1/jobs/{job_id}", ["GET"])
    async def get_job(request: Request) -> Response:
        return JSON(await service.job_detail(request.path_params["job_id"]))

    @route("/v1/jobs/{job_id}/retry", ["POST"])
    async def retry(request: Request) -> Response:
        body = await body_as(request, RetryRequest, optional=True)
        job_id = request.path_params["job_id"]
        state = await service.retry(job_id, actor_of(request), body.reason, body.deadline)
        return JSON(JobActionResult(id=job_id, state=state))

    @route("/v1/jobs/{job_id}/cancel", ["POST"])
    async def cancel(request: Request) -> Response:
        body = await body_as(request, ActionRequest, optional=True)
        job_id = request.path_params["job_id"]
        state = await service.cancel(job_id, actor_of(request), body.reason)
        return JSON(JobActionResult(id=job_id, state=state))

    @route("/v1/estop", ["POST"])
    async def estop(request: Request) -> Response:
        body = await body_as(request, EstopRequest)
        return JSON(await service.estop(actor_of(request), body.reason, body.pool))

    @route("/v1/resume", ["POST"])
    async def resume(request: Request) -> Response:
        body = await body_as(request, ResumeRequest, optional=True)
        return JSON(await service.resume(actor_of(request), body.reason, body.pool))

    @route("/v1/pools", ["GET"])
    async def pools(request: Request) -> Response:
        return JSON(PoolList(pools=service.pools()))

    @route("/v1/pools/{name}/{action:str}", ["POST"])
    async def pool_action(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("pause", "resume", "drain"):
            raise UnknownRoute(f"unknown pool action {action!r}: use pause, resume or drain")
        body = await body_as(request, ActionRequest, optional=True)
        pool = await service.pool_action(request.path_params["name"], action, actor_of(request), body.reason)
        return JSON(PoolResult(pool=pool))

    @route("/v1/workers", ["GET"])
    async def workers(request: Request) -> Response:
        return JSON(WorkerList(workers=[*await service.engines(), *service.workers()]))

    @route("/v1/chains", ["GET"])
    async def chains(request: Request) -> Response:
        return JSON(ChainList(chains=await service.chains()))

    @route("/v1/chains/{name}/height", ["POST"])
    async def set_height(request: Request) -> Response:
        body = await body_as(request, HeightRequest)
        queued = await service.set_height(request.path_params["name"], body.height, actor_of(request), body.reason)
        return JSON({"chain": request.path_params["name"], "height": body.height, "queued": queued})

    @route("/v1/audit", ["GET"])
    async def audit(request: Request) -> Response:
        cursor = int_param(request, "cursor", None)
        limit = int_param(request, "limit", 100, 1, MAX_PAGE) or 100
        q = request.query_params
        actions = [a for part in q.getlist("action") for a in part.split(",") if a] or None
        operator = int_param(request, "operator", 0, 0, 1)
        return JSON(await service.audit(cursor, limit, actions=actions, actor=q.get("actor") or None,
                                        operator=bool(operator)))

    @route("/v1/events", ["GET"])
    async def events(request: Request) -> Response:
        since = int_param(request, "since", None)
        types = [t for t in request.query_params.get("types", "").split(",") if t]
        return EventStream(service, since, types, request.query_params.get("job") or None,
                           request.query_params.get("database") or None)

    @route("/v1/reload", ["POST"])
    async def reload(request: Request) -> Response:
        body = await body_as(request, ActionRequest, optional=True)
        return JSON(await service.reload(actor_of(request), body.reason))

    @route("/v1/shutdown", ["POST"])
    async def shutdown(request: Request) -> Response:
        body = await body_as(request, ActionRequest, optional=True)
        await service.record(actor_of(request), "shutdown", "engine", body.reason)

        async def after_response() -> None:
            service.request_shutdown()

        return JSON(ShutdownResult(shutting_down=True), status_code=202, background=BackgroundTask(after_response))

    @route("/metrics", ["GET"])
    async def metrics(request: Request) -> Response:
        return Response(await metrics_text(service, api_metrics), media_type="text/plain; version=0.0.4; charset=utf-8")

    @route("/openapi.json", ["GET"])
    async def openapi_json(request: Request) -> Response:
        return JSON(openapi())

    routes = [status, kinds, list_jobs, submit, bulk_retry, bulk_cancel, get_job, retry, cancel, estop, resume,
              pools, pool_action, workers, chains, set_height, audit, events, reload, shutdown, metrics, openapi_json,
              *kale_routes(service, json=JSON, actor_of=actor_of, body_as=body_as, int_param=int_param),
              *pool_routes(service, json=JSON, actor_of=actor_of), *cloudmesh_routes(service, json=JSON)]
    return Starlette(routes=routes, middleware=[Middleware(_Timing, metrics=api_metrics)], exception_handlers={
        HTTPException: _http_error, EngineError: _engine_error, Exception: _unexpected,
    })


class _Timing:
    """Times every request into the API's latency histogram (status as answered)."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def sent(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            self.metrics.observe(scope["method"], scope["path"], status, time.perf_counter() - began)


class EventStream(Response):
    """NDJSON stream of events; ends when the client disconnects or the engine stops."""

    media_type = "application/x-ndjson"

    def __init__(self, service: Service, since: int | None, types: list[str], job: str | None,
                 database: str | None = None) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = [(b"content-type", b"application/x-ndjson"), (b"cache-control", b"no-store")]
        self.service, self.since, self.types, self.job, self.database = service, since, types, job, database

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async with trio.open_nursery() as nursery:
            async def disconnected() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                nursery.cancel_scope.cancel()

            nursery.start_soon(disconnected)
            async with aclosing(self.service.events(self.since, job=self.job, database=self.database)) as events:
                async for event in events:
                    if self.types and not event.type.startswith("stream.") and not any(
                        event.type.startswith(t) for t in self.types
                    ):
                        continue
                    await send({"type": "http.response.body", "body": _encode(event) + b"\n", "more_body": True})
            nursery.cancel_scope.cancel()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else str(exc.detail)
    allow = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
    allow = ", ".join(sorted(m.strip() for m in allow.split(","))) if allow else None  # starlette's order varies
    return error_response(exc.status_code, code, message, headers={"allow": allow} if allow else None)


async def _engine_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EngineError)
    status = status_of(exc)
    if isinstance(exc, Rejected):
        close = {"connection": "close"} if isinstance(exc, BodyTooLarge) else None
        return error_response(status, exc.code, exc.message, exc.details, headers=close)
    if isinstance(exc, StoreError):
        log.error("store error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(status, "store_unavailable", str(exc))
    return error_response(status, "engine_error", str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", f"internal error: {type(exc).__name__}")
