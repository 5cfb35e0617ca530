"""The trusted pool over HTTP: uploads for ``compute.run`` (``POST /v1/files``), draining a remote
worker, and the seed's coordinator surface (``POST /submit``, ``GET /status/{job_id}``,
``GET /outputs/{job_id}/{path}``, ``GET /pool``) so the seed's clients work unchanged — behind
the engine's own auth (the client token on TCP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from engine.errors import Conflict, Invalid, NotFound
from engine.remote._coordinator import RemotePool
from engine.sandbox import Refused, parse_manifest
from engine.schema import JOB_STATES, FileUpload, JobSubmit
from engine.schema.files import MAX_UPLOAD_BYTES
from engine.service import Service

#: the seed's pool_status for each job state
POOL_STATUS = {"queued": "queued", "waiting": "queued", "retrying": "queued", "running": "running",
               "cancelling": "running", "completed": "completed", "failed": "failed", "cancelled": "cancelled",
               "expired": "failed"}


def pool_routes(service: Service, *, json: Callable[..., Response], actor_of: Callable[[Request], str]) -> list[Route]:
    def remote(name: str | None = None) -> RemotePool:
        pools = service.remote_pools()
        if name is not None:
            if name not in pools:
                raise NotFound(f"no remote pool {name!r} (remote pools: {', '.join(pools) or 'none'})",
                               code="unknown_pool")
            return pools[name]
        if not pools:
            raise NotFound("no trusted pool is configured: set pools.<name>.remote = true with its workers",
                           code="no_remote_pool")
        return next(iter(pools.values()))

    async def upload(request: Request) -> Response:
        pool = remote()
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise Invalid(f"the tarball is over {MAX_UPLOAD_BYTES:,} bytes", field="body")
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise Invalid("the body must be the job's tarball", field="body")
        return json(FileUpload(sha256=pool.files.put(data), bytes=len(data)), status_code=201)

    async def worker_action(request: Request) -> Response:
        """``POST /v1/workers/drain|undrain`` with ``{"worker_id": id or its start, "reason": …}``
        (ids are base64: they may hold ``/``, so they travel in the body)."""
        action = request.path_params["action"]
        if action not in ("drain", "undrain"):
            raise NotFound(f"unknown worker action {action!r}: use drain or undrain")
        body = msgspec.json.decode(await request.body() or b"{}")
        ident = body.get("worker_id") if isinstance(body, dict) else None
        if not isinstance(ident, str) or len(ident) < 4:
            raise Invalid("worker_id: the remote worker's id (or at least its first 4 characters)", field="worker_id")
        matches = [(pool, w) for pool in service.remote_pools().values() for w in pool.workers.values()
                   if w.id.startswith(ident)]
        if not matches:
            raise NotFound(f"no remote worker {ident!r}", code="unknown_worker")
        if len(matches) > 1:
            raise Invalid(f"worker_id: {ident!r} matches {len(matches)} workers; give more of it", field="worker_id")
        pool, worker = matches[0]
        worker.drained = action == "drain"
        await service.record(actor_of(request), f"worker.{action}", f"{pool.name}/{worker.id}",
                             str(body.get("reason", "")))
        return json({"worker_id": worker.id, "drained": worker.drained, "active_jobs": len(worker.active)})

    # --- the seed's coordinator surface -------------------------------------------------------

    async def submit(request: Request) -> Response:
        pool = remote()
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_UPLOAD_BYTES) as form:
            files, raw = form.get("files"), form.get("manifest")
            if files is None or isinstance(files, str):
                raise Invalid("files: a tarball (multipart file field `files`) is required", field="files")
            if not isinstance(raw, str):
                raise Invalid("manifest: a JSON field `manifest` is required", field="manifest")
            archive = await files.read()
        try:
            manifest = parse_manifest(raw)
        except Refused as exc:
            raise Invalid(str(exc), field="manifest") from None
        digest = pool.files.put(archive)
        spec = JobSubmit(kind="compute.run", pool=pool.name,
                         payload={"files": digest, "manifest": msgspec.to_builtins(manifest)})
        response = await service.submit([spec], actor_of(request), batch=False)
        return json({"job_id": response.jobs[0].id, "status": "queued"})

    async def status(request: Request) -> Response:
        detail = await service.job_detail(request.path_params["job_id"])
        job = detail.job
        if job.kind != "compute.run":
            raise Conflict(f"{job.id} is not a compute.run job", code="not_compute")
        progress: dict[str, Any] = job.progress or {}
        result: dict[str, Any] = job.result if isinstance(job.result, dict) else {}
        worker_status = None
        if progress.get("remote_job_id"):
            worker_status = {"job_id": progress["remote_job_id"], "status": result.get("status") or progress.get("status"),
                             "execution_metadata": result.get("execution_metadata") or progress.get("execution_metadata")}
        return json({"job_id": job.id, "pool_status": POOL_STATUS.get(job.state, job.state),
                     "worker_id": progress.get("worker_id"), "worker_status": worker_status,
                     "submitted_at": job.created_at, "completed_at": job.finished_at, "error": job.error,
                     "result": result or None})

    async def output(request: Request) -> Response:
        path = remote().files.output_path(request.path_params["job_id"], request.path_params["path"])
        if path is None:
            raise NotFound("no such output: only declared outputs of a finished job", code="no_output")
        return FileResponse(path)

    async def pool_view(request: Request) -> Response:
        pool = remote()
        workers = list(pool.workers.values())
        queued = sum(service.pool_count(pool.name, state) for state in ("queued", "waiting", "retrying"))
        total = sum(service.pool_count(pool.name, state) for state in JOB_STATES)
        return json({"total_workers": len(workers), "healthy_workers": sum(1 for w in workers if w.healthy),
                     "total_jobs": total, "queued_jobs": queued, "coordinator_id": pool.coordinator_id,
                     "workers": [{"worker_id": w.id, "endpoint": w.endpoint, "is_healthy": w.healthy,
                                  "active_jobs": len(w.active), "max_concurrent_jobs": w.limit,
                                  "last_health_check": w.last_check, "drained": w.drained,
                                  "reason": w.reason or None, "isolation": w.isolation} for w in workers]})

    return [
        Route("/v1/files", upload, methods=["POST"]),
        Route("/v1/workers/{action}", worker_action, methods=["POST"]),
        Route("/submit", submit, methods=["POST"]),
        Route("/status/{job_id}", status, methods=["GET"]),
        Route("/outputs/{job_id}/{path:path}", output, methods=["GET"]),
        Route("/pool", pool_view, methods=["GET"]),
    ]

