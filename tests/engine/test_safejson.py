"""Nesting depth measured on raw JSON, without recursion; the recursion limit pinned."""

from __future__ import annotations

import sys

import msgspec
import pytest

from engine import safejson


@pytest.mark.parametrize(("raw", "expected"), [
    (b"1", 0), (b'"[[["', 0), (b"{}", 1), (b"[[1, [2]], {}]", 3), (b'{"a": "]]]]", "b": [[[]]]}', 4),
    (b'["\\"]]", [[]]]', 3), (b'["a\\\\", [[]]]', 3), (b"[" * 5000 + b"]" * 5000, 5000),
])
def test_depth_counts_brackets_outside_strings(raw: bytes, expected: int) -> None:
    assert safejson.depth(raw) == expected


def test_decode_refuses_too_deep_and_decodes_the_rest() -> None:
    with pytest.raises(safejson.TooDeep, match="65 levels deep; at most 64"):
        safejson.decode(b"[" * 65 + b"]" * 65)
    assert safejson.decode(b"[" * 64 + b"]" * 64) is not None
    assert safejson.decode(b'{"a": [1, {"b": "]]]]"}]}') == {"a": [1, {"b": "]]]]"}]}
    with pytest.raises(msgspec.DecodeError):
        safejson.decode(b"[1,")


def test_an_import_that_raised_the_recursion_limit_is_undone() -> None:
    before = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(100_000)  # what py_ecc does at import
        assert safejson.pin_recursion_limit() == 100_000
        assert sys.getrecursionlimit() == safejson.RECURSION_LIMIT
        assert safejson.pin_recursion_limit() is None
    finally:
        sys.setrecursionlimit(before)
