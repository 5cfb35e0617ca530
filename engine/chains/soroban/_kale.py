"""Reading the KALE farm contract (kalepail/KALE-sc) over Soroban RPC: its storage keys and
types, as the contract stores them, and its error names.

Instance storage holds ``FarmIndex`` (absent: 0) and ``FarmBlock`` (the running statistics of
the current block); temporary storage holds ``Block(index)`` (timestamp, entropy, the bounds of
gap, stake and zeros) and ``Pail(farmer, index)``. Keys are the ``Storage`` enum's variants
(``ScVec[Symbol(name), args…]``); ``Block``/``Pail`` are symbol-keyed maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stellar_sdk import Address, scval
from stellar_sdk import xdr as sx

from engine.chains.soroban._rpc import SorobanRpc
from engine.errors import BadAnswer

ERRORS = {1: "HomesteadExists", 2: "HomesteadMissing", 3: "FarmBlockMissing", 4: "FarmPaused", 5: "FarmNotPaused",
          6: "PlantAmountTooLow", 7: "ZeroCountTooLow", 8: "PailExists", 9: "PailMissing", 10: "WorkMissing",
          11: "BlockMissing", 12: "BlockInvalid", 13: "HashInvalid", 14: "HarvestNotReady", 15: "GapCountTooLow"}
ALREADY_PLANTED, ALREADY_WORKED = 8, 7
NOT_HARVESTABLE = {9, 10, 11, 14}  # farmers skip harvests that fail with these


def error_name(number: int) -> str:
    """The KALE contract's name for ``Error(Contract, #number)``."""
    return ERRORS.get(number, f"contract error #{number}")


@dataclass(frozen=True)
class KaleBlock:
    index: int
    timestamp: int
    entropy: bytes
    min_gap: int = 0
    max_gap: int = 0
    min_stake: int = 0
    max_stake: int = 0
    min_zeros: int = 0
    max_zeros: int = 0
    staked_total: int = 0
    normalized_total: int = 0

    def public(self) -> dict[str, Any]:
        return {"index": self.index, "timestamp": self.timestamp, "entropy": self.entropy.hex(),
                "min_gap": self.min_gap, "max_gap": self.max_gap, "min_stake": str(self.min_stake),
                "max_stake": str(self.max_stake), "min_zeros": self.min_zeros, "max_zeros": self.max_zeros,
                "staked_total": str(self.staked_total), "normalized_total": str(self.normalized_total)}


@dataclass(frozen=True)
class Pail:
    sequence: int
    stake: int
    gap: int | None
    zeros: int | None


@dataclass(frozen=True)
class FarmView:
    """One read of the farm: the current index, the running block and the current block."""

    index: int
    farm_timestamp: int | None  # FarmBlock.timestamp: when the current block opened
    block: KaleBlock | None  # Block(index); None before the first plant or once evicted
    paused: bool
    ledger: int


def _key(contract: str, key: sx.SCVal, durability: sx.ContractDataDurability) -> sx.LedgerKey:
    return sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
        contract=Address(contract).to_xdr_sc_address(), key=key, durability=durability))


def instance_key(contract: str) -> sx.LedgerKey:
    return _key(contract, sx.SCVal(sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE), sx.ContractDataDurability.PERSISTENT)


def block_key(contract: str, index: int) -> sx.LedgerKey:
    return _key(contract, scval.to_enum("Block", scval.to_uint32(index)), sx.ContractDataDurability.TEMPORARY)


def pail_key(contract: str, farmer: str, index: int) -> sx.LedgerKey:
    return _key(contract, scval.to_enum("Pail", [scval.to_address(farmer), scval.to_uint32(index)]),
                sx.ContractDataDurability.TEMPORARY)


def _fields(value: sx.SCVal, what: str) -> dict[str, sx.SCVal]:
    if value.type != sx.SCValType.SCV_MAP or value.map is None:
        raise BadAnswer(f"{what} is not a map")
    out = {}
    for entry in value.map.sc_map:
        if entry.key.type != sx.SCValType.SCV_SYMBOL or entry.key.sym is None:
            raise BadAnswer(f"{what} has a non-symbol key")
        out[entry.key.sym.sc_symbol.decode()] = entry.val
    return out


def _optional_u32(value: sx.SCVal) -> int | None:
    return None if value.type == sx.SCValType.SCV_VOID else scval.from_uint32(value)


def decode_block(index: int, value: sx.SCVal) -> KaleBlock:
    try:
        f = _fields(value, "Block")
        return KaleBlock(index=index, timestamp=scval.from_uint64(f["timestamp"]), entropy=scval.from_bytes(f["entropy"]),
                         min_gap=scval.from_uint32(f["min_gap"]), max_gap=scval.from_uint32(f["max_gap"]),
                         min_stake=scval.from_int128(f["min_stake"]), max_stake=scval.from_int128(f["max_stake"]),
                         min_zeros=scval.from_uint32(f["min_zeros"]), max_zeros=scval.from_uint32(f["max_zeros"]),
                         staked_total=scval.from_int128(f["staked_total"]),
                         normalized_total=scval.from_int128(f["normalized_total"]))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadAnswer(f"Block({index}) is not a KALE block: {exc!r}") from None


def decode_pail(value: sx.SCVal) -> Pail:
    try:
        f = _fields(value, "Pail")
        return Pail(sequence=scval.from_uint32(f["sequence"]), stake=scval.from_int128(f["stake"]),
                    gap=_optional_u32(f["gap"]), zeros=_optional_u32(f["zeros"]))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadAnswer(f"not a KALE pail: {exc!r}") from None


def _variant(key: sx.SCVal) -> str:
    """The variant name of a ``Storage`` enum key (``ScVec[Symbol(name), …]``)."""
    if key.type == sx.SCValType.SCV_VEC and key.vec and key.vec.sc_vec and key.vec.sc_vec[0].sym is not None:
        return key.vec.sc_vec[0].sym.sc_symbol.decode()
    return "?"


def _data(entry_xdr: str) -> sx.SCVal:
    try:
        data = sx.LedgerEntryData.from_xdr(entry_xdr).contract_data
    except Exception as exc:  # noqa: BLE001 - any XDR failure is a malformed answer
        raise BadAnswer(f"unreadable ledger entry: {exc}") from None
    if data is None:
        raise BadAnswer("a contract-data key answered with another entry type")
    return data.val


class KaleReader:
    """Reads of one farm contract through a chain's RPC client."""

    def __init__(self, rpc: SorobanRpc, contract: str) -> None:
        self.rpc, self.contract = rpc, contract

    async def farm(self) -> FarmView:
        """``FarmIndex``, ``FarmBlock`` and ``Block(FarmIndex)`` — two requests."""
        found = await self.rpc.ledger_entries([instance_key(self.contract)])
        if not found.entries:
            raise BadAnswer(f"the farm contract {self.contract} has no instance on this network")
        instance = _data(found.entries[0].xdr).instance
        if instance is None or instance.storage is None:
            raise BadAnswer("the farm contract's instance has no storage")
        storage = {_variant(e.key): e.val for e in instance.storage.sc_map}
        index = scval.from_uint32(storage["FarmIndex"]) if "FarmIndex" in storage else 0
        farm = storage.get("FarmBlock")
        paused = "FarmPaused" in storage and bool(scval.from_bool(storage["FarmPaused"]))
        block = await self.block(index)
        return FarmView(index=index, farm_timestamp=None if farm is None else decode_block(index, farm).timestamp,
                        block=block, paused=paused, ledger=found.latest_ledger)

    async def block(self, index: int) -> KaleBlock | None:
        found = await self.rpc.ledger_entries([block_key(self.contract, index)])
        return decode_block(index, _data(found.entries[0].xdr)) if found.entries else None

    async def pails(self, farmers: list[str], index: int) -> dict[str, Pail]:
        """The pails of ``farmers`` in block ``index`` that exist (200 keys per request)."""
        out: dict[str, Pail] = {}
        for i in range(0, len(farmers), 200):
            chunk = farmers[i:i + 200]
            keys = {pail_key(self.contract, f, index).to_xdr(): f for f in chunk}
            found = await self.rpc.ledger_entries([pail_key(self.contract, f, index) for f in chunk])
            for entry in found.entries or []:
                farmer = keys.get(entry.key)
                if farmer is not None:
                    out[farmer] = decode_pail(_data(entry.xdr))
        return out
