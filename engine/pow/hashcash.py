"""Hashcash (docs/design.md §6), a generic kind: v1 stamps ``1:bits:date:resource:ext:rand:counter``
whose SHA-1 starts with ``bits`` zero bits; the counter is the stamp's last field, in hex."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import ClassVar

from engine.pow._counter import CounterWork
from engine.pow._result import leading_zero_bits

__all__ = ["HashcashWork", "stamp_prefix"]


def stamp_prefix(bits: int, resource: str, *, date: str | None = None, ext: str = "", rand: str | None = None) -> str:
    """Everything of a v1 stamp but the counter: ``1:bits:YYMMDD:resource:ext:rand:``."""
    if ":" in resource or ":" in ext:
        raise ValueError("resource and ext must not contain ':'")
    date = date or time.strftime("%y%m%d", time.gmtime())
    rand = rand or secrets.token_hex(8)
    return f"1:{bits}:{date}:{resource}:{ext}:{rand}:"


@dataclass(frozen=True)
class HashcashWork(CounterWork):
    """SHA-1 work over a stamp prefix followed by the hex counter."""

    ALGO: ClassVar[int] = 1  # _counter_kernel.SHA1
    IV: ClassVar[tuple[int, ...]] = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    ALGORITHM: ClassVar[str] = "SHA-1"

    def hash(self, counter: int) -> bytes:
        return hashlib.sha1(self.prefix + f"{counter:x}".encode()).digest()

    def score(self, digest: bytes) -> int:
        return leading_zero_bits(digest)

    def stamp(self, counter: int) -> str:
        return self.prefix.decode() + f"{counter:x}"
