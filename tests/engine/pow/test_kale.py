"""The KALE kernel against the vectors of docs/design.md §6 and against pycryptodome's Keccak-256."""

from __future__ import annotations

import base64
import random

import pytest

from engine.pow import _codegen
from engine.pow._result import leading_zero_nibbles
from engine.pow.kale import LANES, KaleWork, VerificationError, parse_entropy, parse_farmer

ZERO = bytes(32)


def farmer_byte(last: int) -> bytes:
    return bytes(31) + bytes([last])


VECTORS = [
    (37, base64.b64decode("AAAAAAn66y/43JP7M02rwTmONZoWOmu1OPYz/bmzJ8o="),
     parse_farmer("GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE"), 20495217910,
     "0000000099be0037e5a48324959cb9dd10965ae59511cfd1996f9b917aad9980"),
    (0, ZERO, farmer_byte(4), 26428569, "000000e9acb451f7830969e9aab5edb9c2f28c4e70096e723b75f303fbdcad11"),
    (0, ZERO, farmer_byte(5), 36205151, "000000039a0708ea018d9158a784fba3bc338e07c84db4941d5b0e98daa7995b"),
    (0, ZERO, farmer_byte(6), 1972700706, "0000000064de5fda472adf58a2c5f5946b5c4e66e57d8cbe3e9393afe4357a96"),
    (0, ZERO, farmer_byte(7), 50600046851, "00000000013ccae976811077e2554ade4bebcbff7902acd99716a445e7ceb595"),
]


@pytest.mark.parametrize(("index", "entropy", "farmer", "nonce", "digest"), VECTORS)
def test_design_vectors(index: int, entropy: bytes, farmer: bytes, nonce: int, digest: str) -> None:
    work = KaleWork(index, entropy, farmer)
    assert work.hash(nonce).hex() == digest  # the reference
    start = nonce - nonce % LANES
    assert work.digests(start, LANES)[nonce - start].hex() == digest  # the kernel
    zeros = leading_zero_nibbles(bytes.fromhex(digest))
    found = work.search(nonce - 5, 16, target=zeros)  # the search stops on it
    assert found.found and found.best_nonce == nonce and found.best_zeros == zeros
    assert work.verify(nonce, zeros).hex() == digest


def test_kernel_digests_equal_keccak_at_edge_and_random_nonces() -> None:
    rng = random.Random(4)
    for _ in range(6):
        work = KaleWork(rng.randrange(2**32), rng.randbytes(32), rng.randbytes(32))
        for start in (0, 2**32 - LANES, 2**32, 2**64 - LANES, rng.randrange(2**64 - LANES)):
            start -= start % LANES
            for i, digest in enumerate(work.digests(start, LANES)):
                assert digest == work.hash(start + i), (work, start + i)


def test_search_keeps_the_best_and_reports_every_hash() -> None:
    work = KaleWork(1, bytes(range(32)), farmer_byte(9))
    first = work.search(0, 4000, target=64)
    assert first.hashes == 4000 and not first.found
    assert first.best_nonce is not None
    assert first.best_zeros == max(leading_zero_nibbles(work.hash(n)) for n in range(4000))
    again = work.search(4000, 4000, target=64, best_zeros=first.best_zeros)
    if again.best_nonce is not None:
        assert again.best_zeros > first.best_zeros
    else:
        assert again.best_zeros == first.best_zeros


def test_verification_catches_a_wrong_claim() -> None:
    work = KaleWork(0, ZERO, farmer_byte(4))
    with pytest.raises(VerificationError, match="Keccak-256 gives 6"):
        work.verify(26428569, 7)


def test_payload_parsing_names_what_is_wrong() -> None:
    assert parse_entropy("0x" + "ab" * 32) == bytes([0xAB]) * 32
    assert parse_entropy(base64.b64encode(bytes(32)).decode()) == bytes(32)
    with pytest.raises(ValueError, match="32 bytes"):
        parse_entropy(base64.b64encode(bytes(31)).decode())
    good = "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE"
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    with pytest.raises(ValueError, match="checksum"):
        parse_farmer(bad)
    with pytest.raises(ValueError, match="Stellar"):
        parse_farmer("not a farmer")
    assert parse_farmer("00" * 32) == bytes(32)


def test_the_committed_kernel_is_what_the_generator_writes() -> None:
    assert _codegen.TARGET.read_text() == _codegen.generate(), "run: python -m engine.pow._codegen"
    assert _codegen.CUDA_TARGET.read_text() == _codegen.generate_cuda(), "run: python -m engine.pow._codegen"
