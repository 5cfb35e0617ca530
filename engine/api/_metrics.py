"""``/metrics`` in the Prometheus text format: live engine state read at scrape time (queue
depth, rates, e-stop, store health, PoW hash rates, chain heads, signers, transactions) plus the
API's own request-latency histogram."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.schema import JOB_STATES, Chain, Pool, Worker
from engine.service import Service

_IDS = [(re.compile(r"^/v1/jobs/(?!retry$|cancel$)[^/]+"), "/v1/jobs/{id}"),
        (re.compile(r"^/v1/pools/[^/]+"), "/v1/pools/{name}"), (re.compile(r"^/v1/chains/[^/]+"), "/v1/chains/{name}")]


def route_of(path: str) -> str:
    """A request path as a low-cardinality label (ids and names replaced)."""
    for pattern, template in _IDS:
        path = pattern.sub(template, path)
    return path


class ApiMetrics:
    """The API's own metrics, in a registry of its own (never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram("shiftboss_api_request_seconds", "Control API requests by route and status",
                                 ["method", "route", "status"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        if path == "/v1/events":
            return  # a stream lasts as long as its client: not a latency
        self.latency.labels(method, route_of(path), str(status)).observe(seconds)


class _Snapshot(Collector):
    def __init__(self, service: Service, pools: list[Pool], workers: list[Worker], chains: list[Chain]) -> None:
        self.service, self.pools, self.workers, self.chains = service, pools, workers, chains

    def collect(self) -> Iterator[Metric]:
        yield from self._jobs()
        yield from self._store()
        yield from self._pow()
        yield from self._chains()

    def _jobs(self) -> Iterator[Metric]:
        service, estop = self.service, self.service.estop_active
        jobs = GaugeMetricFamily("shiftboss_jobs", "Jobs in the store by pool and state", labels=["pool", "state"])
        for pool in self.pools:
            for state in JOB_STATES:
                jobs.add_metric([pool.name, state], service.pool_count(pool.name, state))
        yield jobs
        moved = CounterMetricFamily("shiftboss_job_transitions", "Job state changes since start, by the new state "
                                    "(retrying, cancelled, expired, failed, completed …)", labels=["pool", "to"])
        for (pool_name, to), n in sorted(service.transitions().items()):
            moved.add_metric([pool_name, to], n)
        yield moved
        done = CounterMetricFamily("shiftboss_jobs_completed", "Jobs completed since the engine started", labels=["pool"])
        failed = CounterMetricFamily("shiftboss_jobs_failed", "Jobs failed since the engine started", labels=["pool"])
        running = GaugeMetricFamily("shiftboss_pool_running", "Jobs running now", labels=["pool"])
        accepting = GaugeMetricFamily("shiftboss_pool_accepting", "1 if the pool claims new work", labels=["pool"])
        for view in self.pools:
            done.add_metric([view.name], view.completed)
            failed.add_metric([view.name], view.failed)
            running.add_metric([view.name], view.running)
            accepting.add_metric([view.name], 1 if view.state == "active" and not estop else 0)
        yield from (done, failed, running, accepting)
        yield GaugeMetricFamily("shiftboss_estop_active", "1 while the global emergency stop is engaged",
                                value=1 if estop else 0)

    def _store(self) -> Iterator[Metric]:
        service = self.service
        store = service.store_counters()
        yield GaugeMetricFamily("shiftboss_events_last_seq", "Sequence number of the newest event", value=store.last_seq)
        yield CounterMetricFamily("shiftboss_store_commits", "Group commits by the store writer", value=store.commits)
        yield CounterMetricFamily("shiftboss_store_ops", "Write operations committed", value=store.ops)
        health = service.store_health()
        yield GaugeMetricFamily("shiftboss_store_writable", "1 while the store can write (0: the engine runs degraded)",
                                value=1 if health.writable else 0)
        yield CounterMetricFamily("shiftboss_store_write_failures", "Commits that failed (disk full, lock timeout)",
                                  value=health.write_failures)
        yield GaugeMetricFamily("shiftboss_event_subscribers", "Clients streaming /v1/events",
                                value=service.event_subscribers)

    def _pow(self) -> Iterator[Metric]:
        rate = GaugeMetricFamily("shiftboss_pow_hashrate", "Hashes per second over a window, per PoW thread and pool "
                                 "total (worker <pool>/threads)", labels=["pool", "worker", "window"])
        hashes = CounterMetricFamily("shiftboss_pow_hashes", "Hashes computed since start", labels=["pool", "worker"])
        healthy = GaugeMetricFamily("shiftboss_worker_healthy", "1 ok, 0.5 degraded, 0 down", labels=["pool", "worker"])
        active = GaugeMetricFamily("shiftboss_remote_worker_active_jobs", "Jobs running on a trusted pool's worker",
                                   labels=["pool", "worker"])
        latency = GaugeMetricFamily("shiftboss_remote_worker_latency_ms", "Latency of the last signed health check",
                                    labels=["pool", "worker"])
        for w in self.workers:
            healthy.add_metric([w.pool, w.id], {"ok": 1.0, "degraded": 0.5, "down": 0.0}[w.health])
            if w.detail.get("remote"):
                active.add_metric([w.pool, w.id], w.running)
                if w.detail.get("latency_ms") is not None:
                    latency.add_metric([w.pool, w.id], w.detail["latency_ms"])
            if "hashrate" in w.detail:
                for window, value in w.detail["hashrate"].items():
                    rate.add_metric([w.pool, w.id, window], value)
                hashes.add_metric([w.pool, w.id], w.detail.get("hashes", 0))
        yield from (rate, hashes, healthy, active, latency)

    def _chains(self) -> Iterator[Metric]:
        head = GaugeMetricFamily("shiftboss_chain_head", "Newest block height seen", labels=["chain", "kind"])
        lag = GaugeMetricFamily("shiftboss_chain_lag_seconds", "Age of the newest block seen", labels=["chain"])
        reorgs = CounterMetricFamily("shiftboss_chain_reorgs", "Reorgs detected since start", labels=["chain"])
        up = GaugeMetricFamily("shiftboss_chain_reachable", "1 while the chain's RPC answers", labels=["chain"])
        balance = GaugeMetricFamily("shiftboss_signer_balance", "Signer balance in the chain's native unit (ETH)",
                                    labels=["chain", "address"])
        drift = GaugeMetricFamily("shiftboss_signer_nonce_drift", "Ledger's next nonce minus the chain's pending nonce",
                                  labels=["chain", "address"])
        txs = GaugeMetricFamily("shiftboss_txs", "Transactions by state", labels=["chain", "state"])
        for c in self.chains:
            if c.head is not None:
                head.add_metric([c.name, c.kind], c.head)
            if c.lag_s is not None:
                lag.add_metric([c.name], c.lag_s)
            if c.kind == "manual":
                continue
            reorgs.add_metric([c.name], c.detail.get("reorg_count", 0))
            up.add_metric([c.name], 0 if c.detail.get("error") else 1)
            signer = c.detail.get("signer") or {}
            if signer.get("balance_eth") is not None:
                balance.add_metric([c.name, signer["address"]], signer["balance_eth"])
            if signer.get("ledger_next_nonce") is not None and signer.get("chain_pending_nonce") is not None:
                drift.add_metric([c.name, signer["address"]], signer["ledger_next_nonce"] - signer["chain_pending_nonce"])
            for state, n in (signer.get("txs") or {}).items():
                txs.add_metric([c.name, state], n)
        yield from (head, lag, reorgs, up, balance, drift, txs)


async def metrics_text(service: Service, api: ApiMetrics) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(service, service.pools(), service.workers(), await service.chains()))
    return generate_latest(registry) + generate_latest(api.registry)
