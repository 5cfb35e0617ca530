"""The PoW runtime: N hashing slots (one thread each, by default one per core) shared by every
PoW job of the engine.

Each slot loops: pick the highest-priority job that still wants work (round-robin among equals),
take the next nonce range from it, run the nogil kernel on that range in a worker thread,
report back. A job's nonce space is therefore split across all slots, and a higher-priority
job takes over at the next batch boundary. Batches are sized to ``batch_seconds`` (~50 ms), so
a cancel or the e-stop leaves every thread idle within one batch: the slots check the job's
stop flag and the runtime's e-stop flag between batches; threads are never interrupted.

Resource handling: :meth:`PowRuntime.run` owns the slots; it first warms the kernels (state
``compiling``: loading numba's cache, or compiling on a cold cache) and never returns.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, NoReturn, Protocol

import trio

from engine.heap import settle_heap
from engine.pow._result import SearchResult, VerificationError
from engine.schema import Worker

WINDOWS = {"10s": 10, "60s": 60, "15m": 900}


class BatchResult(Protocol):
    """What a kernel batch reports (e.g. :class:`engine.pow.kale.SearchResult`)."""

    @property
    def hashes(self) -> int: ...
    @property
    def best_nonce(self) -> int | None: ...
    @property
    def best_zeros(self) -> int: ...
    @property
    def found(self) -> bool: ...


Search = Callable[[int, int, int, int], BatchResult]  # (start, count, target, best_zeros)
#: what a remote worker needs to hash a job: the algorithm and its inputs (``kale``: index,
#: entropy, farmer; ``structs``/``hashcash``: the message prefix)
RemoteWork = tuple[str, dict[str, Any]]
REMOTE_RANGE_SECONDS = 0.25


class RemoteHashFailed(Exception):
    """A remote hasher could not hash a range (unreachable, refused, malformed answer)."""


class RemoteHasher(Protocol):
    """A remote worker that hashes ranges for this runtime (the trusted pool's workers)."""

    name: str

    def available(self) -> bool: ...

    async def hash(self, work: RemoteWork, start: int, count: int, target: int) -> BatchResult: ...

    def refuse(self, why: str) -> None:
        """Its answer did not verify: use it no more (until an operator looks)."""


class Meter:
    """Hashes per second over sliding windows (10 s, 60 s, 15 min), in one-second buckets."""

    def __init__(self) -> None:
        self._buckets: deque[list[float]] = deque()  # [second, hashes]
        self.total = 0
        self.started = time.monotonic()

    def add(self, hashes: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += hashes
        else:
            self._buckets.append([second, hashes])
            while self._buckets[0][0] <= second - 900:
                self._buckets.popleft()
        self.total += hashes

    def rates(self, now: float | None = None) -> dict[str, float]:
        now = time.monotonic() if now is None else now
        out = {}
        for name, window in WINDOWS.items():
            span = min(window, max(now - self.started, 1.0))
            hashes = sum(h for s, h in self._buckets if s > now - window)
            out[name] = round(hashes / span, 1)
        return out


class PowJob:
    """One job's search: its nonce counter, best so far, and how to run a batch of it."""

    def __init__(self, job_id: str, priority: int, search: Search, *, target: int, start: int = 0,
                 end: int = 2**64, expected: float | None = None, cancel: threading.Event | None = None,
                 remote: RemoteWork | None = None, verify: Callable[[int, int], object] | None = None) -> None:
        self.job_id = job_id
        self.remote = remote  # set: remote hashers may take ranges of it (their best is re-verified)
        self.verify = verify  # raises if (nonce, zeros) is not true
        self.priority = priority
        self.search = search
        self.target = target
        self.next_nonce = start
        self.end = end
        self.expected = expected  # hashes expected to reach the target (for the ETA)
        self.best_zeros = -1
        self.best_nonce: int | None = None
        self.meter = Meter()
        self.stop = threading.Event()  # set when its solve() ends: take no more batches of this search
        self.cancel = cancel  # the attempt's stop flag (cancel, e-stop, shutdown): read, never set here —
        # a handler runs several searches in one attempt (KALE resubmits with more zeros)
        self.finished = trio.Event()  # found, or the nonce space is exhausted
        self.in_flight = 0
        self.last_served = 0.0

    @property
    def hashes(self) -> int:
        return self.meter.total

    def wants_work(self) -> bool:
        return not self.stop.is_set() and not (self.cancel is not None and self.cancel.is_set()) \
            and not self.finished.is_set() and self.next_nonce < self.end

    def take(self, count: int) -> tuple[int, int]:
        start = self.next_nonce
        count = min(count, self.end - start)
        self.next_nonce = start + count
        self.in_flight += 1
        return start, count

    def apply(self, result: BatchResult) -> None:
        self.in_flight -= 1
        self.meter.add(result.hashes)
        if result.best_nonce is not None and result.best_zeros > self.best_zeros:
            self.best_zeros, self.best_nonce = result.best_zeros, result.best_nonce
        if result.found or (self.next_nonce >= self.end and self.in_flight == 0):
            self.finished.set()

    def progress(self) -> dict[str, Any]:
        rates = self.meter.rates()
        rate = rates["10s"] or rates["60s"]
        eta = None
        if self.expected and rate:
            eta = round(max(0.0, self.expected - self.hashes) / rate, 1)
        return {"hashes": self.hashes, "hashrate": rates, "best_zeros": max(self.best_zeros, 0),
                "target_zeros": self.target, "expected_hashes": self.expected, "eta_s": eta}


class _Slot:
    def __init__(self, n: int) -> None:
        self.n = n
        self.state = "starting"
        self.job_id: str | None = None
        self.meter = Meter()
        self.heartbeat: float | None = None
        self.began: float | None = None  # when the batch in flight started (wall clock)


def cuda_available() -> bool:
    """Whether numba.cuda finds a CUDA device (the simulator counts: tests run under it)."""
    from engine.pow._target import configure

    configure()
    from numba import cuda

    return bool(cuda.is_available())


class PowRuntime:
    def __init__(self, pool: str, threads: int = 0, batch_seconds: float = 0.05,
                 warmup: Callable[[], object] | None = None, device: str = "cpu") -> None:
        self.pool = pool
        self.device = device  # "cuda": one slot drives the GPU (KALE jobs hash there)
        self.threads = 1 if device == "cuda" else threads or os.cpu_count() or 1
        self.batch_seconds = batch_seconds
        self._warmup = warmup
        self._limiter = trio.CapacityLimiter(self.threads)
        self._jobs: list[PowJob] = []
        self._work = trio.Event()
        self._slots = [_Slot(n) for n in range(self.threads)]
        self._warm = False
        self._warming = trio.Lock()
        self.meter = Meter()
        self._remote: list[tuple[RemoteHasher, Meter]] = []

    def add_remote(self, hasher: RemoteHasher) -> None:
        """Let ``hasher`` take ranges of this runtime's remote-capable jobs (call before run)."""
        self._remote.append((hasher, Meter()))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        async with trio.open_nursery() as nursery:
            for slot in self._slots:
                slot.state = "idle"
                nursery.start_soon(self._serve, slot)
            for hasher, meter in self._remote:
                nursery.start_soon(self._serve_remote, hasher, meter)
            task_status.started()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ensure_warm(self) -> None:
        """Load (or, on a cold cache, compile) the kernels once, before the first batch."""
        async with self._warming:
            if self._warm:
                return
            for slot in self._slots:
                slot.state = "compiling"
            try:
                if self._warmup is not None:
                    await trio.to_thread.run_sync(self._warmup)
                    settle_heap()  # the kernels' objects live as long as the process
            finally:
                for slot in self._slots:
                    slot.state = "idle"
            self._warm = True

    async def solve(self, job: PowJob, *, on_progress: Callable[[dict[str, Any]], None] | None = None,
                    report_every: float = 1.0) -> None:
        """Hash ``job`` until it is finished (found or exhausted). Cancel to stop: slots take no
        more batches of it, and those in flight end within one batch."""
        self._jobs.append(job)
        self._work.set()
        try:
            while not job.finished.is_set():
                with trio.move_on_after(report_every):
                    await job.finished.wait()
                if on_progress is not None:
                    on_progress(job.progress())
        finally:
            job.stop.set()
            self._jobs.remove(job)
            if on_progress is not None:
                on_progress(job.progress())

    def _pick(self, remote: bool = False) -> PowJob | None:
        candidates = [j for j in self._jobs if j.wants_work() and (not remote or j.remote is not None)]
        if not candidates:
            return None
        return min(candidates, key=lambda j: (-j.priority, j.last_served))

    async def _serve(self, slot: _Slot) -> NoReturn:
        count = 1 << 16  # first batch; then sized to batch_seconds
        while True:
            job = self._pick()
            if job is None:
                slot.state, slot.job_id = "idle", None
                self._work = trio.Event() if self._work.is_set() else self._work
                await self._work.wait()
                continue
            if not self._warm:
                await self._ensure_warm()
                continue
            slot.state, slot.job_id = "hashing", job.job_id
            job.last_served = time.monotonic()
            start, n = job.take(count)
            began = time.monotonic()
            slot.began = time.time()
            result = await trio.to_thread.run_sync(job.search, start, n, job.target, job.best_zeros,
                                                   limiter=self._limiter)
            took = max(time.monotonic() - began, 1e-6)
            job.apply(result)
            slot.meter.add(result.hashes)
            self.meter.add(result.hashes)
            slot.heartbeat = time.time()
            count = max(1 << 10, min(1 << 26, int(result.hashes * self.batch_seconds / took)))

    async def _serve_remote(self, hasher: RemoteHasher, meter: Meter) -> NoReturn:
        """Ranges sized to ``REMOTE_RANGE_SECONDS`` of the hasher's measured rate (a round trip
        per range: a few ms on a LAN; short ranges lose little when a job ends mid-range); the
        best hash of every answer is recomputed here before it counts."""
        count = 1 << 18
        while True:
            job = self._pick(remote=True) if hasher.available() else None
            if job is None or job.remote is None:
                with trio.move_on_after(1.0):
                    self._work = trio.Event() if self._work.is_set() else self._work
                    await self._work.wait()
                continue
            job.last_served = time.monotonic()
            start, n = job.take(count)
            began = time.monotonic()
            try:
                with trio.fail_after(max(10.0, 3 * n / max(meter.rates()["10s"], 1.0))):
                    result = await hasher.hash(job.remote, start, n, job.target)
            except (RemoteHashFailed, trio.TooSlowError):
                job.apply(SearchResult(0, None, -1, False))
                await trio.sleep(1.0)
                continue
            if result.best_nonce is not None and job.verify is not None:
                try:
                    job.verify(result.best_nonce, result.best_zeros)
                except VerificationError:
                    hasher.refuse(f"returned nonce {result.best_nonce} as {result.best_zeros} zeros; it is not")
                    job.apply(SearchResult(0, None, -1, False))
                    continue
            took = max(time.monotonic() - began, 1e-3)
            job.apply(result)
            meter.add(result.hashes)
            self.meter.add(result.hashes)
            count = max(1 << 16, min(1 << 30, int(result.hashes * REMOTE_RANGE_SECONDS / took)))

    def kick(self) -> None:
        """Wake idle slots (new job, e-stop released)."""
        self._work.set()

    def idle(self) -> bool:
        return all(slot.state != "hashing" for slot in self._slots)

    def workers(self, now: float | None = None) -> list[Worker]:
        """The pool's hashing as a whole (``<pool>/threads``), then each thread. A thread whose
        batch has not come back for much longer than a batch takes is ``degraded`` (``down``
        after a minute); a thread (or the pool) that is not hashing shows 0 H/s, not its last rate."""
        now = time.time() if now is None else now
        busy = [slot.job_id for slot in self._slots if slot.job_id]
        states = {slot.state for slot in self._slots}
        out = [Worker(
            id=f"{self.pool}/threads", pool=self.pool,
            state="compiling" if "compiling" in states else "hashing" if busy else "idle",
            running=len(busy), jobs=sorted(set(busy)),
            heartbeat_at=max((slot.heartbeat for slot in self._slots if slot.heartbeat), default=None),
            detail={"threads": self.threads, "hashes": self.meter.total,
                    "hashrate": self.meter.rates() if "hashing" in states else dict.fromkeys(WINDOWS, 0.0),
                    "jobs_waiting_for_threads": sum(1 for j in self._jobs if j.wants_work())},
        )]
        stuck_after = max(5.0, 100 * self.batch_seconds)
        for slot in self._slots:
            health: Literal["ok", "degraded", "down"] = "ok"
            reason = None
            quiet = now - (slot.heartbeat or slot.began or now)
            if slot.state == "hashing" and quiet > stuck_after:
                health = "down" if quiet > 60 else "degraded"
                reason = f"no batch back for {quiet:.0f} s (a batch takes ~{self.batch_seconds * 1000:.0f} ms)"
            rates = slot.meter.rates() if slot.state == "hashing" else dict.fromkeys(WINDOWS, 0.0)
            out.append(Worker(
                id=f"{self.pool}/thread-{slot.n}", pool=self.pool, state=slot.state, health=health, reason=reason,
                running=1 if slot.job_id else 0, jobs=[slot.job_id] if slot.job_id else [], heartbeat_at=slot.heartbeat,
                detail={"hashrate": rates, "hashes": slot.meter.total},
            ))
        for hasher, meter in self._remote:
            rates = meter.rates()
            out.append(Worker(id=f"{self.pool}/remote-{hasher.name[:12]}", pool=self.pool,
                              state="hashing" if rates["10s"] else "idle" if hasher.available() else "unavailable",
                              detail={"hashrate": rates, "hashes": meter.total, "remote_hasher": hasher.name}))
        if any(w.health != "ok" for w in out[1:]):
            out[0].health, out[0].reason = "degraded", "a thread is stuck"
        return out
