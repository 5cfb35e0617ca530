"""``/openapi.json``: the routes of API v1 with their request and response schemas, generated
from the msgspec types in :mod:`engine.schema`."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from engine import schema as s

# (method, path, summary, request type, response type)
ROUTES: list[tuple[str, str, str, Any, Any]] = [
    ("get", "/v1/status", "Engine status: pools, counts, e-stop", None, s.Status),
    ("get", "/v1/kinds", "Job kinds with their payload schemas", None, s.KindList),
    ("get", "/v1/jobs", "List jobs, newest first (query: state, kind, pool, text, cursor, limit)", None, s.JobPage),
    ("post", "/v1/jobs", "Submit one job, or {\"jobs\": [...]} in one transaction", (s.JobSubmit, s.JobSubmitBatch),
     (s.SubmitResult, s.SubmitResponse)),
    ("post", "/v1/jobs/retry", "Bulk retry over a filter (dry_run counts only)", s.BulkRequest, s.BulkResult),
    ("post", "/v1/jobs/cancel", "Bulk cancel over a filter (dry_run counts only)", s.BulkRequest, s.BulkResult),
    ("get", "/v1/jobs/{job_id}", "One job with attempt history and audit records", None, s.JobDetail),
    ("post", "/v1/jobs/{job_id}/retry", "Retry a failed, cancelled or expired job", s.RetryRequest, s.JobActionResult),
    ("post", "/v1/jobs/{job_id}/cancel", "Cancel a job (running: cancelling, then cancelled)", s.ActionRequest,
     s.JobActionResult),
    ("post", "/v1/estop", "Engage the emergency stop (global or one pool)", s.EstopRequest, s.EstopResult),
    ("post", "/v1/resume", "Release the emergency stop (global or one pool)", s.ResumeRequest, s.EstopResult),
    ("get", "/v1/pools", "Pools with queue depth, running and rates", None, s.PoolList),
    ("post", "/v1/pools/{name}/pause", "Pause a pool: claim nothing new", s.ActionRequest, s.PoolResult),
    ("post", "/v1/pools/{name}/resume", "Resume a paused, draining, drained or stopped pool", s.ActionRequest,
     s.PoolResult),
    ("post", "/v1/pools/{name}/drain", "Drain a pool: finish running jobs, take nothing new", s.ActionRequest,
     s.PoolResult),
    ("get", "/v1/workers", "Workers and their health", None, s.WorkerList),
    ("get", "/v1/chains", "Chain heads", None, s.ChainList),
    ("get", "/v1/kale", "The KALE farm: current block, each farmer's pail, next deadline (404 without [kale])", None,
     s.KaleStatus),
    ("get", "/v1/cloudmesh", "CloudMesh: the worker's key and balance, every Job account with this engine's run "
     "(404 without [cloudmesh])", None, s.CloudMeshStatus),
    ("post", "/v1/chains/{name}/height", "Set a chain's height by hand (manual height source)", s.HeightRequest,
     dict[str, Any]),
    ("get", "/v1/audit", "Audit log, newest first (query: cursor, limit)", None, s.AuditPage),
    ("get", "/v1/events", "NDJSON event stream (query: since, types, job); resumable by seq", None, s.Event),
    ("post", "/v1/reload", "Re-read the config: apply live keys, list those needing a restart", s.ActionRequest,
     s.ReloadResult),
    ("post", "/v1/shutdown", "Graceful engine shutdown", s.ActionRequest, s.ShutdownResult),
]


def _q(name: str, type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": type_, **extra}}


_STATES = {"type": "string", "description": "comma-separated job states", "pattern": "^[a-z,]*$"}
#: query parameters of the GET routes
QUERY: dict[str, list[dict[str, Any]]] = {
    "/v1/jobs": [
        {"name": "state", "in": "query", "required": False, "schema": _STATES, "description": "filter by state"},
        _q("kind", "string", "filter by kind"), _q("pool", "string", "filter by pool"),
        _q("text", "string", "search ids, kinds, payloads, errors, idempotency keys"),
        _q("cursor", "integer", "continue after this cursor (sort=-created only)", minimum=0),
        _q("limit", "integer", "jobs per page", minimum=1, maximum=1000),
        _q("offset", "integer", "skip this many", minimum=0),
        _q("count", "integer", "1: count the total (default), 0: skip it", minimum=0, maximum=1),
        _q("sort", "string", "order", enum=list(s.JOB_SORTS)),
    ],
    "/v1/audit": [
        _q("cursor", "integer", "continue after this cursor", minimum=0),
        _q("limit", "integer", "records per page", minimum=1, maximum=1000),
        _q("action", "string", "only these actions (comma-separated)"),
        _q("actor", "string", "only actors containing this"),
        _q("operator", "integer", "1: only what operators did", minimum=0, maximum=1),
    ],
    "/v1/events": [
        _q("since", "integer", "events after this sequence number (default: from now)", minimum=0),
        _q("types", "string", "comma-separated type prefixes"),
        _q("job", "string", "only this job's events"),
        _q("database", "string", "the database id seen before: another one answers stream.reset"),
    ],
}
#: routes whose body may be left out (all its fields have defaults)
OPTIONAL_BODY = {"/v1/jobs/{job_id}/retry", "/v1/jobs/{job_id}/cancel", "/v1/resume", "/v1/pools/{name}/pause",
                 "/v1/pools/{name}/resume", "/v1/pools/{name}/drain", "/v1/reload", "/v1/shutdown"}


@functools.cache
def openapi() -> dict[str, Any]:
    def flat(t: Any) -> list[Any]:
        return [] if t is None else list(t) if isinstance(t, tuple) else [t]

    types = [x for *_, req, resp in ROUTES for t in (req, resp) for x in flat(t)] + [s.ErrorEnvelope]
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    it = iter(schemas)

    def take(t: Any) -> dict[str, Any]:
        parts = [next(it) for _ in flat(t)]
        return parts[0] if len(parts) == 1 else {"oneOf": parts}

    paths: dict[str, Any] = {}
    for method, path, summary, req, resp in ROUTES:
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        if req is not None:
            op["requestBody"] = {"content": {"application/json": {"schema": take(req)}},
                                 "required": path not in OPTIONAL_BODY}
        media = "application/x-ndjson" if path == "/v1/events" else "application/json"
        ok = {"description": "ok", "content": {media: {"schema": take(resp)}}}
        op["responses"]["200"] = ok
        if (method, path) == ("post", "/v1/jobs"):
            op["responses"]["201"] = {**ok, "description": "created (200: an idempotency key's existing job)"}
        if (method, path) == ("post", "/v1/shutdown"):
            op["responses"] = {"202": {**ok, "description": "accepted: the engine stops gracefully"}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                            for p in params] + (QUERY.get(path, []) if method == "get" else [])
        if not op["parameters"]:
            del op["parameters"]
        paths.setdefault(path, {})[method] = op
    error = {"description": "error", "content": {"application/json": {"schema": next(it)}}}
    for ops_ in paths.values():
        for op in ops_.values():
            op["responses"]["default"] = error
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shiftboss control API", "version": f"{s.API_VERSION}"},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "TCP only (the Unix socket needs none); a read-only token may only GET"}}},
        "security": [{}, {"bearer": []}],
    }
