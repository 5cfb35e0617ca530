"""``/metrics`` in the Prometheus text format, computed from live engine state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from engine.schema import JOB_STATES

if TYPE_CHECKING:
    from engine.service import Engine


class _EngineCollector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        engine = self.engine
        jobs = GaugeMetricFamily("shiftboss_jobs", "Jobs in the store by pool and state", labels=["pool", "state"])
        for pool in engine.scheduler.pools:
            for state in JOB_STATES:
                jobs.add_metric([pool, state], engine.stats.pool_count(pool, state))
        yield jobs
        done = CounterMetricFamily("shiftboss_jobs_completed", "Jobs completed since the engine started", labels=["pool"])
        failed = CounterMetricFamily("shiftboss_jobs_failed", "Jobs failed since the engine started", labels=["pool"])
        running = GaugeMetricFamily("shiftboss_pool_running", "Jobs running now", labels=["pool"])
        paused = GaugeMetricFamily("shiftboss_pool_accepting", "1 if the pool claims new work", labels=["pool"])
        for view in engine.scheduler.pool_views():
            done.add_metric([view.name], view.completed)
            failed.add_metric([view.name], view.failed)
            running.add_metric([view.name], view.running)
            paused.add_metric([view.name], 1 if view.state == "active" and not engine.scheduler.estop.active else 0)
        yield from (done, failed, running, paused)
        yield GaugeMetricFamily("shiftboss_estop_active", "1 while the global emergency stop is engaged",
                                value=1 if engine.scheduler.estop.active else 0)
        yield GaugeMetricFamily("shiftboss_events_last_seq", "Sequence number of the newest event",
                                value=engine.store.last_seq)
        yield CounterMetricFamily("shiftboss_store_commits", "Group commits by the store writer",
                                  value=engine.store.writer.batches)
        yield CounterMetricFamily("shiftboss_store_ops", "Write operations committed", value=engine.store.writer.ops)
        yield GaugeMetricFamily("shiftboss_event_subscribers", "Clients streaming /v1/events", value=len(engine.broker))


def metrics_text(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(engine))  # type: ignore[arg-type]
    return generate_latest(registry)
