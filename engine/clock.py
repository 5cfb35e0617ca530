"""Time, injected: the wall-clock seconds the engine records (job times, leases, deadlines).

The store, the scheduler and the service read one :data:`Clock` handed to them, never
``time.time()`` directly, and convert to Trio's clock only for deadlines
(``trio.current_time() + (due - clock())``). Tests pass :func:`trio_clock` so that a run under
``autojump_clock`` skips waits (backoff, delays, timeouts) instead of sleeping through them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio

Clock = Callable[[], float]

#: the real wall clock (seconds since the epoch)
wall: Clock = time.time


def trio_clock(epoch: float | None = None) -> Clock:
    """Wall-clock seconds that follow the running Trio clock (mock or real), from ``epoch``
    (default: now)."""
    start = time.time() if epoch is None else epoch
    offset = start - trio.current_time()
    return lambda: offset + trio.current_time()
