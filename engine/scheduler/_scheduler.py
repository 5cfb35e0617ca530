"""The scheduler: per-pool dispatchers that claim jobs, run their handlers, and record outcomes;
timers for delays and deadlines; lease renewal and reaping; the e-stop and pool switches.

Resource handling: :meth:`Scheduler.run` owns two nurseries — one for its service loops and one
for running jobs — and never returns on its own. Call :meth:`Scheduler.shutdown` first for a
graceful stop: claiming stops, running jobs get the grace period, the rest are interrupted
and put back in the queue (their attempt not counted), and only then cancel :meth:`run`.

Error handling: a handler's exceptions become the attempt's error (see
:mod:`engine.jobs`); nothing a handler does can stop a dispatcher. A store that cannot write
(disk full, a lock held too long) never stops the engine: every loop backs off and tries again
(:class:`StoreRetry`), so nothing new is claimed, finished attempts keep their slots until their
outcome is durable, and an e-stop acts at once and is persisted once the store can write.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import msgspec
import trio

from engine.config import Settings
from engine.errors import Invalid, JobFailure, PoolNotFound, StoreError, WaitForChain
from engine.jobs import JobContext, Registry, Services
from engine.scheduler._backoff import backoff
from engine.schema import Estop, Event, JobError, Pool, PoolState, Worker
from engine.stats import Stats
from engine.store import SCHEMA_VERSION, Claimed, Outcome, OutcomeName, Store, ops, queries

log = logging.getLogger("shiftboss.scheduler")


HEARTBEAT_S = 5.0  # a dispatcher's heartbeat while it has nothing to do
# The store's timers (waiting and retrying jobs come due, gates met, expired job leases reaped,
# retention) run on one engine at a time when engines share a PostgreSQL store: two would emit
# each change twice. An engine that stopped is replaced within TIMERS_LEASE_S.
TIMERS_LEASE, TIMERS_LEASE_S = "store.timers", 5.0
STORE_RETRY_MIN = 0.25
STORE_RETRY_MAX = 10.0


class StoreRetry:
    """One background loop's answer to a store that cannot write: say so once, wait with
    backoff (0.25 s doubling to 10 s), try again; say when it works again."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.delay = 0.0

    async def failed(self, exc: StoreError) -> None:
        if self.delay == 0.0:
            log.warning("%s: %s (retrying with backoff)", self.what, exc)
        self.delay = min(STORE_RETRY_MAX, max(STORE_RETRY_MIN, self.delay * 2))
        await trio.sleep(self.delay)

    def ok(self) -> None:
        if self.delay:
            log.info("%s: the store writes again", self.what)
        self.delay = 0.0


@dataclass(slots=True, frozen=True)
class _Control:
    """A switch to persist: ``ops.set_control``'s arguments."""

    key: str
    value: dict[str, Any]
    event: str
    actor: str
    action: str
    target: str
    reason: str


class RunningJob:
    __slots__ = ("claimed", "ctx", "scope", "stop_reason")

    def __init__(self, claimed: Claimed, ctx: JobContext) -> None:
        self.claimed = claimed
        self.ctx = ctx
        self.scope: trio.CancelScope | None = None
        self.stop_reason: str | None = None  # cancel | estop | shutdown

    def stop(self, reason: str) -> None:
        if self.stop_reason is None or reason == "cancel":
            self.stop_reason = reason
            self.ctx.stop_reason = reason
        self.ctx.request_stop()
        if self.scope is not None:
            self.scope.cancel()


class _Finished:
    __slots__ = ("pool", "rj", "outcome")

    def __init__(self, pool: PoolRuntime, rj: RunningJob, outcome: Outcome) -> None:
        self.pool, self.rj, self.outcome = pool, rj, outcome


class PoolRuntime:
    def __init__(self, name: str, concurrency: int, kinds: list[str]) -> None:
        self.name = name
        self.concurrency = concurrency
        self.kinds = kinds
        self.state: PoolState = "active"
        self.reason: str | None = None
        self.actor: str | None = None
        self.since: float | None = None
        self.running: dict[str, RunningJob] = {}
        self.wakeup = trio.Event()
        self.heartbeat_at: float | None = None

    def kick(self) -> None:
        self.wakeup.set()


class Scheduler:
    def __init__(self, store: Store, registry: Registry, settings: Settings, stats: Stats, services: Services) -> None:
        self.store = store
        self.clock = store.clock  # the store's clock: the times it records are the ones we compare
        self.services = services
        self.registry = registry
        self.settings = settings
        self.stats = stats
        self.owner = store.engine_id  # owner of the jobs this engine claims
        self.pools = {name: PoolRuntime(name, p.concurrency, list(p.kinds)) for name, p in settings.pools.items()}
        self.estop = Estop(active=False)
        self._pending: dict[str, _Control] = {}  # e-stops in force that the store could not record yet
        self.closing = False
        self._kind_pool = self._route(settings)
        self._timer_kick = trio.Event()
        self._idle = trio.Event()
        self._grace = trio.CancelScope()
        self._finished: list[_Finished] = []
        self._finished_kick = trio.Event()
        self._loops: trio.Nursery | None = None
        self._jobs: trio.Nursery | None = None
        store.writer.on_commit(self._on_commit)

    # --- routing ----------------------------------------------------------------------------

    def _route(self, settings: Settings) -> dict[str, str]:
        """Which pool each kind goes to: the pool naming it, else the ``"*"`` pool."""
        wildcard = next((n for n, p in settings.pools.items() if "*" in p.kinds), None)
        routes = {}
        for kind in self.registry.names():
            owner = next((n for n, p in settings.pools.items() if kind in p.kinds), wildcard)
            if owner is not None:
                routes[kind] = owner
        return routes

    def apply_settings(self, settings: Settings) -> None:
        """Take over reloaded settings: scheduler timings, and the caps and kinds of existing pools."""
        self.settings = settings
        for name, pool in self.pools.items():
            pool.concurrency = settings.pools[name].concurrency
            pool.kinds = list(settings.pools[name].kinds)
            pool.kick()
        self._kind_pool = self._route(settings)

    def pool_for(self, kind: str, requested: str | None, field: str = "pool") -> str:
        """The pool a job of ``kind`` goes to; a requested pool must serve the kind."""
        if requested is None:
            pool = self._kind_pool.get(kind)
            if pool is None:
                raise Invalid(f"no pool serves job kind {kind!r}", field=field, code="no_pool", details={"kind": kind})
            return pool
        runtime = self.pools.get(requested)
        if runtime is None:
            raise Invalid(f"unknown pool {requested!r}; pools: {', '.join(self.pools)}", field=field,
                          code="unknown_pool")
        if kind not in runtime.kinds and "*" not in runtime.kinds:
            raise Invalid(f"pool {requested!r} does not serve job kind {kind!r}", field=field,
                          code="pool_mismatch")
        return requested

    # --- service ----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        await self.store.write(ops.register_engine, self.owner, socket.gethostname(), os.getpid(), str(SCHEMA_VERSION),
                               alone=not self.store.postgres)
        if self.store.postgres:  # other engines may be running theirs: only the dead ones' jobs
            await self.store.write(ops.recover, self.owner, stale_after=self.settings.store.lease_ttl)
        else:
            await self.store.write(ops.recover)
        self._load_controls(await self.store.read(queries.controls))
        async with trio.open_nursery() as jobs:
            self._jobs = jobs
            async with trio.open_nursery() as loops:
                self._loops = loops
                for pool in self.pools.values():
                    loops.start_soon(self._dispatch, pool)
                loops.start_soon(self._timers)
                loops.start_soon(self._record)
                loops.start_soon(self._leases)
                loops.start_soon(self._progress)
                task_status.started()
                await trio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def shutdown(self, grace: float) -> int:
        """Stop claiming; let running jobs finish within ``grace`` seconds; interrupt the rest
        (they go back to the queue). Returns how many were interrupted."""
        self.closing = True
        for pool in self.pools.values():
            pool.kick()
        with trio.move_on_after(grace) as self._grace:
            await self._until_idle()
        interrupted = 0
        for rj in self._all_running():
            rj.stop("shutdown")
            interrupted += 1
        with trio.move_on_after(max(5.0, self.settings.scheduler.cancel_grace)):
            await self._until_idle()
        self.store.step_down()  # its services stop with it: the others take them over now
        with trio.move_on_after(2):
            try:
                await self.store.write(ops.unregister_engine, self.owner)
            except StoreError:
                pass  # the others find it silent after a lease's time instead
        return interrupted

    def hurry(self) -> None:
        """End the shutdown grace period now (a second SIGTERM/Ctrl-C)."""
        self._grace.cancel()

    def running_count(self) -> int:
        return sum(len(p.running) for p in self.pools.values())

    async def _until_idle(self) -> None:
        while self.running_count():
            self._idle = trio.Event()
            await self._idle.wait()

    def _all_running(self) -> list[RunningJob]:
        return [rj for p in self.pools.values() for rj in p.running.values()]

    def _load_controls(self, controls: dict[str, dict[str, Any]]) -> None:
        if "estop" in controls:
            self.estop = msgspec.convert(controls["estop"], Estop)
        for name, pool in self.pools.items():
            saved = controls.get(f"pool:{name}")
            if saved:
                pool.state = saved["state"]
                pool.reason, pool.actor, pool.since = saved.get("reason"), saved.get("actor"), saved.get("since")
                if pool.state == "drained" or (pool.state == "draining" and not pool.running):
                    pool.state = "drained"

    def _foreign_control(self, e: Event) -> None:
        """Another engine on this store engaged or released the e-stop, or changed a pool: do the
        same here (its event came through the store's follower)."""
        if e.data["engine"] == self.owner:
            return
        value = {k: v for k, v in e.data.items() if k != "engine"}
        if e.type == "estop":
            self.estop = msgspec.convert(value, Estop)
            targets = self._all_running() if self.estop.active else []
        else:
            pool = self.pools.get(str(value.get("pool")))
            if pool is None:
                return
            pool.state, pool.reason, pool.actor, pool.since = (value["state"], value.get("reason"), value.get("actor"),
                                                               value.get("since"))
            targets = list(pool.running.values()) if pool.state == "stopped" else []
        for rj in targets:
            rj.stop("estop")
        for pool in self.pools.values():
            pool.kick()

    def _may_claim(self, pool: PoolRuntime) -> bool:
        return not self.closing and not self.estop.active and pool.state == "active"

    def _on_commit(self, events: list[Event]) -> None:
        pools = self.pools
        for e in events:
            if e.type in ("estop", "pool.state") and e.data.get("engine") is not None:
                self._foreign_control(e)
                continue
            if e.type == "job.state":
                to = e.data["to"]
            elif e.type == "job.submitted":
                to = e.data["state"]
            else:
                continue
            if to == "queued":
                pool = pools.get(e.pool or "")
                if pool is not None:
                    pool.wakeup.set()
            elif to in ("waiting", "retrying"):
                self._timer_kick.set()

    # --- dispatch and execution -------------------------------------------------------------

    async def _dispatch(self, pool: PoolRuntime) -> NoReturn:
        ttl = self.settings.store.lease_ttl
        assert self._jobs is not None
        retry = StoreRetry(f"pool {pool.name}: claiming")
        while True:
            batch = self.settings.scheduler.claim_batch
            pool.wakeup = trio.Event()
            pool.heartbeat_at = self.clock()
            free = pool.concurrency - len(pool.running)
            if free <= 0 or not self._may_claim(pool):
                with trio.move_on_after(HEARTBEAT_S):  # idle dispatchers still show they are alive
                    await pool.wakeup.wait()
                continue
            try:
                claimed = await self.store.write(ops.claim, pool.name, min(free, batch), self.owner, ttl)
            except StoreError as exc:
                await retry.failed(exc)
                continue
            retry.ok()
            for c in claimed:
                ctx = JobContext(c.id, c.kind, pool.name, c.attempt, c.max_attempts, c.deadline, c.started_at + ttl,
                                 priority=c.priority, services=self.services)
                rj = pool.running[c.id] = RunningJob(c, ctx)
                if not self._may_claim(pool):  # e-stop or shutdown arrived during the claim
                    rj.stop_reason = "shutdown" if self.closing else "estop"
                self._jobs.start_soon(self._execute, pool, rj)
            if not claimed:
                with trio.move_on_after(HEARTBEAT_S):
                    await pool.wakeup.wait()

    async def _execute(self, pool: PoolRuntime, rj: RunningJob) -> None:
        c, ctx = rj.claimed, rj.ctx
        outcome: OutcomeName = "completed"
        result: Any = None
        error: JobError | None = None
        gate: dict[str, Any] | None = None
        try:
            kind = self.registry.get(c.kind)
            payload = self.registry.decode(c.kind, c.payload)
        except Exception as exc:  # noqa: BLE001 - a stored job this engine cannot run
            kind, outcome = None, "failed"
            error = JobError(code="unrunnable", message=f"cannot run this job here: {exc}", retryable=False)
        if kind is not None:
            end = min(c.started_at + c.timeout, c.deadline if c.deadline is not None else math.inf)
            try:
                with trio.CancelScope(deadline=trio.current_time() + (end - self.clock())) as scope:
                    rj.scope = scope
                    if rj.stop_reason is not None:
                        scope.cancel()
                    result = await kind.handler(ctx, payload)
            except JobFailure as exc:
                outcome = "failed"
                error = JobError(code=exc.code, message=exc.message, retryable=exc.retryable, details=exc.details)
            except WaitForChain as exc:
                outcome = "deferred"
                gate = {"chain": exc.chain, "height": exc.height, "start": exc.start,
                        **({"range": exc.difficulty_range} if exc.difficulty_range else {})}
                ctx.progress(waiting_info=exc.info)
            except Exception as exc:  # any handler bug fails the attempt, not the engine
                outcome = "failed"
                error = JobError(code="exception", message=f"{type(exc).__name__}: {exc}", retryable=True)
                # not the handler's own error: the job shows the message, the log has the traceback
                log.error("job %s (%s) attempt %d: the handler raised %s", c.id, c.kind, c.attempt,
                          type(exc).__name__, exc_info=exc)
            finally:
                ctx.request_stop()
            if rj.stop_reason is not None and (outcome != "completed" or scope.cancelled_caught):
                outcome, error = ("cancelled", None) if rj.stop_reason == "cancel" else ("interrupted", JobError(
                    code=rj.stop_reason, message=f"interrupted by {rj.stop_reason}; back in the queue"))
                result = None
            elif scope.cancelled_caught:
                if c.deadline is not None and self.clock() >= c.deadline - 0.01:
                    outcome, error = "expired", JobError(code="deadline", message="the job's deadline passed while it ran")
                else:
                    outcome, error = "failed", JobError(
                        code="timeout", message=f"attempt exceeded its {c.timeout:g} s timeout", retryable=True)
        retry_delay = None
        if error is not None and error.retryable:
            base = c.backoff or (kind.backoff_base if kind is not None else None) or self.settings.scheduler.backoff_base
            retry_delay = backoff(c.attempt, base, self.settings.scheduler.backoff_cap)
        self._finished.append(_Finished(pool, rj, Outcome(
            job=c, owner=self.owner, outcome=outcome, worker=f"{self.owner}/{pool.name}", result=result,
            error=error, retry_delay=retry_delay, progress=ctx.take_progress(), gate=gate)))
        self._finished_kick.set()

    async def _record(self) -> NoReturn:
        """Record finished attempts, all that piled up since the last commit in one store op
        (one op per job would make the writer, not the jobs, the limit). A slot is freed only
        once its outcome is durable."""
        retry = StoreRetry("recording finished attempts")
        while True:
            await self._finished_kick.wait()
            self._finished_kick = trio.Event()
            batch, self._finished = self._finished, []
            states: list[str | None] = [None] * len(batch)
            try:
                with trio.CancelScope(shield=True, deadline=trio.current_time() + 30) as scope:  # even during shutdown
                    states = await self.store.write(ops.finish_many, [f.outcome for f in batch])
            except StoreError as exc:  # keep them (and their slots) until their outcomes are durable
                self._finished = batch + self._finished
                self._finished_kick.set()
                await retry.failed(exc)
                continue
            retry.ok()
            if scope.cancelled_caught:
                log.error("the store took over 30 s to record %d finished attempts", len(batch))
            for f, state in zip(batch, states, strict=True):
                self._release(f.pool, f.rj)
                error = f.outcome.error
                if state == "failed" and error is not None:
                    c = f.rj.claimed
                    log.warning("job %s (%s) failed on attempt %d/%d: %s: %s", c.id, c.kind, c.attempt,
                                c.max_attempts, error.code, error.message)

    def _release(self, pool: PoolRuntime, rj: RunningJob) -> None:
        if pool.running.get(rj.claimed.id) is rj:
            del pool.running[rj.claimed.id]
        pool.kick()
        if not self.running_count():
            self._idle.set()
        if pool.state == "draining" and not pool.running and self._loops is not None:
            self._loops.start_soon(self._mark_drained, pool)

    async def _mark_drained(self, pool: PoolRuntime) -> None:
        retry = StoreRetry(f"pool {pool.name}: marking it drained")
        while pool.state == "draining" and not pool.running:
            try:
                await self._set_pool(pool, "drained", pool.actor or "engine", pool.reason or "", action="drained")
                return
            except StoreError as exc:
                await retry.failed(exc)

    # --- timers, leases, progress -----------------------------------------------------------

    async def _timers(self) -> NoReturn:
        last_prune = 0.0
        retry = StoreRetry("timers")
        while True:
            self._timer_kick = trio.Event()
            next_due, now = None, self.clock()
            try:
                if await self.store.lead(TIMERS_LEASE, TIMERS_LEASE_S):  # beside other engines: one at a time
                    next_due = await self.store.write(ops.tick)
                    for chain, height in self.services.heights.current().items():
                        await self.store.write(ops.advance_gates, chain, height)  # a gate met while being set
                    now = self.clock()
                    if now - last_prune > 60:
                        last_prune = now
                        await self.store.write(ops.prune_events, self.settings.store.event_retention,
                                               self.store.last_seq)
                        retention = {str(state): keep for state, keep in self.settings.store.job_retention.items()}
                        pruned = await self.store.write(ops.prune_jobs, retention)
                        if pruned:
                            log.info("deleted %d finished jobs past their retention (store.job_retention)", pruned)
                await self._persist_pending()
            except StoreError as exc:
                await retry.failed(exc)
                continue
            retry.ok()
            delay = 1.0 if next_due is None else min(1.0, max(0.0, next_due - now))
            with trio.move_on_after(delay):
                await self._timer_kick.wait()

    async def _leases(self) -> NoReturn:
        ttl = self.settings.store.lease_ttl
        retry = StoreRetry("leases")
        while True:
            await trio.sleep(ttl / 3)
            try:
                await self.store.write(ops.renew_leases, self.owner, ttl)
                await self.store.write(ops.heartbeat, self.owner)
                until = self.clock() + ttl
                for rj in self._all_running():
                    rj.ctx.lease_until = until
                if await self.store.lead(TIMERS_LEASE, TIMERS_LEASE_S):
                    live = {rj.claimed.id for rj in self._all_running()}
                    await self.store.write(ops.reap_leases, live, self.settings.scheduler.backoff_base)
            except StoreError as exc:
                await retry.failed(exc)
                continue
            retry.ok()

    async def _progress(self) -> NoReturn:
        while True:
            await trio.sleep(1.0)
            updates = {}
            for rj in self._all_running():
                progress = rj.ctx.take_progress()
                if progress is not None:
                    updates[rj.claimed.id] = (rj.ctx.pool, progress)
            if updates:
                try:
                    await self.store.write(ops.save_progress, updates)
                except StoreError as exc:  # progress is a snapshot: the next one replaces it
                    log.debug("progress not saved: %s", exc)

    # --- operator actions -------------------------------------------------------------------

    def signal_cancel(self, job_id: str) -> bool:
        """Stop a running job whose state is now ``cancelling``; force it after the grace period."""
        for pool in self.pools.values():
            rj = pool.running.get(job_id)
            if rj is not None:
                rj.stop("cancel")
                if self._loops is not None:
                    self._loops.start_soon(self._force_cancel, pool, rj)
                return True
        return False

    async def _force_cancel(self, pool: PoolRuntime, rj: RunningJob) -> None:
        await trio.sleep(self.settings.scheduler.cancel_grace)
        retry = StoreRetry(f"job {rj.claimed.id}: marking it cancelled")
        while pool.running.get(rj.claimed.id) is rj:
            try:
                await self.store.write(
                    ops.force_cancelled, rj.claimed.id,
                    f"the worker did not stop within {self.settings.scheduler.cancel_grace:g} s of the cancel",
                )
                return
            except StoreError as exc:
                await retry.failed(exc)

    def _pool(self, name: str) -> PoolRuntime:
        pool = self.pools.get(name)
        if pool is None:
            raise PoolNotFound(name, list(self.pools))
        return pool

    async def engage_estop(self, actor: str, reason: str, pool_name: str | None = None) -> int:
        """Act first — stop claiming, interrupt running attempts (back to the queue, not counted),
        which stops their hashing and their sending — then persist it with its audit record. If
        the store cannot write, the e-stop stays in force, shows ``persisted: false``, and the
        timer loop persists it as soon as the store can write. Returns how many were interrupted."""
        since = self.clock()
        if pool_name is not None:
            pool = self._pool(pool_name)
            pool.state, pool.reason, pool.actor, pool.since = "stopped", reason or None, actor, since
            change = _Control(f"pool:{pool.name}", {"pool": pool.name, "state": "stopped", "reason": reason or None,
                                                    "actor": actor, "since": since},
                              "pool.state", actor, "estop", f"pool:{pool.name}", reason)
            targets = list(pool.running.values())
        else:
            value = {"active": True, "actor": actor, "reason": reason, "since": since}
            self.estop = msgspec.convert(value, Estop)
            change = _Control("estop", value, "estop", actor, "estop", "engine", reason)
            targets = self._all_running()
        for rj in targets:
            rj.stop("estop")
        self._pending[change.key] = change
        try:
            await self._persist(change)
        except StoreError as exc:
            log.error("E-STOP engaged but not persisted yet (%s); it is persisted once the store can write", exc)
            self._timer_kick.set()
        return len(targets)

    async def release_estop(self, actor: str, reason: str, pool_name: str | None = None) -> None:
        """Persist the release first (a release that cannot be recorded does not happen), then
        let the pools claim again."""
        if pool_name is not None:
            await self._set_pool(self._pool(pool_name), "active", actor, reason, action="resume")
            return
        value = {"active": False, "actor": actor, "reason": reason, "since": self.clock()}
        await self._replace_control(_Control("estop", value, "estop", actor, "resume", "engine", reason))
        self.estop = msgspec.convert(value, Estop)
        for pool in self.pools.values():
            pool.kick()

    async def pool_action(self, name: str, action: str, actor: str, reason: str) -> Pool:
        pool = self._pool(name)
        if action == "pause":
            await self._set_pool(pool, "paused", actor, reason, action="pause")
        elif action == "resume":
            await self._set_pool(pool, "active", actor, reason, action="resume")
        elif action == "drain":
            await self._set_pool(pool, "draining" if pool.running else "drained", actor, reason, action="drain")
        else:
            raise Invalid(f"unknown pool action {action!r}: use pause, resume or drain", field="action")
        return self.pool_view(pool)

    async def _set_pool(self, pool: PoolRuntime, state: PoolState, actor: str, reason: str, *, action: str) -> None:
        since = self.clock()
        value: dict[str, Any] = {"pool": pool.name, "state": state, "reason": reason or None, "actor": actor,
                                 "since": since}
        await self._replace_control(_Control(f"pool:{pool.name}", value, "pool.state", actor, action,
                                             f"pool:{pool.name}", reason))
        pool.state, pool.reason, pool.actor, pool.since = state, reason or None, actor, since
        pool.kick()

    async def _replace_control(self, change: _Control) -> None:
        """Persist a switch that supersedes any e-stop still waiting to be persisted for the same
        key; if it cannot be persisted, that e-stop stays pending and nothing changes."""
        earlier = self._pending.pop(change.key, None)
        try:
            await self._write_control(change)
        except BaseException:
            if earlier is not None:
                self._pending.setdefault(change.key, earlier)
            raise

    async def _write_control(self, change: _Control) -> None:
        await self.store.write(ops.set_control, change.key, change.value, change.event, change.actor, change.action,
                               change.target, change.reason, self.owner)

    async def _persist(self, change: _Control) -> bool:
        """Write a pending e-stop, unless something newer replaced it meanwhile; whether it wrote."""
        if self._pending.get(change.key) is not change:
            return False
        await self._write_control(change)
        if self._pending.get(change.key) is change:
            del self._pending[change.key]
        return True

    async def _persist_pending(self) -> None:
        for change in list(self._pending.values()):
            if await self._persist(change):
                log.info("the e-stop (%s) engaged at %s is persisted now", change.target, change.value.get("since"))

    def estop_view(self) -> Estop:
        """The global e-stop as the API shows it (``persisted`` false while it waits for the store)."""
        return msgspec.structs.replace(self.estop, persisted="estop" not in self._pending)

    # --- views ------------------------------------------------------------------------------

    def pool_view(self, pool: PoolRuntime) -> Pool:
        """The pool as operators see it: one state model for both e-stops — under the engine's
        e-stop every pool is ``stopped`` (``stopped_by`` engine, with its who and why); the why of
        an active pool is not shown (it would be the reason it was last resumed)."""
        count = self.stats.pool_count
        done_rate, failed_rate = self.stats.rates(pool.name)
        state, reason, actor, since = pool.state, pool.reason, pool.actor, pool.since
        stopped_by: Literal["engine", "pool"] | None = None
        if self.estop.active:
            state, reason, actor, since = "stopped", self.estop.reason, self.estop.actor, self.estop.since
            stopped_by = "engine"
        elif pool.state == "stopped":
            stopped_by = "pool"
        elif pool.state == "active":
            reason = None
        return Pool(
            name=pool.name, kinds=pool.kinds, concurrency=pool.concurrency, state=state, reason=reason,
            actor=actor, since=since, stopped_by=stopped_by, persisted=f"pool:{pool.name}" not in self._pending,
            running=len(pool.running), queued=count(pool.name, "queued"),
            waiting=count(pool.name, "waiting"), retrying=count(pool.name, "retrying"),
            completed=self.stats.completed_total[pool.name], failed=self.stats.failed_total[pool.name],
            completed_per_s=round(done_rate, 3), failed_per_s=round(failed_rate, 3),
        )

    def pool_views(self) -> list[Pool]:
        return [self.pool_view(p) for p in self.pools.values()]

    def workers(self) -> list[Worker]:
        """Each pool's dispatcher. ``degraded`` while the store cannot write (it claims nothing);
        ``down`` when it has not looped for six heartbeats."""
        out = []
        now = self.clock()
        store_ok = self.store.writable
        for pool in self.pools.values():
            health: Literal["ok", "degraded", "down"] = "ok"
            reason = None
            if pool.heartbeat_at is not None and now - pool.heartbeat_at > 6 * HEARTBEAT_S:
                health, reason = "down", f"no heartbeat for {now - pool.heartbeat_at:.0f} s"
            elif not store_ok:
                health, reason = "degraded", "the store cannot write: nothing is claimed"
            if self.estop.active or pool.state == "stopped":
                state = "stopped"
            elif pool.state in ("paused", "draining", "drained"):
                state = pool.state
            else:
                state = "busy" if pool.running else "idle"
            out.append(Worker(
                id=f"{pool.name}/dispatcher", pool=pool.name, state=state, health=health, reason=reason,
                running=len(pool.running),
                jobs=list(pool.running)[:20], heartbeat_at=pool.heartbeat_at,
                detail={"concurrency": pool.concurrency, "owner": self.owner},
            ))
        return out
