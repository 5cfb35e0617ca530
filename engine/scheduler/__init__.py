"""Scheduler and pools: claiming, running, retrying, leasing, e-stop."""

from engine.scheduler._backoff import backoff
from engine.scheduler._context import JobContext
from engine.scheduler._scheduler import PoolRuntime, Scheduler

__all__ = ["JobContext", "PoolRuntime", "Scheduler", "backoff"]
