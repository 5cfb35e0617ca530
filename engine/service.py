"""The one operations facade: everything the control API, ``/metrics`` and the CLI can ask of a
running engine — jobs, e-stop, pools, chains, workers, audit, events, reload, shutdown.

Nothing above this module reaches past it into the store, the scheduler or the chain adapters;
it holds them (the supervisor builds and runs them) and answers with :mod:`engine.schema` types.
Refusals are domain errors (:class:`~engine.errors.Rejected` and its family); the API maps them
to statuses.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from engine.chains import ChainAdapter
from engine.chains.soroban import KaleFarm
from engine.config import Settings, check_kinds, load_settings
from engine.errors import ConfigError, Invalid
from engine.events import Broker, stream
from engine.ids import job_id
from engine.jobs import Registry, Services
from engine.jobs.cloudmesh import CloudMesh
from engine.remote._coordinator import RemotePool
from engine.scheduler import Scheduler
from engine.schema import (
    API_VERSION,
    AuditPage,
    BulkResult,
    Chain,
    EstopResult,
    Event,
    JobDetail,
    JobFilter,
    JobPage,
    JobState,
    JobSubmit,
    KindInfo,
    Pool,
    ReloadResult,
    Status,
    StoreHealth,
    SubmitResponse,
    Worker,
)
from engine.stats import Stats
from engine.store import NewJob, Store, ops, queries

log = logging.getLogger("shiftboss.engine")
VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class StoreCounters:
    """The writer's totals since start, for ``/metrics``."""

    commits: int
    ops: int
    last_seq: int


class Service:
    """Operations on one running engine. Built by :class:`engine.supervisor.Supervisor`."""

    def __init__(self, settings: Settings, store: Store, registry: Registry, scheduler: Scheduler,
                 services: Services, stats: Stats, broker: Broker, chains: Sequence[ChainAdapter], *,
                 config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.overrides = dict(overrides or {})
        self._store = store
        self._registry = registry
        self._scheduler = scheduler
        self._services = services
        self._stats = stats
        self._broker = broker
        self._chains = list(chains)
        self.started_at = store.clock()
        self._shutdown = trio.Event()

    @property
    def kale(self) -> KaleFarm | None:
        """The KALE farm, when ``[kale]`` is configured."""
        return self._services.kale

    @property
    def cloudmesh(self) -> CloudMesh | None:
        """The CloudMesh worker, when ``[cloudmesh]`` is configured."""
        return self._services.cloudmesh

    def remote_pools(self) -> dict[str, RemotePool]:
        """The trusted pools (``remote = true``) by name."""
        return self._services.remote

    def kale_pool(self) -> str:
        """The pool KALE work hashes in."""
        return self._scheduler.pool_for("kale.work", None)

    # --- jobs -------------------------------------------------------------------------------

    async def submit(self, specs: list[JobSubmit], actor: str, *, batch: bool) -> SubmitResponse:
        """Validate every spec (kind, payload, pool, times), then insert them in one commit.
        Any invalid spec rejects the whole request and changes nothing."""
        now = self._store.clock()
        sched = self.settings.scheduler
        new: list[NewJob] = []
        for i, spec in enumerate(specs):
            if i % 500 == 499:
                await trio.lowlevel.checkpoint()  # a 10,000-job batch must not stall the event loop
            where = f"jobs[{i}]." if batch else ""
            kind = self._registry.get(spec.kind, field=f"{where}kind")
            typed, canonical = self._registry.validate(spec.kind, spec.payload, field=f"{where}payload")
            if kind.admit is not None:
                await kind.admit(self._services, typed, f"{where}payload")
            pool = self._scheduler.pool_for(spec.kind, spec.pool, field=f"{where}pool")
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
        results = await self._store.write(ops.submit, new, actor)
        return SubmitResponse(jobs=results)

    async def list_jobs(self, flt: JobFilter, cursor: int | None, limit: int, *, count: bool, sort: str,
                        offset: int) -> JobPage:
        jobs, next_cursor, total = await self._store.read(
            queries.list_jobs, flt, cursor, limit, count=count, sort=sort, offset=offset)
        return JobPage(jobs=jobs, next_cursor=None if next_cursor is None else str(next_cursor), total=total)

    async def job_detail(self, job_id_: str) -> JobDetail:
        job = await self._store.read(queries.get_job, job_id_)
        audit = await self._store.read(queries.job_audit, job_id_)
        return JobDetail(job=job, audit=audit)

    async def cancel(self, job_id_: str, actor: str, reason: str) -> JobState:
        state = await self._store.write(ops.cancel, job_id_, actor, reason)
        if state == "cancelling":
            self._scheduler.signal_cancel(job_id_)
        return state

    async def retry(self, job_id_: str, actor: str, reason: str, deadline: float | None) -> JobState:
        if deadline is not None and deadline <= self._store.clock():
            raise Invalid("deadline: already passed", field="deadline")
        return await self._store.write(ops.retry, job_id_, actor, reason, deadline)

    async def bulk(self, action: str, flt: JobFilter, dry_run: bool, actor: str, reason: str) -> BulkResult:
        matched, changed, signal_ids = await self._store.write(ops.bulk, action, flt, dry_run, actor, reason)
        for job in signal_ids:
            self._scheduler.signal_cancel(job)
        return BulkResult(action=action, matched=matched, changed=changed, dry_run=dry_run)

    def kinds(self) -> list[KindInfo]:
        sched = self.settings.scheduler
        return [
            KindInfo(
                name=k.name, pool=self._scheduler.pool_for(k.name, None), description=k.description,
                max_attempts=k.max_attempts or sched.default_max_attempts, timeout=k.timeout or sched.default_timeout,
                payload_schema=k.payload_schema(),
            )
            for k in sorted(self._registry, key=lambda k: k.name)
        ]

    # --- e-stop and pools -------------------------------------------------------------------

    @property
    def estop_active(self) -> bool:
        return self._scheduler.estop.active

    async def estop(self, actor: str, reason: str, pool: str | None = None) -> EstopResult:
        interrupted = await self._scheduler.engage_estop(actor, reason, pool)
        return EstopResult(estop=self._scheduler.estop_view(), pools=self.pools(), interrupted=interrupted)

    async def resume(self, actor: str, reason: str, pool: str | None = None) -> EstopResult:
        await self._scheduler.release_estop(actor, reason, pool)
        return EstopResult(estop=self._scheduler.estop_view(), pools=self.pools())

    def pools(self) -> list[Pool]:
        return self._scheduler.pool_views()

    async def pool_action(self, name: str, action: str, actor: str, reason: str) -> Pool:
        return await self._scheduler.pool_action(name, action, actor, reason)

    async def engines(self) -> list[Worker]:
        """The engines sharing the store (on PostgreSQL, several): running, stopped, or silent —
        heart-beat older than a lease, so the others reap its jobs."""
        now, ttl = self._store.clock(), self.settings.store.lease_ttl
        out = []
        for e in await self._store.read(queries.engines, now):
            if e["stopped_at"] is not None and now - e["stopped_at"] > 3600:
                continue  # stopped over an hour ago: history, not health
            silent = e["stopped_at"] is None and now - e["heartbeat_at"] > ttl
            state = "stopped" if e["stopped_at"] is not None else "silent" if silent else "running"
            out.append(Worker(id=e["id"], pool="(engine)", state=state,
                              health="down" if silent else "ok", reason="no heartbeat for over a lease" if silent else None,
                              heartbeat_at=e["heartbeat_at"],
                              detail={"host": e["host"], "pid": e["pid"], "schema": e["version"],
                                      "started_at": e["started_at"], "this": e["id"] == self._scheduler.owner,
                                      "services": e["services"]}))
        return out

    def workers(self) -> list[Worker]:
        """Pool dispatchers, then every PoW thread (idle threads of a stopped pool show stopped)."""
        threads = [w for rt in self._services.pow.values() for w in rt.workers()]
        for w in threads:
            if w.state == "idle" and (self._scheduler.estop.active or self._scheduler.pools[w.pool].state == "stopped"):
                w.state = "stopped"
        remote = [w for pool in self._services.remote.values() for w in pool.status()]
        return self._scheduler.workers() + threads + remote

    # --- chains -----------------------------------------------------------------------------

    async def chains(self) -> list[Chain]:
        """Every chain adapter's view, in config order (hand-set heights first)."""
        return [view for adapter in self._chains for view in await adapter.status()]

    async def set_height(self, chain: str, height: int, actor: str, reason: str) -> list[str]:
        """The manual height source: record ``chain`` at ``height``; returns the jobs it queued."""
        return await self._services.heights.set(chain, height, actor, reason)

    # --- audit and events -------------------------------------------------------------------

    async def audit(self, cursor: int | None, limit: int, *, actions: list[str] | None = None,
                    actor: str | None = None, operator: bool = False) -> AuditPage:
        records, next_cursor = await self._store.read(queries.audit_page, cursor, limit, actions=actions, actor=actor,
                                                      operator=operator)
        return AuditPage(records=records, next_cursor=None if next_cursor is None else str(next_cursor))

    async def record(self, actor: str, action: str, target: str, reason: str = "",
                     details: dict[str, Any] | None = None) -> None:
        await self._store.write(ops.audit_only, actor, action, target, reason, details)

    @property
    def last_seq(self) -> int:
        return self._store.last_seq

    def events(self, since: int | None, job: str | None = None,
               database: str | None = None) -> AsyncGenerator[Event, None]:
        """Every event after ``since`` (default: from now on), then live ones; see
        :func:`engine.events.stream`. Close it (``aclosing``) when done."""
        return stream(self._store, self._broker, self._store.last_seq if since is None else since, job=job,
                      database=database)

    # --- status and metrics -----------------------------------------------------------------

    def status(self) -> Status:
        return Status(
            api_version=API_VERSION, version=VERSION, pid=os.getpid(), started_at=self.started_at,
            data_dir=str(self.settings.data_dir), database=str(self._store.path),
            synchronous=self._store.synchronous, estop=self._scheduler.estop_view(), pools=self.pools(),
            counts=self._stats.by_state(), last_seq=self._store.last_seq, shutting_down=self.shutting_down,
            store=self.store_health(), database_id=self._store.database_id,
        )

    def store_health(self) -> StoreHealth:
        writer = self._store.writer
        return StoreHealth(writable=writer.failing_since is None, error=writer.last_error, since=writer.failing_since,
                           write_failures=writer.failures)

    def pool_count(self, pool: str, state: str) -> int:
        return self._stats.pool_count(pool, state)

    def transitions(self) -> dict[tuple[str, str], int]:
        """Job state changes since start by (pool, new state)."""
        return dict(self._stats.transitions)

    def store_counters(self) -> StoreCounters:
        writer = self._store.writer
        return StoreCounters(commits=writer.batches, ops=writer.ops, last_seq=self._store.last_seq)

    @property
    def event_subscribers(self) -> int:
        return len(self._broker)

    # --- configuration and lifecycle --------------------------------------------------------

    async def reload(self, actor: str, reason: str) -> ReloadResult:
        """Re-read the configuration (same file, env and flags as at start). Keys that can change
        live are applied; others are reported as needing a restart. An invalid file changes
        nothing."""
        try:
            new = load_settings(self.config_path, overrides=self.overrides)
            check_kinds(new, self._registry.names())
        except ConfigError as exc:
            problems = [{"key": k, "reason": r} for k, r in exc.problems]
            first = "; ".join(f"{p['key']}: {p['reason']}" for p in problems[:3])
            raise Invalid(f"configuration not reloaded: {first}", code="invalid_config",
                          details={"problems": problems}) from None
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
        await self._store.write(ops.audit_only, actor, "config-reload", "engine", reason,
                                {"applied": applied, "restart_needed": restart})
        self.settings = settings
        self._scheduler.apply_settings(settings)
        logging.getLogger("shiftboss").setLevel(settings.engine.log_level.upper())
        log.info("configuration reloaded: applied %s; needs a restart: %s", applied or "nothing", restart or "nothing")
        return ReloadResult(applied=applied, restart_needed=restart)

    def request_shutdown(self) -> None:
        """Ask the supervisor to stop the engine gracefully."""
        self._shutdown.set()

    async def wait_shutdown(self) -> None:
        await self._shutdown.wait()

    @property
    def shutting_down(self) -> bool:
        return self._shutdown.is_set()


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
