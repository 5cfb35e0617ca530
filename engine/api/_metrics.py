"""``/metrics`` in the Prometheus text format, computed from live engine state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.schema import JOB_STATES
from engine.service import Service


class _EngineCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        service = self.service
        pools = service.pools()
        estop = service.estop_active
        jobs = GaugeMetricFamily("shiftboss_jobs", "Jobs in the store by pool and state", labels=["pool", "state"])
        for pool in pools:
            for state in JOB_STATES:
                jobs.add_metric([pool.name, state], service.pool_count(pool.name, state))
        yield jobs
        done = CounterMetricFamily("shiftboss_jobs_completed", "Jobs completed since the engine started", labels=["pool"])
        failed = CounterMetricFamily("shiftboss_jobs_failed", "Jobs failed since the engine started", labels=["pool"])
        running = GaugeMetricFamily("shiftboss_pool_running", "Jobs running now", labels=["pool"])
        paused = GaugeMetricFamily("shiftboss_pool_accepting", "1 if the pool claims new work", labels=["pool"])
        for view in pools:
            done.add_metric([view.name], view.completed)
            failed.add_metric([view.name], view.failed)
            running.add_metric([view.name], view.running)
            paused.add_metric([view.name], 1 if view.state == "active" and not estop else 0)
        yield from (done, failed, running, paused)
        yield GaugeMetricFamily("shiftboss_estop_active", "1 while the global emergency stop is engaged",
                                value=1 if estop else 0)
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


def metrics_text(service: Service) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(service))
    return generate_latest(registry)
