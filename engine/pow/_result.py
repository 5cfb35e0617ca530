"""What kernels report, and the plain-Python check every reported result must pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class VerificationError(ValueError):
    """A kernel result did not survive re-verification in plain Python."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    hashes: int
    best_nonce: int | None  # set when the batch beat the best it was given
    best_zeros: int
    found: bool


def leading_zero_nibbles(digest: bytes) -> int:
    hexed = digest.hex()
    return len(hexed) - len(hexed.lstrip("0"))


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def checked(digest: bytes, nonce: int, zeros: int, algorithm: str,
            score: Callable[[bytes], int] = leading_zero_nibbles) -> bytes:
    """``digest`` (recomputed by the reference) if it really scores ``zeros``."""
    actual = score(digest)
    if actual != zeros:
        raise VerificationError(f"nonce {nonce}: kernel said {zeros} zeros, {algorithm} gives {actual}")
    return digest
