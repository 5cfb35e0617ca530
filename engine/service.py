"""The engine supervisor: wires store, scheduler, API and demo load into one Trio process, and
the operations the API exposes.

Start-up order: data-dir lock → database check and migration → Trio: writer, scheduler
(recovers jobs a previous process left running), API listeners. Nothing is served until every
service reported ready through ``task_status.started()``; an invalid config or unusable
database stops the engine before anything starts.

Shutdown (SIGTERM, SIGINT, ``POST /v1/shutdown``): stop claiming, give running jobs
``engine.grace_period`` seconds, interrupt the rest back into the queue, stop the API, flush
the writer, release the lock, remove the socket, exit 0.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import trio

from engine.chains import Heights
from engine.chains.evm import EvmChain
from engine.config import Settings, check_kinds, load_settings
from engine.errors import ConfigError, EngineLocked, Invalid, Rejected
from engine.events import Broker
from engine.ids import job_id
from engine.jobs import Registry, Services, default_registry
from engine.jobs.pow import warm_pow_kernels
from engine.pow.runtime import PowRuntime
from engine.scheduler import Scheduler
from engine.schema import (
    API_VERSION,
    AuditPage,
    BulkResult,
    JobFilter,
    JobSubmit,
    KindInfo,
    ReloadResult,
    Status,
    SubmitResponse,
    Worker,
)
from engine.stats import Stats
from engine.store import NewJob, Store, ops, queries

log = logging.getLogger("shiftboss.engine")
VERSION = "0.1.0"


class DataDirLock:
    """An exclusive ``flock`` on ``engine.pid`` for the engine's lifetime; the file holds the pid.

    hypercorn deletes an existing socket file before binding, so without this a second engine
    would silently steal the first one's socket.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode().strip() or "?"
            os.close(fd)
            raise EngineLocked(f"another engine (pid {other}) is already running on {self.path.parent}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None


class Engine:
    """One engine process. Construct with an opened :class:`Store`, then ``await run()``."""

    def __init__(self, settings: Settings, store: Store, registry: Registry | None = None, *,
                 config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.overrides = dict(overrides or {})
        self.store = store
        self.registry = registry or default_registry()
        check_kinds(settings, self.registry.names())
        self.stats = Stats(store.read_now(queries.state_counts))
        self.broker = Broker()
        store.writer.on_commit(self.stats.apply)
        store.writer.on_commit(self.broker.publish)
        self.services = Services(heights=Heights(store, store.read_now(queries.controls)),
                                 submit=lambda specs, actor: self.submit(specs, actor, batch=True))
        self.scheduler = Scheduler(store, self.registry, settings, self.stats, self.services)
        for pool in self._pow_pools():
            self.services.pow[pool] = PowRuntime(pool, settings.pools[pool].threads, warmup=warm_pow_kernels)
        for name, chain in settings.chains.items():
            self.services.evm[name] = EvmChain(
                name, chain, store, estop=lambda: self.scheduler.estop.active,
                submit=lambda jobs, name=name: self.submit(jobs, f"chain:{name}", batch=False),  # type: ignore[misc]
                emit=lambda type_, **data: self.store.write(ops.emit_only, type_, **data))
        self.started_at = time.time()
        self.binds: list[str] = []
        self.shutting_down = False
        self.early_signals: list[int] = []  # SIGTERM/SIGINT seen before the receiver was open
        self._shutdown = trio.Event()

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until shutdown is requested, then stop gracefully (see module docstring)."""
        from engine.api import serve_api  # the API imports this module's types

        # The signal receiver lives as long as the engine: a second SIGTERM/Ctrl-C during the
        # shutdown must hurry it along, not kill the process before the store is flushed.
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async with trio.open_nursery() as outer:
                await outer.start(self.store.run)
                outer.start_soon(self._signals, signals)
                if self.early_signals:
                    log.info("a stop signal arrived during start-up")
                    self.request_shutdown()
                async with trio.open_nursery() as services:
                    for runtime in self.services.pow.values():
                        await services.start(runtime.run)
                    for chain in self.services.evm.values():
                        await services.start(chain.run)
                    await services.start(self.scheduler.run)
                    self.binds = await services.start(serve_api, self)
                    if self.settings.demo.enabled:
                        from engine.demo import feed

                        services.start_soon(feed, self)
                    log.info("engine ready: %s", ", ".join(self.binds))
                    task_status.started(self.binds)
                    await self._shutdown.wait()
                    self.shutting_down = True
                    grace = self.settings.engine.grace_period
                    log.info("shutting down: running jobs get %.1f s (signal again to interrupt them now)", grace)
                    interrupted = await self.scheduler.shutdown(grace)
                    if interrupted:
                        log.info("interrupted %d jobs; they are back in the queue", interrupted)
                    services.cancel_scope.cancel()
                for chain in self.services.evm.values():
                    with trio.CancelScope(shield=True):
                        await chain.aclose()
                outer.cancel_scope.cancel()
        log.info("engine stopped")

    def _pow_pools(self) -> set[str]:
        """Pools that run PoW jobs: where pow.* kinds are routed, and any that names one."""
        kinds = [k for k in self.registry.names() if k.startswith("pow.")]
        pools = {self.scheduler.pool_for(k, None) for k in kinds}
        pools |= {name for name, p in self.settings.pools.items() if any(k.startswith("pow.") for k in p.kinds)}
        return pools

    def workers(self) -> list[Worker]:
        threads = [w for rt in self.services.pow.values() for w in rt.workers()]
        for w in threads:
            if w.state == "idle" and (self.scheduler.estop.active or self.scheduler.pools[w.pool].state == "stopped"):
                w.state = "stopped"
        return self.scheduler.workers() + threads

    def request_shutdown(self) -> None:
        self._shutdown.set()

    async def _signals(self, signals: Any) -> None:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                log.info("received %s: reloading the configuration", name)
                try:
                    await self.reload("SIGHUP", "")
                except Rejected as exc:
                    log.error("%s", exc.message)
            elif self.shutting_down:
                log.info("received %s again: interrupting running jobs now", name)
                self.scheduler.hurry()
            else:
                log.info("received %s", name)
                self.request_shutdown()

    async def reload(self, actor: str, reason: str) -> ReloadResult:
        """Re-read the configuration (same file, env and flags as at start). Keys that can change
        live are applied; others are reported as needing a restart. An invalid file changes
        nothing."""
        try:
            new = load_settings(self.config_path, overrides=self.overrides)
            check_kinds(new, self.registry.names())
        except ConfigError as exc:
            problems = [{"key": k, "reason": r} for k, r in exc.problems]
            first = "; ".join(f"{p['key']}: {p['reason']}" for p in problems[:3])
            raise Invalid(f"configuration not reloaded: {first}", code="invalid_config", details={"problems": problems}) from None
        old_values = _flatten(self.settings.model_dump(mode="json"))
        new_values = _flatten(new.model_dump(mode="json"))
        changed = sorted(k for k in old_values.keys() | new_values.keys() if old_values.get(k) != new_values.get(k))
        applied = [k for k in changed if _is_live(k, self.settings)]
        restart = [k for k in changed if k not in applied]
        merged = self.settings.model_dump()
        for key in applied:
            node = merged
            *parents, leaf = key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = _lookup(new.model_dump(), key)
        settings = Settings.model_validate(merged)
        await self.store.write(ops.audit_only, actor, "config-reload", "engine", reason,
                               {"applied": applied, "restart_needed": restart})
        self.settings = settings
        self.scheduler.apply_settings(settings)
        logging.getLogger("shiftboss").setLevel(settings.engine.log_level.upper())
        log.info("configuration reloaded: applied %s; needs a restart: %s", applied or "nothing", restart or "nothing")
        return ReloadResult(applied=applied, restart_needed=restart)

    # --- operations the API exposes ---------------------------------------------------------

    async def submit(self, specs: list[JobSubmit], actor: str, *, batch: bool) -> SubmitResponse:
        now = time.time()
        sched = self.settings.scheduler
        new: list[NewJob] = []
        for i, spec in enumerate(specs):
            if i % 500 == 499:
                await trio.lowlevel.checkpoint()  # a 10,000-job batch must not stall the event loop
            where = f"jobs[{i}]." if batch else ""
            kind = self.registry.get(spec.kind, field=f"{where}kind")
            _typed, canonical = self.registry.validate(spec.kind, spec.payload, field=f"{where}payload")
            pool = self.scheduler.pool_for(spec.kind, spec.pool, field=f"{where}pool")
            not_before = _one_of(spec.not_before, spec.delay, now, f"{where}not_before", f"{where}delay")
            deadline = _one_of(spec.deadline, spec.ttl, now, f"{where}deadline", f"{where}ttl")
            if deadline is not None and deadline <= now:
                raise Invalid(f"{where}deadline: already passed", field=f"{where}deadline")
            new.append(NewJob(
                id=job_id(spec.kind), kind=spec.kind, pool=pool, priority=spec.priority, payload=canonical,
                max_attempts=spec.max_attempts or kind.max_attempts or sched.default_max_attempts,
                timeout=spec.timeout or kind.timeout or sched.default_timeout,
                not_before=not_before, deadline=deadline, idempotency_key=spec.idempotency_key, backoff=spec.backoff,
            ))
        results = await self.store.write(ops.submit, new, actor)
        return SubmitResponse(jobs=results)

    async def cancel(self, job_id_: str, actor: str, reason: str) -> str:
        state = await self.store.write(ops.cancel, job_id_, actor, reason)
        if state == "cancelling":
            self.scheduler.signal_cancel(job_id_)
        return state

    async def retry(self, job_id_: str, actor: str, reason: str, deadline: float | None) -> str:
        if deadline is not None and deadline <= time.time():
            raise Invalid("deadline: already passed", field="deadline")
        return await self.store.write(ops.retry, job_id_, actor, reason, deadline)

    async def bulk(self, action: str, flt: JobFilter, dry_run: bool, actor: str, reason: str) -> BulkResult:
        matched, changed, signal_ids = await self.store.write(ops.bulk, action, flt, dry_run, actor, reason)
        for job in signal_ids:
            self.scheduler.signal_cancel(job)
        return BulkResult(action=action, matched=matched, changed=changed, dry_run=dry_run)

    async def audit(self, cursor: int | None, limit: int) -> AuditPage:
        records, next_cursor = await self.store.read(queries.audit_page, cursor, limit)
        return AuditPage(records=records, next_cursor=None if next_cursor is None else str(next_cursor))

    async def record(self, actor: str, action: str, target: str, reason: str = "", details: dict[str, Any] | None = None) -> None:
        await self.store.write(ops.audit_only, actor, action, target, reason, details)

    def status(self) -> Status:
        return Status(
            api_version=API_VERSION, version=VERSION, pid=os.getpid(), started_at=self.started_at,
            data_dir=str(self.settings.data_dir), database=str(self.store.path), synchronous=self.store.synchronous,
            estop=self.scheduler.estop, pools=self.scheduler.pool_views(), counts=self.stats.by_state(),
            last_seq=self.store.last_seq, shutting_down=self.shutting_down,
        )

    def kinds(self) -> list[KindInfo]:
        sched = self.settings.scheduler
        return [
            KindInfo(
                name=k.name, pool=self.scheduler.pool_for(k.name, None), description=k.description,
                max_attempts=k.max_attempts or sched.default_max_attempts, timeout=k.timeout or sched.default_timeout,
                payload_schema=k.payload_schema(),
            )
            for k in sorted(self.registry, key=lambda k: k.name)
        ]


_LIVE = ("engine.grace_period", "engine.log_level", "scheduler.", "demo.interval")


def _is_live(key: str, current: Settings) -> bool:
    """Whether a changed key takes effect without a restart. Pools can change their cap and
    kinds live; adding or removing a pool needs a restart."""
    if key.startswith("pools."):
        _, name, *rest = key.split(".")
        return name in current.pools and bool(rest) and rest[0] in ("concurrency", "kinds")
    return key.startswith(_LIVE)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _lookup(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _one_of(absolute: float | None, relative: float | None, now: float, abs_field: str, rel_field: str) -> float | None:
    if absolute is not None and relative is not None:
        raise Invalid(f"give {abs_field} or {rel_field}, not both", field=rel_field)
    if relative is not None:
        return now + relative
    return absolute


def run_engine(settings: Settings, config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
    """Run one engine process to completion: lock the data dir, open the store, serve until
    shutdown. Raises :class:`~engine.errors.EngineLocked` or
    :class:`~engine.errors.DatabaseUnusable` before anything starts."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(settings.pid_path).acquire()
    try:
        store = Store.open(settings.db_path, synchronous=settings.store.synchronous,
                           group_commit_max=settings.store.group_commit_max)
        engine = Engine(settings, store, config_path=config_path, overrides=overrides)
        # Outside the Trio signal receiver (start-up, final clean-up) SIGTERM/SIGINT are only
        # recorded: one that arrives early still stops the engine once it runs, and a late one
        # (GNU timeout signals the child and then its group) cannot kill it mid-clean-up.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: engine.early_signals.append(signum))
        trio.run(engine.run)
    finally:
        try:
            if settings.socket_path.is_socket():
                settings.socket_path.unlink()
        finally:
            lock.release()
