"""Work over ``prefix ‖ counter digits`` (Structs, Hashcash): midstate, kernel calls, reference.
The kernel is :mod:`engine.pow._counter_kernel`, one module for both hashes (``ALGO``)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from engine.pow._result import SearchResult, checked


@dataclass(frozen=True)
class CounterWork:
    """Subclasses name their kernel algorithm, IV (its length is the digest's words) and reference."""

    ALGO: ClassVar[int]
    IV: ClassVar[tuple[int, ...]]
    ALGORITHM: ClassVar[str]

    prefix: bytes
    mid: np.ndarray = field(init=False, repr=False, compare=False)
    tail: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        whole = len(self.prefix) // 64 * 64
        state = np.array(self.IV, dtype=np.uint32)
        for i in range(0, whole, 64):  # whole blocks of the prefix: absorbed once, here
            block = np.array(struct.unpack(">16I", self.prefix[i:i + 64]), dtype=np.uint32)
            state = self._kernel().compress_scalar(self.ALGO, state, block)
        object.__setattr__(self, "mid", state)
        object.__setattr__(self, "tail", np.frombuffer(self.prefix[whole:], dtype=np.uint8).copy())

    @staticmethod
    def _kernel() -> Any:
        from engine.pow import _counter_kernel  # numba loads only when hashing starts

        return _counter_kernel

    def search(self, start: int, count: int, target: int, best_score: int = -1) -> SearchResult:
        """Hash counters ``start … start+count-1`` (kept below 2**64); stop at ``target``."""
        count = max(1, min(count, 2**64 - start))
        done, nonce, score, found = self._kernel().search(
            self.ALGO, self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(start), np.int64(count), np.int64(target),
            np.int64(best_score), np.empty((0, len(self.IV)), dtype=np.uint32))
        improved = int(score) > best_score
        return SearchResult(int(done), int(nonce) if improved else None, int(score), bool(found))

    def digests(self, start: int, count: int) -> list[bytes]:
        """The kernel's digests of ``count`` counters from ``start`` (for tests)."""
        out = np.zeros((count, len(self.IV)), dtype=np.uint32)
        self._kernel().search(self.ALGO, self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(start), np.int64(count),
                              np.int64(10**6), np.int64(-1), out)
        return [row.astype(">u4").tobytes() for row in out]

    def hash(self, counter: int) -> bytes:  # pragma: no cover - subclasses
        raise NotImplementedError

    def score(self, digest: bytes) -> int:  # pragma: no cover - subclasses
        raise NotImplementedError

    def verify(self, counter: int, score: int) -> bytes:
        """Recompute with hashlib; raise unless ``counter`` really scores ``score``."""
        return checked(self.hash(counter), counter, score, self.ALGORITHM, self.score)
