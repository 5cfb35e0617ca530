"""The Structs chain's difficulty rule (``CalculateDifficulty`` in structsd's
``x/structs/types/work.go``), shared by the engine (hashing, waiting jobs) and the console
(showing the difficulty now). Standard library only: the console imports it."""

from __future__ import annotations

import math


def difficulty(age: int, difficulty_range: int) -> int:
    """Leading zero hex digits a proof needs at ``age`` blocks: 64 while age ≤ 1, then falling
    as ``64 − floor(log10(age) / log10(range) × 63)``, at least 1."""
    if age <= 1:
        return 64
    return max(1, 64 - math.floor(math.log10(age) / math.log10(difficulty_range) * 63))
