"""The supervisor: owns one engine process from start to exit.

Start-up order: data-dir lock → database check and migration → Trio: the store's writer, the
PoW runtimes, the chain adapters, the scheduler (which recovers jobs a previous process left
running), the control API, then demo load if asked. Nothing is served until every service
reported ready through ``task_status.started()``; an invalid config or an unusable database
stops the engine before anything starts.

Shutdown (SIGTERM, SIGINT, ``POST /v1/shutdown``): stop claiming, give running jobs
``engine.grace_period`` seconds, interrupt the rest back into the queue, stop the API and the
chain adapters, flush the writer, release the lock, remove the socket, exit 0. A second signal
during the grace period interrupts running jobs at once. SIGHUP reloads the configuration.

The data-dir lock, detaching, pid files and waiting for an engine to answer live in
:mod:`engine.lifecycle`.

Resource handling: :meth:`Supervisor.run` nests two nurseries — the store outlives every service
that writes to it — and closes chain connections shielded on the way out.
"""

from __future__ import annotations

import functools
import logging
import resource
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trio

from engine import demo, safejson
from engine.api import serve_api
from engine.chains import ChainAdapter, Heights, ManualHeights
from engine.chains.cometbft import CometChain
from engine.chains.evm import EvmChain
from engine.chains.solana import SolanaChain
from engine.chains.soroban import KaleFarm, SorobanChain
from engine.chains.soroban._vault import Vault
from engine.config import CometChainSettings, Settings, SolanaChainSettings, SorobanChainSettings, check_kinds
from engine.errors import ConfigError, EngineError, Rejected
from engine.events import Broker
from engine.heap import settle_heap
from engine.jobs import Registry, Services, default_registry
from engine.jobs.cloudmesh import CloudMesh
from engine.jobs.pow import warm_pow_kernels
from engine.locks import DataDirLock
from engine.pow.runtime import PowRuntime, cuda_available
from engine.remote._coordinator import FileStore, RemotePool, coordinator_key
from engine.scheduler import Scheduler
from engine.schema import JobSubmit, SubmitResponse
from engine.service import Service
from engine.stats import Stats
from engine.store import Store, queries

log = logging.getLogger("shiftboss.engine")


class Supervisor:
    """Builds the engine's parts from settings and an opened :class:`Store`; ``await run()``."""

    def __init__(self, settings: Settings, store: Store, registry: Registry | None = None, *,
                 config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.store = store
        registry = registry or default_registry()
        check_kinds(settings, registry.names())
        stats = Stats(store.read_now(queries.state_counts))
        broker = Broker()
        store.writer.on_commit(stats.apply)
        store.writer.on_commit(broker.publish)
        self.heights = heights = Heights(store, store.read_now(queries.controls))
        self.services = Services(heights=heights, submit=self._submit_as_engine)
        self.scheduler = Scheduler(store, registry, settings, stats, self.services)
        remote = [name for name, pool in settings.pools.items() if pool.remote]
        if remote:
            key = coordinator_key(settings.data_dir / "coordinator.key")
            files = FileStore(settings.data_dir / "pool")
            self.services.remote = {name: RemotePool(name, settings.pools[name], key, files) for name in remote}
        for pool in _pow_pools(settings, registry, self.scheduler):
            device = settings.pools[pool].device
            if device == "cuda" and not cuda_available():
                raise ConfigError([(f"pools.{pool}.device", "no CUDA device here (numba.cuda found none); "
                                                            "use device = \"cpu\"")])
            self.services.pow[pool] = PowRuntime(pool, settings.pools[pool].threads, warmup=warm_pow_kernels,
                                                 device=device)
            for other in settings.pools[pool].hash_on:
                for hasher in self.services.remote[other].hashers():
                    self.services.pow[pool].add_remote(hasher)
        for name, chain in settings.chains.items():
            if isinstance(chain, SorobanChainSettings):
                self.services.soroban[name] = SorobanChain(name, chain, store, heights,
                                                           estop=lambda: self.scheduler.estop.active)
                continue
            if isinstance(chain, CometChainSettings):
                self.services.cometbft[name] = CometChain(name, chain, store, heights,
                                                          estop=lambda: self.scheduler.estop.active)
                continue
            if isinstance(chain, SolanaChainSettings):
                self.services.solana[name] = SolanaChain(name, chain, store, heights,
                                                         estop=lambda: self.scheduler.estop.active)
                continue
            self.services.evm[name] = EvmChain(
                name, chain, store, heights, estop=lambda: self.scheduler.estop.active,
                submit=functools.partial(self._submit_as_engine, actor=f"chain:{name}", batch=False))
        if settings.kale is not None:
            self.services.kale = KaleFarm(settings.kale, self.services.soroban[settings.kale.chain], store,
                                          Vault(settings.kale_key_path), self._submit_as_engine,
                                          estop=lambda: self.scheduler.estop.active)
        if settings.cloudmesh is not None:
            mesh_chain = self.services.solana[settings.cloudmesh.chain]
            private = (settings.data_dir, settings.db_path, settings.socket_path, settings.kale_key_path,
                       *(p for p in (settings.api.token_file, settings.api.read_only_token_file, config_path) if p))
            self.services.cloudmesh = CloudMesh.build(settings.cloudmesh, mesh_chain, settings.cloudmesh_key_path,
                                                      self._submit_as_engine, work_dir=settings.data_dir / "cloudmesh-runs",
                                                      hide=tuple(Path(p) for p in private))
            mesh_chain.reporters["cloudmesh"] = self.services.cloudmesh.status
        self.chains: list[ChainAdapter] = [ManualHeights(heights), *self.services.evm.values(),
                                           *self.services.soroban.values(), *self.services.solana.values(),
                                           *self.services.cometbft.values()]
        self.service = Service(settings, store, registry, self.scheduler, self.services, stats, broker, self.chains,
                               config_path=config_path, overrides=overrides)
        self.binds: list[str] = []
        self.early_signals: list[int] = []  # SIGTERM/SIGINT seen before the receiver was open

    async def _submit_as_engine(self, specs: list[JobSubmit], actor: str, *, batch: bool = True) -> SubmitResponse:
        return await self.service.submit(specs, actor, batch=batch)

    async def run(self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until shutdown is requested, then stop gracefully (see the module docstring)."""
        changed = safejson.pin_recursion_limit()
        if changed is not None:  # py_ecc sets 100,000 at import: C decoders could then overflow the stack
            log.info("an import had set the recursion limit to %d; it is %d again", changed, safejson.RECURSION_LIMIT)
        # The signal receiver lives as long as the engine: a second SIGTERM/Ctrl-C during the
        # shutdown must hurry it along, not kill the process before the store is flushed.
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async with trio.open_nursery() as outer:
                await outer.start(self.store.run)
                if self.store.postgres:
                    await outer.start(self.store.follow)
                outer.start_soon(self._signals, signals)
                if self.early_signals:
                    log.info("a stop signal arrived during start-up")
                    self.request_shutdown()
                try:
                    async with trio.open_nursery() as services:
                        for runtime in self.services.pow.values():
                            await services.start(runtime.run)
                        for chain in self.chains:
                            await services.start(chain.run)
                        if self.services.kale is not None:
                            await services.start(self.services.kale.run)
                        if self.services.cloudmesh is not None:
                            await services.start(self.services.cloudmesh.run)
                        for pool in self.services.remote.values():
                            await services.start(pool.run)
                        await services.start(self.scheduler.run)
                        self.binds = await services.start(serve_api, self.service)
                        if self.settings.demo.enabled:
                            services.start_soon(demo.feed, self.service)
                        log.info("engine ready: %s", ", ".join(self.binds))
                        settle_heap()
                        task_status.started(self.binds)
                        await self.service.wait_shutdown()
                        grace = self.service.settings.engine.grace_period
                        log.info("shutting down: running jobs get %.1f s (signal again to interrupt them now)", grace)
                        interrupted = await self.scheduler.shutdown(grace)
                        if interrupted:
                            log.info("interrupted %d jobs; they are back in the queue", interrupted)
                        services.cancel_scope.cancel()
                finally:  # also when a service refused to start: no connection is left open
                    with trio.CancelScope(shield=True):
                        for chain in self.chains:
                            await chain.aclose()
                        if self.services.kale is not None:
                            await self.services.kale.aclose()
                        if self.services.cloudmesh is not None:
                            await self.services.cloudmesh.aclose()
                        for pool in self.services.remote.values():
                            await pool.aclose()
                outer.cancel_scope.cancel()
        log.info("engine stopped")

    def request_shutdown(self) -> None:
        self.service.request_shutdown()

    async def _signals(self, signals: AsyncIterator[int]) -> None:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                log.info("received %s: reloading the configuration", name)
                try:
                    await self.service.reload("SIGHUP", "")
                except Rejected as exc:
                    log.error("%s", exc.message)
            elif self.service.shutting_down:
                log.info("received %s again: interrupting running jobs now", name)
                self.scheduler.hurry()
            else:
                log.info("received %s", name)
                self.request_shutdown()


def _pow_pools(settings: Settings, registry: Registry, scheduler: Scheduler) -> set[str]:
    """Pools that run PoW jobs: where pow.* kinds are routed, and any that names one."""
    hashing = [k for k in registry.names() if k.startswith("pow.")]
    if settings.kale is not None:
        hashing.append("kale.work")
    pools = {scheduler.pool_for(k, None) for k in hashing}
    pools |= {name for name, p in settings.pools.items() if any(k in hashing for k in p.kinds)}
    return pools


def run_engine(settings: Settings, config_path: Path | None = None, overrides: dict[str, Any] | None = None) -> None:
    """Run one engine process to completion: lock the data dir, open the store, serve until
    shutdown. Raises :class:`~engine.errors.EngineLocked` or
    :class:`~engine.errors.DatabaseUnusable` before anything starts."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    raise_fd_limit()
    lock = DataDirLock(settings.pid_path).acquire()
    try:
        store = Store.open(settings.store_target, synchronous=settings.store.synchronous,
                           group_commit_max=settings.store.group_commit_max, busy_timeout=settings.store.busy_timeout,
                           password=settings.store_password())
        supervisor = Supervisor(settings, store, config_path=config_path, overrides=overrides)
        # Outside the Trio signal receiver (start-up, final clean-up) SIGTERM/SIGINT are only
        # recorded: one that arrives early still stops the engine once it runs, and a late one
        # (GNU timeout signals the child and then its group) cannot kill it mid-clean-up.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: supervisor.early_signals.append(signum))
        try:
            trio.run(supervisor.run)
        except BaseExceptionGroup as group:  # a service refused to start: say why, without the tree
            refusal = _only(group, EngineError)
            if refusal is None:
                raise
            raise refusal from None
    finally:
        lock.release()


def raise_fd_limit(want: int = 65536) -> int:
    """Raise the soft limit on open files toward the hard one: a few hundred idle TCP clients must
    not leave the Unix socket unable to accept (EMFILE). Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        log.info("open-file limit raised from %d to %d", soft, target)
        return target
    return soft


def _only(group: BaseExceptionGroup[BaseException], kind: type[EngineError]) -> EngineError | None:
    """The first ``kind`` error in ``group`` if that is all it holds (nested groups included)."""
    matched, rest = group.split(kind)
    if matched is None or rest is not None:
        return None
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf if isinstance(leaf, kind) else None
