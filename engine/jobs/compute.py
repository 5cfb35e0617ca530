"""``compute.run``: a sandboxed job (a tarball and a manifest) run on a trusted pool's remote
worker — priority, retries and deadlines as for every job.

The handler takes a slot on the least busy healthy worker, submits the files (signed), follows
the run, fetches its declared outputs into the data dir and returns the worker's report. A worker
that refuses the job (4xx) is skipped for this job with its reason in the job's progress, and the
next is tried; one that stops answering mid-run fails the attempt (``worker_lost``), which is
retried elsewhere. Cancelling the job cancels the run on the worker.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import httpx
import msgspec
import trio
from msgspec import Meta

from engine.errors import JobFailure, PermanentFailure
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.remote._client import WorkerRefused
from engine.remote._coordinator import RemotePool, RemoteWorker
from engine.remote._protocol import ProtocolError
from engine.sandbox import Manifest, Refused
from engine.schema.files import UPLOAD_MARK

log = logging.getLogger("shiftboss.pool")
FINAL = ("completed", "failed", "timeout", "cancelled")
WAIT_S = 10.0  # a status request waits this long for the end of the run (long-poll)


class ComputePayload(msgspec.Struct, forbid_unknown_fields=True):
    """Run a tarball (uploaded with ``POST /v1/files``) on a remote worker of the pool."""

    files: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", extra_json_schema={UPLOAD_MARK: "tarball"},
                               description="SHA-256 of the uploaded tarball (forms: a local directory or tarball path)")]
    manifest: Manifest

    def __post_init__(self) -> None:
        try:
            self.manifest.check()
        except Refused as exc:
            raise ValueError(f"manifest: {exc}") from None


def _pool(ctx: JobContext) -> RemotePool:
    pool = ctx.services.remote.get(ctx.pool)
    if pool is None:
        raise PermanentFailure(f"pool {ctx.pool} has no remote workers: set pools.{ctx.pool}.remote = true",
                               code="not_remote")
    return pool


async def compute_run(ctx: JobContext, p: ComputePayload) -> dict[str, Any]:
    pool = _pool(ctx)
    archive = pool.files.get(p.files)
    if archive is None:
        raise PermanentFailure(f"no uploaded files {p.files[:12]}… (POST /v1/files first)", code="no_files")
    manifest = msgspec.to_builtins(p.manifest)
    refused: dict[str, str] = {}
    while True:
        worker = await pool.acquire(ctx.job_id, exclude=set(refused))
        ctx.progress(worker_id=worker.id, status="submitting")
        try:
            submitted = await worker.client.submit(archive, manifest)
            break
        except WorkerRefused as exc:
            pool.release(worker, ctx.job_id)
            if exc.status in (429, 503):  # busy or draining after all: another, or this one later
                await trio.sleep(0.2)
                continue
            refused[worker.id] = exc.message
            ctx.progress(rejected=refused)
            log.info("pool %s: worker %s… refused %s: %s", pool.name, worker.id[:12], ctx.job_id, exc.message)
            if not pool.candidates(set(refused)):
                raise PermanentFailure(f"every worker refused the job: {exc.message}", code="rejected",
                                       details={"rejected": refused}) from None
        except (httpx.HTTPError, ProtocolError) as exc:
            pool.release(worker, ctx.job_id)
            pool.mark_down(worker, f"submit failed: {exc or type(exc).__name__}")
    remote_id = str(submitted["job_id"])
    ctx.progress(worker_id=worker.id, remote_job_id=remote_id, status="running")
    try:
        status = await _follow(ctx, pool, worker, remote_id)
        outputs = await _fetch_outputs(ctx, pool, worker, remote_id, status.get("outputs") or [])
    except trio.Cancelled:
        if ctx.stop_reason == "cancel":
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    await worker.client.cancel(remote_id)
                except (WorkerRefused, httpx.HTTPError, ProtocolError) as exc:
                    log.info("%s: the cancel did not reach the worker: %s", ctx.job_id, exc)
        raise
    finally:
        pool.release(worker, ctx.job_id)
    result = {"worker_id": worker.id, "remote_job_id": remote_id, "status": status["status"],
              "started_at": status.get("started_at"), "completed_at": status.get("completed_at"),
              "exit_code": status.get("exit_code"), "signal": status.get("signal"),
              "execution_metadata": status.get("execution_metadata"), "stdout": status.get("stdout", ""),
              "stderr": status.get("stderr", ""), "outputs": outputs}
    if status["status"] != "completed":
        raise PermanentFailure(f"the run ended {status['status']}"
                               + (f" (exit code {status.get('exit_code')})" if status.get("exit_code") is not None else "")
                               + (f", limit: {status['execution_metadata'].get('limit')}"
                                  if (status.get("execution_metadata") or {}).get("limit") else ""),
                               code=f"run_{status['status']}", details=result)
    return result


async def _follow(ctx: JobContext, pool: RemotePool, worker: RemoteWorker, remote_id: str) -> dict[str, Any]:
    silent_since: float | None = None
    while True:
        try:
            status = await worker.client.status(remote_id, wait=WAIT_S)
        except (httpx.HTTPError, ProtocolError, WorkerRefused) as exc:
            now = trio.current_time()
            silent_since = silent_since or now
            if isinstance(exc, WorkerRefused) and exc.status == 404:
                raise JobFailure(f"worker {worker.id[:12]}… lost the run (restarted?)", code="worker_lost") from None
            lost_after = max(2.0, 3 * pool.settings.health_interval)  # as long as three missed health checks
            if now - silent_since > lost_after:
                pool.mark_down(worker, f"no status answer for {lost_after:g} s: {exc}")
                raise JobFailure(f"worker {worker.id[:12]}… stopped answering mid-run; retried elsewhere",
                                 code="worker_lost") from None
            await trio.sleep(0.25)
            continue
        silent_since = None
        ctx.progress(status=status["status"], execution_metadata=status.get("execution_metadata"))
        if status["status"] in FINAL:
            return status


async def _fetch_outputs(ctx: JobContext, pool: RemotePool, worker: RemoteWorker, remote_id: str,
                         names: list[str]) -> list[str]:
    kept = []
    for name in names:
        try:
            data = await worker.client.output(remote_id, name)
            pool.files.save_output(ctx.job_id, name, data)
            kept.append(name)
        except (WorkerRefused, httpx.HTTPError, ProtocolError, ValueError) as exc:
            raise JobFailure(f"fetching output {name!r}: {exc}", code="output_fetch") from None
    return kept


KINDS = [
    Kind("compute.run", ComputePayload, compute_run,
         "Run a tarball + manifest in the sandbox of a trusted pool's remote worker (POST /v1/files first).",
         max_attempts=3, timeout=3600, backoff_base=1.0),
]
