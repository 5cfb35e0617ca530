"""The coordinator of a trusted pool (``[pools.<name>] remote = true``): the allowlisted workers,
their signed health, and handing out slots.

* Every ``health_interval`` each worker is challenged (:meth:`WorkerClient.health`): healthy
  only if its answer is signed by its allowlisted key, names it, answers this challenge and is
  fresh. A worker that fails is excluded with the reason shown (``/v1/workers``: ``down``).
* :meth:`RemotePool.acquire` gives the healthy, undrained worker with the fewest active jobs
  under its limit (configured, or the slots its health answer reports), waiting while none is
  free; :meth:`release` gives the slot back.
* The coordinator's own key (``<data_dir>/coordinator.key``, 0600, made on first use) signs
  every request; workers are started with its id (``shiftboss worker run --coordinator ID``).

Job files (the tarballs of ``compute.run``) and fetched outputs live under the data dir
(:class:`FileStore`), addressed by their SHA-256.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import nacl.signing
import trio

from engine.config import PoolSettings, RemoteWorkerSettings
from engine.errors import ConfigError
from engine.pow._result import SearchResult
from engine.pow.runtime import RemoteHashFailed, RemoteWork
from engine.remote._client import WorkerClient, WorkerRefused
from engine.remote._protocol import ProtocolError, generate_key, load_key, worker_id
from engine.schema import Worker

log = logging.getLogger("shiftboss.pool")


def coordinator_key(path: Path) -> nacl.signing.SigningKey:
    """The engine's coordinator key at ``path``, made on first use."""
    try:
        return load_key(path)
    except FileNotFoundError:
        return generate_key(path)


def allowlist(name: str, settings: PoolSettings) -> list[RemoteWorkerSettings]:
    """The pool's workers: the config's, then the seed's ``workers.json`` (same fields)."""
    listed = list(settings.workers)
    if settings.workers_file is not None:
        where = f"pools.{name}.workers_file"
        try:
            raw = json.loads(Path(settings.workers_file).expanduser().read_text())
            listed += [RemoteWorkerSettings.model_validate(w) for w in raw]
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError([(where, f"{settings.workers_file}: {exc}")]) from None
    ids = [w.worker_id for w in listed]
    if len(set(ids)) != len(ids):
        raise ConfigError([(f"pools.{name}.workers", "a worker id is listed twice")])
    return listed


@dataclass
class RemoteWorker:
    id: str
    endpoint: str
    configured_max: int | None
    client: WorkerClient
    healthy: bool = False
    reason: str = "not checked yet"
    last_check: float | None = None
    latency_ms: float | None = None
    capacity: dict[str, Any] = field(default_factory=dict)
    isolation: list[str] = field(default_factory=list)
    reported_draining: bool = False
    drained: bool = False  # by the operator
    suspect: str = ""  # why it is not trusted any more (a PoW answer that did not verify)
    active: set[str] = field(default_factory=set)

    @property
    def limit(self) -> int:
        return self.configured_max or int(self.capacity.get("slots") or 1)

    def usable(self) -> bool:
        return self.healthy and not self.suspect and not self.reported_draining and not self.drained

    def available(self) -> bool:
        return self.usable() and len(self.active) < self.limit

    def public(self, pool: str) -> Worker:
        state = ("drained" if self.drained else "draining" if self.reported_draining else
                 "busy" if self.active else "idle") if self.healthy else "unreachable"
        health = "down" if not self.healthy else "degraded" if self.suspect else "ok"
        return Worker(id=f"{pool}/{self.id[:12]}", pool=pool, state=state, health=health,  # type: ignore[arg-type]
                      reason=self.suspect or (None if self.healthy else self.reason), running=len(self.active), jobs=sorted(self.active),
                      heartbeat_at=self.last_check,
                      detail={"worker_id": self.id, "endpoint": self.endpoint, "max_concurrent_jobs": self.limit,
                              "capacity": self.capacity, "isolation": self.isolation, "latency_ms": self.latency_ms,
                              "remote": True})


class RemotePool:
    def __init__(self, name: str, settings: PoolSettings, key: nacl.signing.SigningKey, files: FileStore) -> None:
        self.name, self.settings, self.key, self.files = name, settings, key, files
        verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=str(settings.tls_ca)) if settings.tls_ca else True
        self.workers = {w.worker_id: RemoteWorker(w.worker_id, w.endpoint, w.max_concurrent_jobs,
                                                  WorkerClient(key, w.endpoint, w.worker_id, verify=verify))
                        for w in allowlist(name, settings)}
        self._waiters: collections.deque[trio.Event] = collections.deque()  # acquire() callers, first come first

    @property
    def coordinator_id(self) -> str:
        return worker_id(self.key.verify_key)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        log.info("pool %s: coordinator %s, %d allowlisted worker(s)", self.name, self.coordinator_id, len(self.workers))
        await self.check_all()
        task_status.started()
        while True:
            await trio.sleep(self.settings.health_interval)
            await self.check_all()

    async def check_all(self) -> None:
        async with trio.open_nursery() as nursery:
            for worker in self.workers.values():
                nursery.start_soon(self.check, worker)
        self._poke()

    async def check(self, worker: RemoteWorker) -> None:
        began = time.monotonic()
        try:
            with trio.fail_after(10):
                health = await worker.client.health()
        except (ProtocolError, WorkerRefused, httpx.HTTPError, trio.TooSlowError) as exc:
            why = "no answer within 10 s" if isinstance(exc, trio.TooSlowError) else str(exc) or type(exc).__name__
            if worker.healthy or worker.reason != why:
                log.warning("pool %s: worker %s… is unhealthy: %s", self.name, worker.id[:12], why)
            worker.healthy, worker.reason = False, why
        else:
            if not worker.healthy:
                log.info("pool %s: worker %s… at %s is healthy (%s)", self.name, worker.id[:12], worker.endpoint,
                         ", ".join(health.get("isolation", [])))
            worker.healthy, worker.reason = True, ""
            worker.capacity = dict(health.get("capacity") or {})
            isolation = list(health.get("isolation") or [])
            if isolation != worker.isolation and any(str(n).startswith("none") for n in isolation):
                log.warning("pool %s: worker %s… runs jobs UNISOLATED (sandbox = none)", self.name, worker.id[:12])
            worker.isolation = isolation
            worker.reported_draining = health.get("status") == "draining"
            worker.latency_ms = round((time.monotonic() - began) * 1000, 1)
        worker.last_check = time.time()

    def mark_down(self, worker: RemoteWorker, why: str) -> None:
        """A request to the worker failed: exclude it until its next good health check."""
        if worker.healthy:
            log.warning("pool %s: worker %s… excluded: %s", self.name, worker.id[:12], why)
        worker.healthy, worker.reason = False, why
        self._poke()

    async def acquire(self, job_id: str, exclude: set[str] | None = None) -> RemoteWorker:
        """A slot on the free worker with the fewest active jobs; waits while there is none
        (first come, first served: a freed slot wakes one waiter, not all of them)."""
        exclude = exclude or set()
        while True:
            free = [w for w in self.workers.values() if w.available() and w.id not in exclude]
            if free:
                worker = min(free, key=lambda w: (len(w.active) / w.limit, len(w.active)))
                worker.active.add(job_id)
                return worker
            waiter = trio.Event()
            self._waiters.append(waiter)
            try:
                with trio.move_on_after(1.0):
                    await waiter.wait()
            finally:
                if not waiter.is_set():
                    self._waiters.remove(waiter)

    def release(self, worker: RemoteWorker, job_id: str) -> None:
        worker.active.discard(job_id)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.is_set():
                waiter.set()
                break

    def hashers(self) -> list[WorkerHasher]:
        """One remote hasher per worker, for the PoW runtimes that hash on this pool."""
        return [WorkerHasher(self, w) for w in self.workers.values()]

    def candidates(self, exclude: set[str]) -> int:
        """Healthy workers not in ``exclude`` (whether free or not)."""
        return sum(1 for w in self.workers.values() if w.healthy and not w.drained and w.id not in exclude)

    def _poke(self) -> None:
        """Health changed: every waiter looks again."""
        while self._waiters:
            self._waiters.popleft().set()

    def status(self) -> list[Worker]:
        return [w.public(self.name) for w in self.workers.values()]

    async def aclose(self) -> None:
        for worker in self.workers.values():
            await worker.client.aclose()


class FileStore:
    """Job tarballs and fetched outputs under the data dir, by SHA-256 (written atomically)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "files").mkdir(parents=True, exist_ok=True, mode=0o700)
        (root / "outputs").mkdir(parents=True, exist_ok=True, mode=0o700)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / "files" / digest
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    def get(self, digest: str) -> bytes | None:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return None
        path = self.root / "files" / digest
        return path.read_bytes() if path.exists() else None

    def output_path(self, job_id: str, name: str) -> Path | None:
        """Where a job's fetched output ``name`` is (None if it is not one, or outside)."""
        base = (self.root / "outputs" / job_id).resolve()
        path = (base / name).resolve()
        return path if path.is_relative_to(base) and path.is_file() else None

    def save_output(self, job_id: str, name: str, data: bytes) -> None:
        base = (self.root / "outputs" / job_id).resolve()
        path = (base / name).resolve()
        if not path.is_relative_to(base):
            raise ValueError(f"output {name!r} is outside the job's folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class WorkerHasher:
    """A worker as a PoW runtime's remote hasher (:class:`engine.pow.runtime.RemoteHasher`)."""

    def __init__(self, pool: RemotePool, worker: RemoteWorker) -> None:
        self.pool, self.worker = pool, worker
        self.name = worker.id

    def available(self) -> bool:
        return self.worker.usable()

    async def hash(self, work: RemoteWork, start: int, count: int, target: int) -> SearchResult:
        algorithm, params = work
        try:
            answer = await self.worker.client.pow(algorithm, start, count, target, params)
            return SearchResult(int(answer["hashes"]), None if answer["best_nonce"] is None else int(answer["best_nonce"]),
                                int(answer["best_zeros"]), bool(answer["found"]))
        except (WorkerRefused, httpx.HTTPError, ProtocolError, KeyError, TypeError, ValueError) as exc:
            self.pool.mark_down(self.worker, f"PoW range failed: {exc or type(exc).__name__}")
            raise RemoteHashFailed(str(exc)) from None

    def refuse(self, why: str) -> None:
        log.error("pool %s: worker %s… is no longer trusted: %s", self.pool.name, self.worker.id[:12], why)
        self.worker.suspect = why
