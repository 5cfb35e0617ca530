"""What kernels report, and the plain-Python check every reported result must pass."""

from __future__ import annotations

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


def checked(digest: bytes, nonce: int, zeros: int, algorithm: str) -> bytes:
    """``digest`` (recomputed by the reference) if it really has ``zeros`` leading zero digits."""
    actual = leading_zero_nibbles(digest)
    if actual != zeros:
        raise VerificationError(f"nonce {nonce}: kernel said {zeros} zeros, {algorithm} gives {actual}")
    return digest
