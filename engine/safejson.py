"""JSON from outside the engine (API bodies, RPC answers), decoded with a bound on nesting.

msgspec's decoder recurses in C and relies on the interpreter's recursion limit to stop; a
library that raises that limit at import (py_ecc sets 100,000) turns a deeply nested body into a
segfault. So the depth is measured first, on the raw bytes, without recursion: strings are cut
out, the brackets that remain are mapped to +1/−1, and the running sum's maximum is the depth —
all of it in C (``re``, ``bytes.translate``, ``itertools.accumulate``).
"""

from __future__ import annotations

import re
import sys
from itertools import accumulate
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

#: deeper than any payload, filter or RPC answer the engine reads
MAX_DEPTH = 64
#: the interpreter's recursion limit while the engine runs (Python's default)
RECURSION_LIMIT = 1000

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class TooDeep(ValueError):
    """The JSON nests deeper than allowed (nothing was decoded)."""


def depth(raw: bytes) -> int:
    """How deep the arrays and objects of ``raw`` nest (0 for a scalar). Brackets inside
    strings do not count; malformed input may measure deeper than it is, never shallower."""
    if raw.count(b"[") + raw.count(b"{") <= 1:
        return int(b"[" in raw or b"{" in raw)
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(accumulate(memoryview(brackets.translate(_STEPS)).cast("b"))))


def check_depth(raw: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeep` if ``raw`` nests deeper than ``max_depth``."""
    if raw.count(b"[") + raw.count(b"{") > max_depth and (found := depth(raw)) > max_depth:
        raise TooDeep(f"JSON nested {found} levels deep; at most {max_depth} are accepted")


def decode(raw: bytes, *, type: type[T] = Any, max_depth: int = MAX_DEPTH) -> T:  # type: ignore[assignment]
    """``msgspec.json.decode`` after checking the nesting depth (:class:`TooDeep`); msgspec's own
    errors (``DecodeError``, ``ValidationError``) pass through."""
    check_depth(raw, max_depth)
    return msgspec.json.decode(raw, type=type)


def pin_recursion_limit() -> int | None:
    """Put the recursion limit back to :data:`RECURSION_LIMIT` if an import changed it; returns
    the limit found when it had been changed (for the log), else None."""
    found = sys.getrecursionlimit()
    if found == RECURSION_LIMIT:
        return None
    sys.setrecursionlimit(RECURSION_LIMIT)
    return found
