"""``shiftboss worker run``: a worker of the trusted pool — an HTTP API (Starlette on hypercorn,
Trio) that runs sandboxed jobs and hashes PoW ranges for one coordinator.

Every request must be signed by the configured coordinator key (401 otherwise); ``/health``
answers the coordinator's challenge with a signature by the worker's own key. Routes:

* ``GET /health?challenge=…`` → signed ``{status, worker_id, time, challenge, capacity, isolation}``
* ``POST /submit`` (multipart: ``files`` tarball + ``manifest`` JSON) → ``{job_id, status}``;
  400 with the reason for a bad archive or manifest, 503 when draining, 429 when no slot is free
* ``GET /status/{id}[?wait=S]`` (long-poll), ``GET /outputs/{id}/{path}``, ``POST /cancel/{id}``, ``POST /drain``
* ``POST /pow`` → hash a nonce range of a KALE, Structs or Hashcash job: signed
  ``{hashes, best_nonce, best_zeros, seconds}`` (the coordinator re-checks the hash anyway)

Jobs live in memory and under ``--work-dir`` (private to the worker): a job's archive is kept
there until it runs, in a sandbox of its own (:mod:`engine.sandbox`), and its declared outputs
for ``RESULT_TTL`` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import msgspec
import nacl.signing
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from engine.remote._protocol import ProtocolError, RequestVerifier, sign_fields, worker_id
from engine.sandbox import (
    Limits,
    Manifest,
    Refused,
    RunResult,
    Sandbox,
    SandboxError,
    check_archive,
    parse_manifest,
    run,
    unpack,
)

log = logging.getLogger("shiftboss.worker")
RESULT_TTL = 3600.0
MAX_BODY = 110 * 2**20


@dataclass
class RemoteJob:
    id: str
    manifest: Manifest
    submitted_at: float
    state: str = "queued"
    started_at: float | None = None
    completed_at: float | None = None
    result: RunResult | None = None
    error: str | None = None
    cancel: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"job_id": self.id, "status": self.state, "submitted_at": self.submitted_at,
                               "started_at": self.started_at, "completed_at": self.completed_at, "error": self.error}
        if self.result is not None:
            out.update(self.result.public())
            out["status"] = self.state
        return out


class PowRange(msgspec.Struct, forbid_unknown_fields=True):
    algorithm: str  # kale | structs | hashcash
    start: int
    count: int
    target: int
    params: dict[str, Any] = {}


class Agent:
    def __init__(self, key: nacl.signing.SigningKey, coordinator: str, *, slots: int, work_dir: Path,
                 sandbox: Sandbox, limits: Limits | None = None) -> None:
        self.key = key
        self.id = worker_id(key.verify_key)
        self.verifier = RequestVerifier(coordinator)
        self.slots = slots
        self.work_dir = work_dir
        self.limits = limits or Limits()
        self.sandbox = sandbox
        self.jobs: dict[str, RemoteJob] = {}
        self.draining = False
        self._nursery: trio.Nursery | None = None
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(work_dir, 0o700)  # archives and outputs are the worker's: jobs never see this folder
        for leftover in work_dir.glob("job-*"):  # of a worker that was stopped mid-run (its jobs died with it)
            shutil.rmtree(leftover, ignore_errors=True)

    def running(self) -> int:
        return sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))

    # --- serving ----------------------------------------------------------------------------

    async def serve(self, bind: str, *, certfile: str | None = None, keyfile: str | None = None,
                    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        from hypercorn.config import Config
        from hypercorn.trio import serve

        config = Config()
        config.bind = [bind]
        config.accesslog = None
        if certfile and keyfile:
            config.certfile, config.keyfile = certfile, keyfile
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._expire_results)
            binds = await nursery.start(serve, Signed(self.app(), self.verifier), config)
            task_status.started(list(binds))
            await trio.sleep_forever()
        raise AssertionError("unreachable")

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/health", self.health, methods=["GET"]),
            Route("/submit", self.submit, methods=["POST"]),
            Route("/status/{job_id}", self.status, methods=["GET"]),
            Route("/outputs/{job_id}/{path:path}", self.output, methods=["GET"]),
            Route("/cancel/{job_id}", self.cancel, methods=["POST"]),
            Route("/drain", self.drain, methods=["POST"]),
            Route("/pow", self.pow, methods=["POST"]),
        ])

    async def health(self, request: Request) -> Response:
        challenge = request.query_params.get("challenge", "")
        if not 16 <= len(challenge) <= 128:
            return _error(400, "challenge: a fresh random string of 16 to 128 characters is required")
        fields = {"status": "draining" if self.draining else "healthy", "worker_id": self.id, "time": time.time(),
                  "challenge": challenge, "isolation": list(self.sandbox.names), "sandbox": self.sandbox.mode,
                  "capacity": {"cores": os.cpu_count() or 1, "memory_bytes": _memory_bytes(), "slots": self.slots,
                               "free_slots": max(0, self.slots - self.running())}}
        return JSONResponse(sign_fields(self.key, fields))

    async def submit(self, request: Request) -> Response:
        if self.draining:
            return _error(503, "this worker is draining: it takes no new jobs")
        if self.running() >= self.slots:
            return _error(429, f"all {self.slots} slots are busy")
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_BODY) as form:
            files, raw_manifest = form.get("files"), form.get("manifest")
            if files is None or isinstance(files, str):
                return _error(400, "files: a tarball (multipart file field `files`) is required")
            if not isinstance(raw_manifest, str):
                return _error(400, "manifest: a JSON field `manifest` is required")
            archive = await files.read()
        job_id = f"job-{secrets.token_hex(8)}"
        try:
            manifest = parse_manifest(raw_manifest)
            manifest.fit(self.limits)
            self.sandbox.program(manifest)
            names = await trio.to_thread.run_sync(check_archive, archive, self.limits)
            if str(PurePosixPath(manifest.entrypoint)) not in names:
                raise Refused(f"entrypoint: {manifest.entrypoint!r} is not a file in the archive")
        except Refused as exc:
            return _error(400, str(exc))
        base = self.work_dir / job_id
        base.mkdir(mode=0o700)
        (base / "outputs").mkdir(mode=0o700)
        job = RemoteJob(job_id, manifest, time.time())
        self.jobs[job_id] = job
        assert self._nursery is not None
        self._nursery.start_soon(self._run, job, base, archive)
        return JSONResponse({"job_id": job_id, "status": "queued", "files": len(names)}, status_code=202)

    async def _run(self, job: RemoteJob, base: Path, archive: bytes) -> None:
        job.state, job.started_at = "running", time.time()
        try:
            job.result = await run(self.sandbox, lambda dest: unpack(archive, dest, self.limits), job.manifest,
                                   self.limits, base / "outputs", job.cancel)
            job.state = job.result.state
        except (OSError, SandboxError) as exc:
            job.state, job.error = "failed", f"the worker could not run it: {exc}"
        except Exception as exc:  # one job's trouble never stops the worker (or its other jobs)
            log.exception("job %s: the sandbox failed", job.id)
            job.state, job.error = "failed", f"the worker could not run it: {type(exc).__name__}: {exc}"
        job.completed_at = time.time()
        job.done.set()

    async def status(self, request: Request) -> Response:
        """``?wait=S``: answer once the job is final or after S seconds (at most 30), whichever
        comes first — the coordinator learns of the end at once instead of polling."""
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return _error(404, "no such job")
        try:
            wait = min(30.0, max(0.0, float(request.query_params.get("wait", "0"))))
        except ValueError:
            return _error(400, "wait: seconds, a number")
        with trio.move_on_after(wait):
            await job.done.wait()
        return JSONResponse(job.public())

    async def output(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        path = request.path_params["path"]
        if job is None or job.result is None or path not in job.result.outputs:
            return _error(404, "no such output (only declared outputs of a finished job)")
        return FileResponse(self.work_dir / job.id / "outputs" / path)

    async def cancel(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return _error(404, "no such job")
        job.cancel.set()
        return JSONResponse({"job_id": job.id, "status": job.state, "cancel_requested": True})

    async def drain(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        self.draining = bool(body.get("draining", True)) if isinstance(body, dict) else True
        return JSONResponse({"draining": self.draining, "running": self.running()})

    async def pow(self, request: Request) -> Response:
        try:
            work = msgspec.json.decode(await request.body(), type=PowRange)
            search = _pow_search(work)
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError, KeyError) as exc:
            return _error(400, f"pow: {exc}")
        began = time.monotonic()
        result = await trio.to_thread.run_sync(search, work.start, work.count, work.target)
        return JSONResponse(sign_fields(self.key, {
            "worker_id": self.id, "algorithm": work.algorithm, "start": work.start, "hashes": result.hashes,
            "best_nonce": result.best_nonce, "best_zeros": result.best_zeros, "found": result.found,
            "seconds": round(time.monotonic() - began, 4)}))

    async def _expire_results(self) -> NoReturn:
        while True:
            await trio.sleep(60)
            now = time.time()
            for job in [j for j in self.jobs.values() if j.completed_at and now - j.completed_at > RESULT_TTL]:
                shutil.rmtree(self.work_dir / job.id, ignore_errors=True)
                del self.jobs[job.id]


def _pow_search(work: PowRange) -> Any:
    """The kernel call for a range (the engine's own PoW code: one implementation)."""
    from engine.pow.hashcash import HashcashWork
    from engine.pow.kale import KaleWork, parse_entropy, parse_farmer
    from engine.pow.structs import StructsWork

    p = work.params
    job: Any
    if work.algorithm == "kale":
        job = KaleWork(int(p["index"]), parse_entropy(p["entropy"]), parse_farmer(p["farmer"]))
    elif work.algorithm == "structs":
        job = StructsWork(str(p["prefix"]).encode())
    elif work.algorithm == "hashcash":
        job = HashcashWork(str(p["prefix"]).encode())
    else:
        raise ValueError(f"unknown algorithm {work.algorithm!r} (kale, structs, hashcash)")
    if not 0 <= work.start < 2**64 or not 0 < work.count <= 2**32:
        raise ValueError("start must fit in u64 and count in (0, 2**32]")
    return lambda start, count, target: job.search(start, count, target)


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Signed:
    """ASGI wrapper: every request is read (up to ``MAX_BODY``), its signature checked, then
    handed on with the body replayed. Refusals are 401 (unsigned, wrong key, replay, bad
    signature) or 413."""

    def __init__(self, app: Any, verifier: RequestVerifier) -> None:
        self.app, self.verifier = app, verifier

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await JSONResponse({"error": f"body over {MAX_BODY} bytes"}, status_code=413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
        try:
            self.verifier.check(scope["method"], target, headers, body)
        except ProtocolError as exc:
            await JSONResponse({"error": str(exc)}, status_code=401)(scope, receive, send)
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
