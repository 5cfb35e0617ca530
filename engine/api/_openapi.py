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
    ("post", "/v1/chains/{name}/height", "Set a chain's height by hand (manual height source)", s.HeightRequest,
     dict[str, Any]),
    ("get", "/v1/audit", "Audit log, newest first (query: cursor, limit)", None, s.AuditPage),
    ("get", "/v1/events", "NDJSON event stream (query: since, types, job); resumable by seq", None, s.Event),
    ("post", "/v1/reload", "Re-read the config: apply live keys, list those needing a restart", s.ActionRequest,
     s.ReloadResult),
    ("post", "/v1/shutdown", "Graceful engine shutdown", s.ActionRequest, s.ShutdownResult),
]


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
            op["requestBody"] = {"content": {"application/json": {"schema": take(req)}}, "required": False}
        media = "application/x-ndjson" if path == "/v1/events" else "application/json"
        op["responses"]["200"] = {"description": "ok", "content": {media: {"schema": take(resp)}}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
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
        "components": {"schemas": components},
    }
