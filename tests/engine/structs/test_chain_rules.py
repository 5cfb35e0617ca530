"""The local Structs chain applies the real rules: decoded protobuf transactions, secp256k1
signatures over the sign doc (chain id, account number, low-s), sequences at CheckTx and
delivery, the mempool cache, and the keeper's proof rules with its codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from cosmpy.crypto.keypairs import PrivateKey
from cosmpy.protos.cosmos.tx.v1beta1.tx_pb2 import TxRaw

from engine.chains.cometbft import tx as codec
from engine.devnets.structs import PREFIX, StructsChain
from engine.devnets.structs.chain import DuplicateTx, TxRefused
from tests.engine.structs.conftest import age_for, solve

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def setup(tmp_path: Path, difficulty_range: int = 20) -> tuple[StructsChain, PrivateKey, str, str]:
    chain = StructsChain()
    key = codec.create_key(tmp_path / "k")
    address = codec.address(key.public_key, PREFIX)
    player = chain.add_player(address)
    target = chain.add_target(player, "build", difficulty_range)
    return chain, key, address, target.id


def signed(chain: StructsChain, key: PrivateKey, msg: dict[str, object], *, sequence: int = 0,
           chain_id: str | None = None, number: int = 1) -> bytes:
    return codec.sign(key, [msg], chain_id=chain_id or chain.chain_id, account_number=number, sequence=sequence,
                      gas=200_000).raw


def advance(chain: StructsChain, blocks: int) -> None:
    for _ in range(blocks):
        chain.produce_block()


def test_a_good_proof_builds_once_and_a_second_fails_as_the_chain_does(tmp_path: Path) -> None:
    chain, key, address, struct_id = setup(tmp_path)
    start = chain.targets[("struct", struct_id)].block_start
    advance(chain, age_for(3, 20) - 1)  # the including block makes the age
    proof, nonce = solve("build", struct_id, start, 3)
    msg = codec.completion("build", address, struct_id, proof, nonce)
    assert chain.simulate(signed(chain, key, msg)) > 0
    hash_ = chain.check_tx(signed(chain, key, msg))
    with pytest.raises(DuplicateTx):
        chain.check_tx(signed(chain, key, msg))
    chain.produce_block()
    assert chain.included[hash_].code == 0 and chain.targets[("struct", struct_id)].done
    assert chain.accounts[address].sequence == 1

    with pytest.raises(TxRefused) as refused:
        chain.simulate(signed(chain, key, msg, sequence=1))
    assert refused.value.code == 1250 and "is built but must be building for build_complete" in refused.value.log
    again = chain.check_tx(signed(chain, key, msg, sequence=1))  # CheckTx does not run messages
    chain.produce_block()
    assert chain.included[again].code == 1250 and chain.accounts[address].sequence == 2  # spent anyway


def test_the_proof_is_recomputed_from_the_recorded_start_at_the_current_age(tmp_path: Path) -> None:
    chain, key, address, struct_id = setup(tmp_path)
    start = chain.targets[("struct", struct_id)].block_start
    advance(chain, 5)
    early, nonce = solve("build", struct_id, start, 2)  # two zeros: far too few at age 6
    with pytest.raises(TxRefused) as refused:
        chain.simulate(signed(chain, key, codec.completion("build", address, struct_id, early, nonce)))
    assert refused.value.code == 1800 and refused.value.codespace == "structs"
    assert f"work failure for input ({struct_id}BUILD{start}NONCE{nonce})" in refused.value.log

    advance(chain, 30)  # difficulty 1 now — but a proof from another start block never counts
    wrong, nonce = solve("build", struct_id, start + 1, 1)
    with pytest.raises(TxRefused) as refused:
        chain.simulate(signed(chain, key, codec.completion("build", address, struct_id, wrong, nonce)))
    assert refused.value.code == 1800
    good, nonce = solve("build", struct_id, start, 1)
    with pytest.raises(TxRefused) as refused:  # a proof that is not the hash of its input
        chain.simulate(signed(chain, key, codec.completion("build", address, struct_id, "0" + good[1:][::-1], nonce)))
    assert refused.value.code == 1800


def test_signatures_and_sequences_are_checked(tmp_path: Path) -> None:
    chain, key, address, struct_id = setup(tmp_path)
    msg = codec.completion("build", address, struct_id, "00", "1")
    for bad in (signed(chain, key, msg, chain_id="another-1"), signed(chain, key, msg, number=2)):
        with pytest.raises(TxRefused) as refused:
            chain.check_tx(bad)
        assert refused.value.code == 4 and "signature verification failed" in refused.value.log
    raw = signed(chain, key, msg)
    tx = codec.decode(raw)
    high_s = tx.signature[:32] + (N - int.from_bytes(tx.signature[32:], "big")).to_bytes(32, "big")
    malleated = TxRaw(body_bytes=tx.body_bytes, auth_info_bytes=tx.auth_info_bytes, signatures=[high_s])
    with pytest.raises(TxRefused) as refused:
        chain.check_tx(malleated.SerializeToString())
    assert refused.value.code == 4  # the same signature in high-s form is refused
    with pytest.raises(TxRefused) as refused:
        chain.check_tx(signed(chain, key, msg, sequence=1))
    assert refused.value.code == 32 and "account sequence mismatch, expected 0, got 1" in refused.value.log
    chain.check_tx(raw)
    chain.check_tx(signed(chain, key, {**msg, "nonce": "2"}, sequence=1))  # the mempool's view: 1 is next
    other = codec.create_key(tmp_path / "other")
    with pytest.raises(TxRefused) as refused:  # signed by a key that is not the creator's
        chain.check_tx(signed(chain, other, msg))
    assert refused.value.code == 8
    with pytest.raises(TxRefused) as refused:
        chain.check_tx(b"\x0a\x03abc")
    assert refused.value.code == 2


def test_only_the_owner_may_complete_and_mining_starts_a_new_cycle(tmp_path: Path) -> None:
    chain, key, address, _ = setup(tmp_path)
    mine = chain.add_target(chain.add_player(address), "mine", 20)  # add_player: the existing id
    other_key = codec.create_key(tmp_path / "other")
    other = codec.address(other_key.public_key, PREFIX)
    chain.add_player(other)
    advance(chain, 30)
    proof, nonce = solve("mine", mine.id, mine.block_start, 1)
    msg = codec.completion("mine", other, mine.id, proof, nonce)
    with pytest.raises(TxRefused) as refused:
        chain.simulate(signed(chain, other_key, msg, number=2))
    assert refused.value.code == 1100
    first_start = mine.block_start
    hash_ = chain.check_tx(signed(chain, key, {**msg, "creator": address}))
    chain.produce_block()
    assert chain.included[hash_].code == 0 and mine.block_start == chain.height != first_start
