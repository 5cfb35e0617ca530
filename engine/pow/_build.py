"""``python -m engine.pow._build ALGO PREFIX_HEX N``: compile the specialised counter-kernel
build for that work's counters as long as N into Numba's cache, at a low priority, and exit
(:mod:`engine.pow._variants` runs it so the engine process never compiles while it hashes)."""

from __future__ import annotations

import os
import sys

from engine.pow.hashcash import HashcashWork
from engine.pow.structs import StructsWork


def build(algo: int, prefix: bytes, n: int) -> None:
    os.nice(10)
    work = StructsWork(prefix) if algo == 0 else HashcashWork(prefix)
    if not work.prepare(n):
        raise SystemExit(f"no specialised build for counter {n}")


if __name__ == "__main__":
    build(int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3]))
