"""A model of the KALE farm contract (kalepail/KALE-sc @96a0241, ``contract_farm.rs``) and of
the KALE Stellar Asset Contract it mints and burns through — for the local KALE devnet only.

Every rule follows the contract's code line by line, in its order (which error wins when several
apply), with its integer maths (``fixed_mul_floor`` is ``x * y // z``) and its quirks: blocks
advance only on ``plant``; a new block copies the previous block's statistics with the sentinels
turned to 0; an evicted block is recreated without resetting the running statistics; a re-work
subtracts the old contribution recomputed with the *new* gap; the stake of a farmer who never
worked stays in the block's pool. A call that fails changes nothing (Soroban rolls back).

Addresses are strkeys (``G…`` accounts, ``C…`` contracts); the hash uses the last 32 bytes of
the address's XDR, which is the strkey's payload for both.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from engine.pow._kale_ref import kale_hash, strkey_payload

BLOCK_INTERVAL = 300  # seconds, against the ledger's close time
BLOCK_REWARD = 501_0000000 * BLOCK_INTERVAL // 60
BLOCKS_PER_MONTH = 24 * 60 // 5 * 30
BLOCK_SCALE = 100_0000000000
INVERSE_DECAY_RATE = BLOCK_SCALE - 5_0000000000
V2_GENESIS_BLOCK = 30_558
U32_MAX = 2**32 - 1
I128_MAX = 2**127 - 1
I128_MIN = -(2**127)

ERRORS = {1: "HomesteadExists", 2: "HomesteadMissing", 3: "FarmBlockMissing", 4: "FarmPaused", 5: "FarmNotPaused",
          6: "PlantAmountTooLow", 7: "ZeroCountTooLow", 8: "PailExists", 9: "PailMissing", 10: "WorkMissing",
          11: "BlockMissing", 12: "BlockInvalid", 13: "HashInvalid", 14: "HarvestNotReady", 15: "GapCountTooLow"}
SAC_ERRORS = {10: "BalanceError", 13: "TrustlineMissing"}


class ContractError(Exception):
    """``Error(Contract, #code)`` raised by ``contract`` ("farm" or "sac")."""

    def __init__(self, code: int, contract: str = "farm") -> None:
        self.code = code
        self.contract = contract
        self.name = (ERRORS if contract == "farm" else SAC_ERRORS).get(code, "?")
        super().__init__(f"Error(Contract, #{code}) {self.name} ({contract})")


@dataclass
class Block:
    timestamp: int
    min_gap: int = 0
    min_stake: int = 0
    min_zeros: int = 0
    max_gap: int = 0
    max_stake: int = 0
    max_zeros: int = 0
    entropy: bytes = bytes(32)
    staked_total: int = 0
    normalized_total: int = 0


@dataclass
class Pail:
    sequence: int
    gap: int | None
    stake: int
    zeros: int | None


def new_farm_block(now: int) -> Block:
    return Block(timestamp=now, min_gap=U32_MAX, min_stake=I128_MAX, min_zeros=U32_MAX,
                 max_gap=0, max_stake=I128_MIN, max_zeros=0)


def new_block(now: int, farm: Block) -> Block:
    """A block from the running statistics: sentinels (never updated) become 0."""
    return Block(
        timestamp=now,
        min_gap=0 if farm.min_gap == U32_MAX else farm.min_gap,
        min_stake=0 if farm.min_stake == I128_MAX else farm.min_stake,
        min_zeros=0 if farm.min_zeros == U32_MAX else farm.min_zeros,
        max_gap=farm.max_gap,  # u32::MIN is 0 already
        max_stake=0 if farm.max_stake == I128_MIN else farm.max_stake,
        max_zeros=farm.max_zeros,
        entropy=farm.entropy,
    )


def checked(value: int) -> int:
    """``value`` as i128 arithmetic leaves it: contracts are built with overflow checks, so an
    overflow panics — the call traps (``Error(WasmVm, InvalidAction)``) and changes nothing."""
    if not I128_MIN <= value <= I128_MAX:
        raise ContractError(0, "trap")
    return value


def zeros_of(digest: bytes) -> int:
    """Leading zero hex digits as the contract counts them."""
    zeros = 0
    for byte in digest:
        if byte == 0:
            zeros += 2
        else:
            zeros += (8 - byte.bit_length()) // 4
            break
    return zeros


def normalizations(block: Block, gap: int, stake: int, zeros: int) -> tuple[int, int, int]:
    if block.max_gap < block.min_gap or block.max_stake < block.min_stake or block.max_zeros < block.min_zeros:
        raise ContractError(12)
    range_gap = max(block.max_gap - block.min_gap, 1)
    range_stake = max(block.max_stake - block.min_stake, 1)
    range_zeros = max(block.max_zeros - block.min_zeros, 1)
    scale = max(range_gap, range_stake, range_zeros)
    clamped_gap = min(max(gap, block.min_gap), block.max_gap)
    clamped_stake = min(max(stake, block.min_stake), block.max_stake)
    clamped_zeros = min(max(zeros, block.min_zeros), block.max_zeros)
    return (max((clamped_gap - block.min_gap) * scale // range_gap, 1),
            max((clamped_stake - block.min_stake) * scale // range_stake, 1),
            max((clamped_zeros - block.min_zeros) * scale // range_zeros, 1))


def block_reward(index: int) -> int:
    periods = max(index - V2_GENESIS_BLOCK, 0) // BLOCKS_PER_MONTH
    result = BLOCK_SCALE
    for _ in range(periods):
        result = result * INVERSE_DECAY_RATE // BLOCK_SCALE
    return BLOCK_REWARD * result // BLOCK_SCALE


def farm_hash(index: int, nonce: int, entropy: bytes, farmer: str) -> bytes:
    return kale_hash(index, nonce, entropy, strkey_payload(farmer))


@dataclass
class Asset:
    """The KALE Stellar Asset Contract, as far as the farm uses it: balances, trustlines of G
    accounts (contracts hold balances without one), burn and mint."""

    balances: dict[str, int] = field(default_factory=dict)
    trustlines: set[str] = field(default_factory=set)

    def _holds(self, who: str) -> None:
        if who.startswith("G") and who not in self.trustlines:
            raise ContractError(13, "sac")

    def burn(self, who: str, amount: int) -> None:
        self._holds(who)
        if self.balances.get(who, 0) < amount:
            raise ContractError(10, "sac")
        self.balances[who] = self.balances.get(who, 0) - amount

    def mint(self, who: str, amount: int) -> None:
        self._holds(who)
        self.balances[who] = checked(self.balances.get(who, 0) + amount)

    def fork(self) -> Asset:
        return Asset(dict(self.balances), set(self.trustlines))


@dataclass
class FarmState:
    homesteader: str | None
    asset: Asset | None
    farm_index: int = 0
    farm_block: Block | None = None
    paused: bool = False
    blocks: dict[int, Block] = field(default_factory=dict)
    pails: dict[tuple[str, int], Pail] = field(default_factory=dict)

    def fork(self) -> FarmState:
        """A copy that later calls cannot change: the contract never changes a ``Block`` or a
        ``Pail`` in place (it writes changed copies back), so the containers' copies suffice —
        a snapshot per call costs microseconds, not a deep copy of every pail (tens of ms)."""
        return replace(self, asset=self.asset.fork() if self.asset else None, blocks=dict(self.blocks),
                       pails=dict(self.pails))


class KaleFarm:
    """The contract's state and its three farm calls. ``now`` is the ledger's close time,
    ``sequence`` its sequence number."""

    def __init__(self, homesteader: str, now: int, asset: Asset | None = None,
                 block_interval: int = BLOCK_INTERVAL) -> None:
        self.state = FarmState(homesteader=homesteader, asset=asset or Asset(), farm_block=new_farm_block(now))
        self.block_interval = block_interval  # the contract's constant; the devnet may shorten it for demos

    def fork(self) -> KaleFarm:
        farm = copy.copy(self)
        farm.state = self.state.fork()
        return farm

    def _atomic(self, call, *args):  # type: ignore[no-untyped-def]
        saved = self.state.fork()
        try:
            return call(*args)
        except BaseException:
            self.state = saved
            raise

    # --- the calls ---------------------------------------------------------------------------

    def plant(self, farmer: str, amount: int, *, now: int, sequence: int) -> None:
        """``farmer.require_auth()`` is the caller's to check (the devnet checks signatures)."""
        self._atomic(self._plant, farmer, amount, now, sequence)

    def work(self, farmer: str, digest: bytes, nonce: int, *, sequence: int) -> int:
        return int(self._atomic(self._work, farmer, digest, nonce, sequence))

    def harvest(self, farmer: str, index: int) -> int:
        return int(self._atomic(self._harvest, farmer, index))

    # --- the contract's code, in its order ------------------------------------------------------

    def _asset(self) -> Asset:
        if self.state.asset is None:
            raise ContractError(2)
        return self.state.asset

    def _plant(self, farmer: str, amount: int, now: int, sequence: int) -> None:
        st = self.state
        if amount < 0:
            raise ContractError(6)
        if st.paused:
            raise ContractError(4)
        asset = self._asset()
        index = st.farm_index
        if st.farm_block is None:
            raise ContractError(3)
        farm = copy.copy(st.farm_block)  # changed copies are written back (see FarmState.fork)
        if now >= farm.timestamp + self.block_interval:
            block = new_block(now, farm)
            farm = new_farm_block(now)
            index += 1
        else:
            existing = st.blocks.get(index)
            if existing is None:  # genesis, or evicted
                if index > 0:
                    index += 1
                block = new_block(now, farm)
            else:
                block = copy.copy(existing)
        st.farm_index = index
        if (farmer, index) in st.pails:
            raise ContractError(8)
        block.staked_total = checked(block.staked_total + amount)
        if amount > 0:
            asset.burn(farmer, amount)
        farm.max_stake = max(farm.max_stake, amount)
        farm.min_stake = min(farm.min_stake, amount)
        st.pails[(farmer, index)] = Pail(sequence=sequence, gap=None, stake=amount, zeros=None)
        st.blocks[index] = block
        st.farm_block = farm

    def _work(self, farmer: str, digest: bytes, nonce: int, sequence: int) -> int:
        st = self.state
        index = st.farm_index
        if st.farm_block is None:
            raise ContractError(3)
        farm = copy.copy(st.farm_block)  # changed copies are written back (see FarmState.fork)
        block = copy.copy(st.blocks.get(index))
        if block is None:
            raise ContractError(11)
        pail = copy.copy(st.pails.get((farmer, index)))
        if pail is None:
            raise ContractError(9)
        generated = farm_hash(index, nonce, block.entropy, farmer)
        gap = sequence - pail.sequence
        if gap == 0:
            raise ContractError(15)
        if digest != generated:
            raise ContractError(13)
        zeros = zeros_of(digest)
        block.normalized_total += sum(normalizations(block, gap, pail.stake, zeros))
        if pail.zeros is not None:
            if zeros <= pail.zeros:
                raise ContractError(7)
            block.normalized_total -= sum(normalizations(block, gap, pail.stake, pail.zeros))  # the new gap: as the contract
        else:
            block.staked_total -= pail.stake
        farm.entropy = generated
        farm.max_gap = max(farm.max_gap, gap)
        farm.min_gap = min(farm.min_gap, gap)
        farm.max_zeros = max(farm.max_zeros, zeros)
        farm.min_zeros = min(farm.min_zeros, zeros)
        pail.gap, pail.zeros = gap, zeros
        st.farm_block, st.blocks[index], st.pails[(farmer, index)] = farm, block, pail
        return gap

    def _harvest(self, farmer: str, index: int) -> int:
        st = self.state
        asset = self._asset()
        farm_index = st.farm_index
        block = st.blocks.get(index)
        if block is None:
            raise ContractError(11)
        pail = st.pails.get((farmer, index))
        if pail is None:
            raise ContractError(9)
        if index >= farm_index:
            raise ContractError(14)
        if pail.gap is None or pail.zeros is None:
            raise ContractError(10)
        contribution = sum(normalizations(block, pail.gap, pail.stake, pail.zeros))
        reward = checked(checked(contribution * checked(block_reward(index) + block.staked_total))
                         // max(block.normalized_total, 1))
        if reward + pail.stake > 0:
            asset.mint(farmer, checked(reward + pail.stake))
        del st.pails[(farmer, index)]
        return reward

    # --- what the devnet's storage reads see --------------------------------------------------

    def evict(self, index: int) -> None:
        """A temporary ``Block(index)`` whose TTL ran out (the devnet's TTL sweep)."""
        self.state.blocks.pop(index, None)
