"""Live counters derived from the event stream: jobs per (pool, state) and completion rates.

Seeded once from the database at start, then kept exact by applying every committed event, so
``/v1/status`` and ``/metrics`` never scan the jobs table.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from engine.schema import Event

_WINDOW = 60  # seconds of per-second buckets kept for rates


class Stats:
    def __init__(self, counts: dict[tuple[str, str], int] | None = None) -> None:
        self.counts: defaultdict[tuple[str, str], int] = defaultdict(int, counts or {})
        self.completed_total: defaultdict[str, int] = defaultdict(int)
        self.failed_total: defaultdict[str, int] = defaultdict(int)
        #: job state changes since start by (pool, new state): retried, cancelled, expired …
        self.transitions: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._buckets: defaultdict[str, deque[list[int]]] = defaultdict(deque)  # [second, completed, failed]

    def apply(self, events: list[Event]) -> None:
        counts = self.counts
        for e in events:
            if e.type == "job.state":
                pool = e.pool or ""
                old, new = e.data["from"], e.data["to"]
                counts[(pool, old)] -= 1
                counts[(pool, new)] += 1
                self.transitions[(pool, new)] += 1
                if new == "completed":
                    self._bump(pool, e.ts, 1)
                elif new == "failed":
                    self._bump(pool, e.ts, 2)
            elif e.type == "job.submitted":
                counts[(e.pool or "", e.data["state"])] += 1

    def _bump(self, pool: str, ts: float, column: int) -> None:
        (self.completed_total if column == 1 else self.failed_total)[pool] += 1
        second = int(ts)
        buckets = self._buckets[pool]
        if not buckets or buckets[-1][0] != second:
            buckets.append([second, 0, 0])
            while buckets[0][0] <= second - _WINDOW:
                buckets.popleft()
        buckets[-1][column] += 1

    def pool_count(self, pool: str, state: str) -> int:
        return self.counts.get((pool, state), 0)

    def by_state(self) -> dict[str, int]:
        out: defaultdict[str, int] = defaultdict(int)
        for (_pool, state), n in self.counts.items():
            if n:
                out[state] += n
        return dict(out)

    def rates(self, pool: str, now: float | None = None) -> tuple[float, float]:
        """Completed and failed jobs per second over the last minute."""
        now = time.time() if now is None else now
        start = int(now) - _WINDOW
        done = failed = 0
        for second, c, f in self._buckets.get(pool, ()):
            if second > start:
                done += c
                failed += f
        return done / _WINDOW, failed / _WINDOW
