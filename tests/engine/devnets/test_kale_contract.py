"""The devnet's model of the KALE farm contract, against the contract's own test scenario
(kalepail/KALE-sc src/tests/test.rs: its farmers, stakes, nonces and hashes) and the reference's
published figures, rule by rule."""

from __future__ import annotations

import pytest
from stellar_sdk import Keypair, StrKey

from engine.devnets.kale.contract import (
    BLOCK_INTERVAL,
    Asset,
    ContractError,
    KaleFarm,
    block_reward,
    farm_hash,
    normalizations,
    zeros_of,
)

# test.rs registers the homesteader (1), the asset (2) and the farm (3), then generates farmers 4…7
FARMERS = [StrKey.encode_contract(bytes(31) + bytes([n])) for n in range(4, 8)]
NONCES = {FARMERS[0]: 26428569, FARMERS[1]: 36205151, FARMERS[2]: 1972700706, FARMERS[3]: 50600046851}
T0, SEQ0 = 1_700_000_000, 100


def funded_farm() -> KaleFarm:
    farm = KaleFarm(StrKey.encode_contract(bytes(31) + bytes([1])), now=T0)
    for farmer, amount in zip(FARMERS, (1_0000000, 1000, 0, 1000000), strict=True):
        farm.state.asset.mint(farmer, amount)  # type: ignore[union-attr]
    return farm


def test_the_published_figures() -> None:
    assert block_reward(0) == block_reward(30558) == 25_050_000_000
    assert block_reward(39198) == 23_797_500_000 and block_reward(78320) == 19_383_212_484
    digest = farm_hash(37, 20495217910, bytes.fromhex("00000000" "09faeb2ff8dc93fb334dabc1398e359a163a6bb538f633fdb9b327ca"),
                       "GBQHTQ7NTSKHVTSVM6EHUO3TU4P4BK2TAAII25V2TT2Q6OWXUJWEKALE")
    assert digest.hex() == "0000000099be0037e5a48324959cb9dd10965ae59511cfd1996f9b917aad9980" and zeros_of(digest) == 8
    assert [zeros_of(farm_hash(0, NONCES[f], bytes(32), f)) for f in FARMERS] == [6, 7, 8, 9]
    assert zeros_of(bytes([0, 0, 0x0F]) + bytes(29)) == 5 and zeros_of(bytes([0x10]) + bytes(31)) == 0


def test_the_contracts_own_scenario() -> None:
    farm = funded_farm()
    stakes = dict(zip(FARMERS, (1_0000000, 1000, 0, 1000000), strict=True))
    for farmer in FARMERS:
        farm.plant(farmer, stakes[farmer], now=T0, sequence=SEQ0)
    block = farm.state.blocks[0]
    assert farm.state.farm_index == 0 and block.staked_total == sum(stakes.values())
    first = farm_hash(0, 0, bytes(32), FARMERS[0])
    assert farm.work(FARMERS[0], first, 0, sequence=SEQ0 + 1) == 1
    farm.work(FARMERS[3], farm_hash(0, NONCES[FARMERS[3]], bytes(32), FARMERS[3]), NONCES[FARMERS[3]], sequence=SEQ0 + 1)
    with pytest.raises(ContractError) as err:  # the same zeros again
        farm.work(FARMERS[0], first, 0, sequence=SEQ0 + 1)
    assert err.value.code == 7 and err.value.name == "ZeroCountTooLow"
    farm.work(FARMERS[0], farm_hash(0, NONCES[FARMERS[0]], bytes(32), FARMERS[0]), NONCES[FARMERS[0]], sequence=SEQ0 + 1)
    for farmer in FARMERS[1:3]:
        farm.work(farmer, farm_hash(0, NONCES[farmer], bytes(32), farmer), NONCES[farmer], sequence=SEQ0 + 20)
    block = farm.state.blocks[0]  # a failed call restores the state from before it: read it again
    assert block.staked_total == 0  # every stake reclaimed by a first work
    # block 0's ranges are all 0 (no earlier block): every contribution is 1 + 1 + 1
    assert block.normalized_total == 3 * 4
    entropy = farm.state.farm_block.entropy  # type: ignore[union-attr]
    assert entropy == farm_hash(0, NONCES[FARMERS[2]], bytes(32), FARMERS[2])  # the last work's hash
    farm.plant(FARMERS[0], 0, now=T0 + BLOCK_INTERVAL, sequence=SEQ0 + 60)  # opens block 1
    assert farm.state.farm_index == 1 and farm.state.blocks[1].entropy == entropy
    assert (farm.state.blocks[1].min_gap, farm.state.blocks[1].max_gap) == (1, 20)
    assert (farm.state.blocks[1].min_zeros, farm.state.blocks[1].max_zeros) == (0, 9)  # sentinels only where unset
    assert (farm.state.blocks[1].min_stake, farm.state.blocks[1].max_stake) == (0, 1_0000000)
    before = dict(farm.state.asset.balances)  # type: ignore[union-attr]
    rewards = [farm.harvest(farmer, 0) for farmer in FARMERS]
    assert rewards == [25_050_000_000 * 3 // 12] * 4
    for farmer, reward in zip(FARMERS, rewards, strict=True):  # reward plus the stake back
        assert farm.state.asset.balances[farmer] - before.get(farmer, 0) == reward + stakes[farmer]  # type: ignore[union-attr]
    with pytest.raises(ContractError) as err:
        farm.harvest(FARMERS[0], 0)
    assert err.value.code == 9  # the pail is gone


def test_errors_come_in_the_contracts_order_and_change_nothing() -> None:
    farm = funded_farm()
    with pytest.raises(ContractError, match="#6"):
        farm.plant(FARMERS[0], -1, now=T0, sequence=SEQ0)
    farm.state.paused = True
    with pytest.raises(ContractError, match="#4"):
        farm.plant(FARMERS[0], 5, now=T0, sequence=SEQ0)
    farm.state.paused = False
    with pytest.raises(ContractError) as err:  # more than the balance: the asset contract's #10
        farm.plant(FARMERS[2], 1, now=T0, sequence=SEQ0)
    assert (err.value.code, err.value.contract) == (10, "sac")
    assert farm.state.pails == {} and farm.state.blocks == {}  # rolled back, genesis block included
    account = Keypair.random().public_key
    with pytest.raises(ContractError) as err:
        farm.plant(account, 1, now=T0, sequence=SEQ0)
    assert (err.value.code, err.value.name) == (13, "TrustlineMissing")
    farm.plant(FARMERS[0], 5, now=T0, sequence=SEQ0)
    with pytest.raises(ContractError, match="#8"):
        farm.plant(FARMERS[0], 5, now=T0 + 1, sequence=SEQ0 + 1)
    digest = farm_hash(0, 1, bytes(32), FARMERS[0])
    with pytest.raises(ContractError, match="#15"):  # gap 0 is checked before the hash
        farm.work(FARMERS[0], bytes(32), 1, sequence=SEQ0)
    with pytest.raises(ContractError, match="#13"):
        farm.work(FARMERS[0], bytes(32), 1, sequence=SEQ0 + 1)
    with pytest.raises(ContractError, match="#9"):
        farm.work(FARMERS[1], digest, 1, sequence=SEQ0 + 1)
    with pytest.raises(ContractError, match="#14"):  # block 0 is still the current one
        farm.harvest(FARMERS[0], 0)
    farm.plant(FARMERS[1], 0, now=T0 + BLOCK_INTERVAL, sequence=SEQ0 + 61)
    with pytest.raises(ContractError, match="#10"):  # planted, never worked
        farm.harvest(FARMERS[0], 0)
    with pytest.raises(ContractError, match="#9"):  # work after the next block opened
        farm.work(FARMERS[0], digest, 1, sequence=SEQ0 + 62)
    with pytest.raises(ContractError, match="#11"):
        farm.harvest(FARMERS[0], 7)


def test_a_rework_subtracts_the_old_contribution_recomputed_with_the_new_gap() -> None:
    farm = funded_farm()
    farm.state.farm_block.max_gap, farm.state.farm_block.min_gap = 50, 10  # type: ignore[union-attr]
    farm.state.farm_block.max_zeros, farm.state.farm_block.min_zeros = 9, 5  # type: ignore[union-attr]
    farm.plant(FARMERS[0], 0, now=T0, sequence=SEQ0)
    farm.plant(FARMERS[1], 0, now=T0 + BLOCK_INTERVAL, sequence=SEQ0 + 1)  # block 1, ranges from above
    farmer = FARMERS[1]
    block = farm.state.blocks[1]
    low = next(n for n in range(10_000) if zeros_of(farm_hash(1, n, block.entropy, farmer)) == 1)
    high = next(n for n in range(100_000) if zeros_of(farm_hash(1, n, block.entropy, farmer)) == 3)
    farm.work(farmer, farm_hash(1, low, block.entropy, farmer), low, sequence=SEQ0 + 21)  # gap 20
    after_first = farm.state.blocks[1].normalized_total
    assert after_first == sum(normalizations(block, 20, 0, 1))
    farm.work(farmer, farm_hash(1, high, block.entropy, farmer), high, sequence=SEQ0 + 41)  # gap 40
    quirk = after_first + sum(normalizations(block, 40, 0, 3)) - sum(normalizations(block, 40, 0, 1))
    honest = after_first + sum(normalizations(block, 40, 0, 3)) - sum(normalizations(block, 20, 0, 1))
    assert farm.state.blocks[1].normalized_total == quirk != honest


def test_an_evicted_block_is_recreated_under_the_next_index_without_resetting_the_statistics() -> None:
    farm = funded_farm()
    farm.plant(FARMERS[0], 0, now=T0, sequence=SEQ0)
    farm.plant(FARMERS[0], 0, now=T0 + BLOCK_INTERVAL, sequence=SEQ0 + 60)  # block 1
    farm.work(FARMERS[0], farm_hash(1, 3, bytes(32), FARMERS[0]), 3, sequence=SEQ0 + 64)
    running = farm.state.farm_block
    farm.evict(1)
    farm.plant(FARMERS[1], 0, now=T0 + BLOCK_INTERVAL + 10, sequence=SEQ0 + 65)  # same window, Block(1) gone
    assert farm.state.farm_index == 2 and farm.state.farm_block == running  # not reset
    assert farm.state.blocks[2].max_gap == 4 and farm.state.blocks[2].entropy == running.entropy  # type: ignore[union-attr]
    farm.evict(0)  # at index 0 a missing block is the genesis one: no bump
    fresh = funded_farm()
    fresh.plant(FARMERS[0], 0, now=T0, sequence=SEQ0)
    fresh.evict(0)
    fresh.plant(FARMERS[1], 0, now=T0 + 1, sequence=SEQ0 + 1)
    assert fresh.state.farm_index == 0


def test_the_asset_holds_what_is_minted_and_burnt() -> None:
    asset = Asset()
    account = Keypair.random().public_key
    asset.trustlines.add(account)
    asset.mint(account, 10)
    asset.burn(account, 4)
    assert asset.balances[account] == 6
