"""The interpreter's heap once a process has started: its long-lived objects moved out of the
garbage collector's way."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect once, then freeze what is left (``gc.freeze``). An engine with numba loaded holds
    ~150,000 start-up objects; a full collection walks them all (~90 ms on a small machine), a
    latency spike at a random moment. Frozen, they are never walked again. Call it after start-up
    and after loading the PoW kernels."""
    gc.collect()
    gc.freeze()
