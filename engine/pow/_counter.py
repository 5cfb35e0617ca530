"""Work over ``prefix ‖ counter digits`` (Structs, Hashcash): midstate, kernel calls, reference.
The kernel is :mod:`engine.pow._counter_kernel`, one module for both hashes (``ALGO``)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from engine.pow._result import SearchResult, checked
from engine.pow._variants import VARIANTS


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
        """Hash counters ``start … start+count-1`` (kept below 2**64); stop at ``target``. Each
        run of same-length counters goes to the kernel build made for where its digits fall
        (:mod:`engine.pow._variants`), or to the generic kernel while that build loads."""
        count = max(1, min(count, 2**64 - start))
        n, end = start, start + count
        hashes, best, best_nonce, found = 0, best_score, None, False
        none = np.empty((0, len(self.IV)), dtype=np.uint32)
        while n < end and not found:
            run_end = min(end, self._longer(n))
            args = (self.ALGO, self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(n), np.int64(run_end - n),
                    np.int64(target), np.int64(best), none)
            key = self._build(n)
            entry = VARIANTS.entry(key, args, self.prefix) if key is not None else None
            if entry is not None:
                done, nonce, score, found = entry(*args, key[1], key[2])  # type: ignore[index]
            else:
                done, nonce, score, found = self._kernel().search(*args, np.int64(-1), np.int64(0))
            hashes += int(done)
            if int(score) > best:
                best, best_nonce = int(score), int(nonce)
            n = run_end
        return SearchResult(hashes, best_nonce if best > best_score else None, best, bool(found))

    def prepare(self, n: int) -> bool:
        """Load the build for counters as long as ``n`` now (benchmarks, tests); the engine
        loads builds in the background. False if ``n`` has no build (the generic kernel)."""
        key = self._build(n)
        if key is None:
            return False
        VARIANTS.load_now(key, (self.ALGO, self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(n), np.int64(1),
                                np.int64(1), np.int64(-1), np.empty((0, len(self.IV)), dtype=np.uint32)))
        return True

    def _longer(self, n: int) -> int:
        """The first counter after ``n`` with more digits (2**64 past the last)."""
        base = 10 if self.ALGO == 0 else 16
        length = base
        while length <= n:
            length *= base
        return min(length, 2**64)

    def _build(self, n: int) -> tuple[int, int, int] | None:
        """The specialised build for the run of counters with as many digits as ``n``: the word
        its four low digits start in (within the block they are in) and whether they spill into
        the next; None where the generic kernel does it (fewer than four digits, or the digits
        in the first of two blocks)."""
        digits = len(f"{n:d}" if self.ALGO == 0 else f"{n:x}")
        if digits < 4:
            return None
        t = len(self.tail)
        p = t + digits - 4  # the byte the four low digits start at
        blocks = 1 if t + digits + 9 <= 64 else 2
        if blocks == 2 and p < 64:
            return None
        p -= 64 * (blocks - 1)
        return (self.ALGO, p // 4, 1 if p % 4 else 0)

    def digests(self, start: int, count: int) -> list[bytes]:
        """The kernel's digests of ``count`` counters from ``start`` (for tests)."""
        out = np.zeros((count, len(self.IV)), dtype=np.uint32)
        self._kernel().search(self.ALGO, self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(start), np.int64(count),
                              np.int64(10**6), np.int64(-1), out, np.int64(-1), np.int64(0))
        return [row.astype(">u4").tobytes() for row in out]

    def hash(self, counter: int) -> bytes:  # pragma: no cover - subclasses
        raise NotImplementedError

    def score(self, digest: bytes) -> int:  # pragma: no cover - subclasses
        raise NotImplementedError

    def verify(self, counter: int, score: int) -> bytes:
        """Recompute with hashlib; raise unless ``counter`` really scores ``score``."""
        return checked(self.hash(counter), counter, score, self.ALGORITHM, self.score)
