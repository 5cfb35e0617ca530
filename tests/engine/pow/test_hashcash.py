"""The Hashcash SHA-1 kernel against the vector of docs/design.md §6 and hashlib."""

from __future__ import annotations

import random

import pytest

from engine.pow._result import VerificationError
from engine.pow.hashcash import HashcashWork, stamp_prefix

VECTOR = "1:20:040428:foo::0298b26853c8ebb3:beca0"


def test_design_vector() -> None:
    work = HashcashWork(VECTOR.rsplit(":", 1)[0].encode() + b":")
    counter = int("beca0", 16)
    assert work.hash(counter).hex() == "0000035566db5515582d30e899155ba237b9e82c"
    assert work.score(work.hash(counter)) == 22
    assert work.digests(counter - 3, 16)[3] == work.hash(counter)
    found = work.search(0, 2_000_000, target=20)
    assert found.found and found.best_nonce == counter and found.best_zeros == 22  # the first ≥ 20 bits
    assert work.stamp(counter) == VECTOR
    assert work.verify(counter, 22) == work.hash(counter)
    with pytest.raises(VerificationError, match="SHA-1 gives 22"):
        work.verify(counter, 23)


@pytest.mark.parametrize("prefix_len", [0, 5, 34, 55, 56, 63, 64, 70, 119, 128, 140])
def test_kernel_equals_hashlib_for_every_counter_width(prefix_len: int) -> None:
    rng = random.Random(prefix_len)
    work = HashcashWork(bytes(rng.randrange(33, 127) for _ in range(prefix_len)))
    starts = [0, 7, 250, 4_090, 65_530, 2**64 - 20] + [16**w - 3 for w in range(5, 16)]
    starts += [rng.randrange(16 ** (w - 1), min(16**w, 2**64 - 24)) for w in range(1, 17)]
    for start in starts:
        count = min(24, 2**64 - start)
        assert work.digests(start, count) == [work.hash(start + i) for i in range(count)], (prefix_len, start)


def test_stamp_prefix() -> None:
    prefix = stamp_prefix(20, "alice@example.org", date="261123", rand="00ff")
    assert prefix == "1:20:261123:alice@example.org::00ff:"
    assert stamp_prefix(8, "x").startswith("1:8:")
    with pytest.raises(ValueError, match="':'"):
        stamp_prefix(8, "a:b")
