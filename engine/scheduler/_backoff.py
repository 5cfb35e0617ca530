"""Retry delays: exponential backoff with jitter, capped."""

from __future__ import annotations

import random


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retrying after failed attempt number ``attempt`` (1-based).

    ``base * 2**(attempt-1)`` capped at ``cap``, then "equal jitter": uniformly between half
    and all of it, so retries of many jobs that failed together spread out but never come
    back sooner than half the nominal delay.
    """
    nominal = min(cap, base * (2 ** min(attempt - 1, 60)))
    return nominal * (0.5 + 0.5 * (rng or random).random())
