"""Structs proof of work (docs/design.md §6): SHA-256 over ``{prefix}{decimal nonce}``, the falling
difficulty, the kernel call, and re-verification with hashlib."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from engine.pow._counter import CounterWork
from engine.pow._result import leading_zero_nibbles
from engine.schema.structs import difficulty

__all__ = ["ACTIONS", "StructsWork", "difficulty", "message_prefix"]

ACTIONS = ("build", "mine", "refine", "raid")
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


@dataclass(frozen=True)
class StructsWork(CounterWork):
    """SHA-256 work over ``prefix`` followed by the decimal nonce."""

    ALGO: ClassVar[int] = 0  # _counter_kernel.SHA256
    IV: ClassVar[tuple[int, ...]] = _IV
    ALGORITHM: ClassVar[str] = "SHA-256"

    def hash(self, counter: int) -> bytes:
        return hashlib.sha256(self.prefix + str(counter).encode()).digest()

    def score(self, digest: bytes) -> int:
        return leading_zero_nibbles(digest)
