"""Scheduler and pools: claiming, running, retrying, leasing, e-stop."""

from engine.scheduler._backoff import backoff
from engine.scheduler._scheduler import PoolRuntime, Scheduler

__all__ = ["PoolRuntime", "Scheduler", "backoff"]
