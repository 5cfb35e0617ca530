"""The Structs SHA-256 kernel against the vectors of docs/design.md §6 and hashlib, for every digit count and
for prefixes that end before, at and across 64-byte block boundaries."""

from __future__ import annotations

import random

import pytest

from engine.pow import _codegen_counter
from engine.pow._result import VerificationError
from engine.pow.structs import StructsWork, difficulty, message_prefix


def test_design_vectors() -> None:
    work = StructsWork(message_prefix("build", "5-42", 1000).encode())
    assert work.prefix == b"5-42BUILD1000NONCE"
    expected = "2ef736010167d12cb518ec84f03093eb6efb5a5d7c2cec38c3b67584cd3bad8b"
    assert work.hash(12345).hex() == expected
    assert work.digests(12340, 16)[5].hex() == expected
    first = StructsWork(message_prefix("build", "5-1", 1).encode()).search(1, 300_000, target=4)
    assert first.found and first.best_nonce == 235646 and first.best_zeros == 4


@pytest.mark.parametrize("prefix_len", [0, 1, 40, 44, 45, 55, 60, 63, 64, 65, 100, 119, 127, 128, 130])
def test_kernel_equals_hashlib_for_every_digit_count(prefix_len: int) -> None:
    rng = random.Random(prefix_len)
    work = StructsWork(bytes(rng.randrange(33, 127) for _ in range(prefix_len)))
    starts = [0, 7, 95, 998, 9_990, 99_995] + [10**d - 3 for d in range(6, 20)] + [2**64 - 20]
    starts += [rng.randrange(10 ** (d - 1), min(10**d, 2**64 - 24)) for d in range(1, 21)]
    for start in starts:
        count = min(24, 2**64 - start)
        got = work.digests(start, count)
        assert got == [work.hash(start + i) for i in range(count)], (prefix_len, start)


def test_search_tracks_the_best_and_verify_rechecks_it() -> None:
    work = StructsWork(message_prefix("mine", "8-3", 77).encode())
    result = work.search(0, 50_000, target=64)
    assert result.hashes == 50_000 and not result.found and result.best_nonce is not None
    expected = max(range(50_000), key=lambda n: (len(work.hash(n).hex()) - len(work.hash(n).hex().lstrip("0")), -n))
    assert result.best_nonce == expected
    work.verify(result.best_nonce, result.best_zeros)
    with pytest.raises(VerificationError):
        work.verify(result.best_nonce, result.best_zeros + 1)


def test_raid_prefix_and_bad_actions() -> None:
    assert message_prefix("raid", "9-1", 500, planet_id="2-7") == "9-1@2-7RAID500NONCE"
    with pytest.raises(ValueError, match="planet"):
        message_prefix("raid", "9-1", 500)
    with pytest.raises(ValueError, match="unknown action"):
        message_prefix("teleport", "9-1", 500)


def test_difficulty_falls_with_age() -> None:
    assert difficulty(0, 14000) == difficulty(1, 14000) == 64
    assert difficulty(10, 14000) == 64 - 15
    assert difficulty(14000, 14000) == 1
    assert difficulty(10**9, 14000) == 1
    values = [difficulty(age, 28000) for age in range(2, 30000, 500)]
    assert values == sorted(values, reverse=True)


def test_the_committed_kernel_is_what_the_generator_writes() -> None:
    kernel = _codegen_counter.TARGET.read_text()
    assert kernel == _codegen_counter.generate(kernel), "run: python -m engine.pow._codegen_counter"
