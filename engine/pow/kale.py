"""KALE proof of work (docs/design.md §6): the work description, the kernel call, and re-verification.

``search`` runs the nogil Numba kernel (call it from a worker thread); every result the engine
accepts first goes through ``verify``, which recomputes the hash with pycryptodome.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

import numpy as np

from engine.pow._codegen import LANES
from engine.pow._kale_ref import StrkeyError, kale_hash, strkey_payload
from engine.pow._result import SearchResult, VerificationError, checked, leading_zero_nibbles

__all__ = [
    "LANES", "MAX_ZEROS", "KaleWork", "SearchResult", "VerificationError", "parse_entropy", "parse_farmer",
]

MAX_ZEROS = 64


@dataclass(frozen=True)
class KaleWork:
    """One farmer's work for one block: ``index``, 32 bytes of ``entropy``, 32-byte ``farmer``."""

    index: int
    entropy: bytes
    farmer: bytes
    base: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.index < 2**32:
            raise ValueError("index must fit in u32")
        if len(self.entropy) != 32 or len(self.farmer) != 32:
            raise ValueError("entropy and farmer must be 32 bytes each")
        block = bytearray(200)  # the 76-byte preimage in a 136-byte Keccak block, padded
        block[0:4] = self.index.to_bytes(4, "big")
        block[12:44] = self.entropy
        block[44:76] = self.farmer
        block[76] ^= 0x01
        block[135] ^= 0x80
        object.__setattr__(self, "base", np.frombuffer(bytes(block), dtype="<u8").astype(np.uint64))

    def search(self, start: int, count: int, target: int, best_zeros: int = -1) -> SearchResult:
        """Hash ``count`` nonces from ``start`` (rounded up to whole lockstep groups, and kept
        below 2**64); stop at the first with ``target`` zeros. Releases the GIL."""
        start = min(start, 2**64 - LANES)
        groups = max(1, -(-count // LANES))
        groups = min(groups, (2**64 - start) // LANES)
        from engine.pow._kale_kernel import kale_search  # numba loads only when hashing starts

        done, nonce, zeros, found = kale_search(
            self.base, np.uint64(start), np.int64(groups * LANES), np.int64(target), np.int64(best_zeros))
        improved = int(zeros) > best_zeros
        return SearchResult(int(done), int(nonce) if improved else None, int(zeros), bool(found))

    def search_cuda(self, start: int, count: int, target: int, best_zeros: int = -1) -> SearchResult:
        """:meth:`search` on the CUDA device (``[pools.x] device = "cuda"``): the whole range is
        hashed (no early stop inside a batch); a best of 16+ zeros is recounted here exactly."""
        from engine.pow import _kale_cuda

        start = min(start, 2**64 - 1)
        count = max(1, min(count, 2**64 - start))
        nonce, zeros = _kale_cuda.search(self.base, start, count)
        if zeros >= 16:
            zeros = leading_zero_nibbles(self.hash(nonce))
        improved = zeros > best_zeros
        return SearchResult(count, nonce if improved else None, max(zeros, best_zeros), zeros >= target)

    def digests(self, start: int, count: int) -> list[bytes]:
        """The kernel's digests of ``count`` nonces from ``start`` (a multiple of LANES; for tests)."""
        from engine.pow._kale_kernel import kale_digests

        out = np.zeros((count, 4), dtype=np.uint64)
        kale_digests(self.base, np.uint64(start), out)
        return [row.astype("<u8").tobytes() for row in out]

    def hash(self, nonce: int) -> bytes:
        """The reference digest (pycryptodome Keccak-256)."""
        return kale_hash(self.index, nonce, self.entropy, self.farmer)

    def verify(self, nonce: int, zeros: int) -> bytes:
        """Recompute in plain Python; raise unless ``nonce`` really has ``zeros`` leading zeros."""
        return checked(self.hash(nonce), nonce, zeros, "Keccak-256")


def parse_entropy(text: str) -> bytes:
    """32 bytes as 64 hex digits (optional 0x) or base64."""
    raw = text.strip()
    value = _hex32(raw)
    if value is not None:
        return value
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected 32 bytes as 64 hex digits or base64") from None
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return value


def parse_farmer(text: str) -> bytes:
    """A Stellar G…/C… address (checksum checked) or 32 bytes as 64 hex digits."""
    raw = text.strip()
    if raw[:1] in ("G", "C") and len(raw) == 56:
        try:
            return strkey_payload(raw)
        except StrkeyError as exc:
            raise ValueError(f"invalid Stellar address: {exc}") from None
    value = _hex32(raw)
    if value is None:
        raise ValueError("expected a Stellar G…/C… address or 32 bytes as 64 hex digits")
    return value


def _hex32(raw: str) -> bytes | None:
    """32 bytes written as 64 hex digits (optionally 0x-prefixed), else None."""
    hexed = raw[2:] if raw.lower().startswith("0x") else raw
    if len(hexed) != 64:
        return None
    try:
        return bytes.fromhex(hexed)
    except ValueError:
        return None
