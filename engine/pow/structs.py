"""Structs proof of work (DESIGN §4): SHA-256 over ``{prefix}{decimal nonce}``, the falling
difficulty, the kernel call, and re-verification with hashlib."""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

import numpy as np

from engine.pow._result import SearchResult, checked

__all__ = ["ACTIONS", "StructsWork", "difficulty", "message_prefix"]

ACTIONS = ("build", "mine", "refine", "raid")
_NO_DIGESTS = np.empty((0, 8), dtype=np.uint32)
_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)


def message_prefix(action: str, object_id: str, block_start: int, planet_id: str | None = None) -> str:
    """``{objectId}{ACTION}{blockStart}NONCE`` — for raids ``{fleetId}@{planetId}RAID{blockStart}NONCE``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if action == "raid":
        if not planet_id:
            raise ValueError("a raid needs the planet id")
        return f"{object_id}@{planet_id}RAID{block_start}NONCE"
    return f"{object_id}{action.upper()}{block_start}NONCE"


def difficulty(age: int, difficulty_range: int) -> int:
    """Leading zero hex digits a proof needs at ``age`` blocks: 64 while age ≤ 1, then falling
    as ``64 − floor(log10(age) / log10(range) × 63)``, at least 1."""
    if age <= 1:
        return 64
    return max(1, 64 - math.floor(math.log10(age) / math.log10(difficulty_range) * 63))


@dataclass(frozen=True)
class StructsWork:
    """SHA-256 work over ``prefix`` followed by the decimal nonce."""

    prefix: bytes
    mid: np.ndarray = field(init=False, repr=False, compare=False)
    tail: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        whole = len(self.prefix) // 64 * 64
        state = np.array(_IV, dtype=np.uint32)
        if whole:
            from engine.pow._structs_kernel import _compress_scalar  # numba loads only when needed

            for i in range(0, whole, 64):
                block = np.array(struct.unpack(">16I", self.prefix[i:i + 64]), dtype=np.uint32)
                state = _compress_scalar(state, block)
        object.__setattr__(self, "mid", state)
        object.__setattr__(self, "tail", np.frombuffer(self.prefix[whole:], dtype=np.uint8).copy())

    def search(self, start: int, count: int, target: int, best_zeros: int = -1) -> SearchResult:
        """Hash nonces ``start … start+count-1`` (kept below 2**64); stop at ``target`` zeros."""
        from engine.pow._structs_kernel import structs_search

        count = max(1, min(count, 2**64 - start))  # the kernel takes an inclusive last nonce
        done, nonce, zeros, found = structs_search(
            self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(start), np.int64(count), np.int64(target),
            np.int64(best_zeros), _NO_DIGESTS)
        improved = int(zeros) > best_zeros
        return SearchResult(int(done), int(nonce) if improved else None, int(zeros), bool(found))

    def digests(self, start: int, count: int) -> list[bytes]:
        """The kernel's digests of ``count`` nonces from ``start`` (for tests)."""
        from engine.pow._structs_kernel import structs_search

        out = np.zeros((count, 8), dtype=np.uint32)
        structs_search(self.mid, self.tail, np.int64(len(self.prefix)), np.uint64(start), np.int64(count),
                       np.int64(65), np.int64(-1), out)
        return [row.astype(">u4").tobytes() for row in out]

    def hash(self, nonce: int) -> bytes:
        return hashlib.sha256(self.prefix + str(nonce).encode()).digest()

    def verify(self, nonce: int, zeros: int) -> bytes:
        """Recompute with hashlib; raise unless ``nonce`` really has ``zeros`` leading zeros."""
        return checked(self.hash(nonce), nonce, zeros, "SHA-256")
