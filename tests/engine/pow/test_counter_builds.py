"""The specialised counter-kernel builds (engine/pow/_variants.py) hash exactly what hashlib
does, and search like the generic kernel: single-block messages with and without the low digits
spilling into a second word, and a two-block message with every digit in the second block."""

from __future__ import annotations

import numpy as np
import pytest

from engine.pow._counter import CounterWork
from engine.pow._variants import VARIANTS
from engine.pow.hashcash import HashcashWork
from engine.pow.structs import StructsWork

CASES = [
    (StructsWork(b"5-42BUILD1000NONCE"), 10**9 + 37, (0, 6, 0)),  # the bench's message
    (StructsWork(b"5-42BUILD1000NONCE7"), 10**9 + 5, (0, 6, 1)),
    (StructsWork(b"p" * 60), 10**9 + 3, (0, 0, 1)),  # 70 bytes: the digits in block 2
    (HashcashWork(b"1:20:040428:foo::0298b26853c8ebb3:"), 2**40 + 20, (1, 10, 1)),  # the bench's stamp
]


def _args(work: CounterWork, start: int, count: int, digests: np.ndarray) -> tuple[object, ...]:
    return (work.ALGO, work.mid, work.tail, np.int64(len(work.prefix)), np.uint64(start), np.int64(count),
            np.int64(10**6), np.int64(-1), digests)


@pytest.mark.slow
@pytest.mark.parametrize(("work", "start", "key"), CASES, ids=["structs", "structs-spill", "structs-2-blocks", "hashcash"])
def test_a_build_hashes_what_hashlib_does(work: CounterWork, start: int, key: tuple[int, int, int]) -> None:
    assert work._build(start) == key and work.prepare(start)
    entry = VARIANTS.entry(key, ())
    assert entry is not None
    count = 100
    out = np.zeros((count, len(work.IV)), dtype=np.uint32)
    entry(*_args(work, start, count, out), key[1], key[2])
    assert [row.astype(">u4").tobytes() for row in out] == [work.hash(n) for n in range(start, start + count)]
    generic = work._kernel().search(*_args(work, start, 5000, out[:0]), np.int64(-1), np.int64(0))
    special = entry(*_args(work, start, 5000, out[:0]), key[1], key[2])
    assert tuple(map(int, special)) == tuple(map(int, generic))


def test_a_build_refuses_a_range_it_was_not_made_for() -> None:
    work, start, key = CASES[0]
    work.prepare(10**9)
    entry = VARIANTS.entry(key, ())
    assert entry is not None
    with pytest.raises(ValueError, match="not built for"):  # eleven digits: the low ones moved
        entry(*_args(work, 10**10, 16, np.zeros((0, 8), dtype=np.uint32)), key[1], key[2])


def test_search_crosses_counter_lengths_with_the_generic_kernel_while_builds_load() -> None:
    work = StructsWork(b"5-42BUILD1000NONCE")
    result = work.search(9_990, 40, 64)  # four then five digits: two runs
    best = max(range(9_990, 10_030), key=lambda n: (work.score(work.hash(n)), -n))
    assert result.hashes == 40 and result.best_nonce == best
    assert result.best_zeros == work.score(work.hash(best))


@pytest.mark.slow
def test_a_missing_build_is_made_by_a_child_process_while_the_generic_kernel_hashes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from engine.pow._variants import Variants

    monkeypatch.setenv("SHIFTBOSS_POW_SPECIALISE", "1")
    work, start, key = CASES[0]
    variants = Variants()  # nothing loaded in this process yet
    args = _args(work, start, 16, np.zeros((0, 8), dtype=np.uint32))
    assert variants.entry(key, args, work.prefix) is None  # the caller hashes with the generic kernel
    assert variants.entry(key, args, work.prefix) is None  # and asking again starts nothing new
    deadline = time.monotonic() + 300
    while (entry := variants.entry(key, args, work.prefix)) is None:
        assert time.monotonic() < deadline and key not in variants._failed
        time.sleep(0.1)
    out = np.zeros((16, 8), dtype=np.uint32)
    entry(*_args(work, start, 16, out), key[1], key[2])
    assert out[3].astype(">u4").tobytes() == work.hash(start + 3)
