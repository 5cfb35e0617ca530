"""Sortable job ids: a kind prefix and a monotonic ULID (``noop_01JD3…``)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class UlidFactory:
    """ULIDs that sort by creation even within one millisecond (monotonic random part)."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_rand = 0

    def new(self) -> str:
        ms = time.time_ns() // 1_000_000
        if ms <= self._last_ms:
            ms = self._last_ms
            rand = self._last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        self._last_ms, self._last_rand = ms, rand
        value = (ms << 80) | rand
        chars = []
        for _ in range(26):
            chars.append(_ALPHABET[value & 31])
            value >>= 5
        return "".join(reversed(chars))


_factory = UlidFactory()


def job_id(kind: str) -> str:
    """A new job id for ``kind``: the kind with dots as dashes, ``_``, then a ULID."""
    return f"{kind.replace('.', '-')}_{_factory.new()}"
