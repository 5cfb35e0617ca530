"""The devnet's ledger: its sequence and close time, the accounts, and the KALE farm contract's
storage as Soroban RPC shows it (``getLedgerEntries``): XDR ``LedgerKey``s in, XDR
``LedgerEntryData`` out, encoded as the real contract stores them (the ``Storage`` enum's keys,
``Block``/``Pail`` structs as symbol-keyed maps, the instance storage map, temporary entries
with a TTL). Reading goes through stellar-sdk's XDR types, so what a client decodes is what it
would decode from a real node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from stellar_sdk import Address, Keypair, StrKey, scval
from stellar_sdk import xdr as sx

from engine.devnets.kale.contract import Block, KaleFarm, Pail

PASSPHRASE = "Shiftboss KALE devnet ; not a real network"
TEMP_TTL = 17_280  # ledgers a temporary entry lives (the contract's tests use this)
XLM = 10_000_000  # stroops


def contract_id(name: str) -> str:
    """A stable contract strkey for ``name`` (the devnet deploys nothing: it names its contracts)."""
    return StrKey.encode_contract(hashlib.sha256(f"shiftboss-devnet:{name}".encode()).digest())


@dataclass
class Account:
    balance: int  # stroops
    sequence: int


@dataclass
class Ledger:
    sequence: int
    close_time: int
    farm: KaleFarm
    farm_id: str = field(default_factory=lambda: contract_id("kale-farm"))
    asset_id: str = field(default_factory=lambda: contract_id("kale-asset"))
    accounts: dict[str, Account] = field(default_factory=dict)
    modified: dict[Any, int] = field(default_factory=dict)  # entry key → ledger it last changed
    #: (address, nonce) of every ADDRESS credential used → the ledger its entry lives until (the
    #: host's temporary nonce entries: a credential is good once, soroban-env-host auth.rs consume_nonce)
    nonces: dict[tuple[str, int], int] = field(default_factory=dict)

    def fork(self) -> Ledger:
        """A copy to run a call on that leaves this ledger as it is (simulation)."""
        return replace(self, farm=self.farm.fork(), accounts={a: replace(acct) for a, acct in self.accounts.items()},
                       modified=dict(self.modified), nonces=dict(self.nonces))

    def fund(self, account: str, stroops: int = 10_000 * XLM, kale: int = 0, trustline: bool = True) -> None:
        """Friendbot: create or top up ``account``; give it a KALE trustline and balance."""
        if not StrKey.is_valid_ed25519_public_key(account):
            raise ValueError(f"not an account (G…) address: {account!r}")
        acct = self.accounts.setdefault(account, Account(0, self.sequence << 32))
        acct.balance += stroops
        asset = self.farm.state.asset
        assert asset is not None
        if trustline:
            asset.trustlines.add(account)
        if kale:
            asset.mint(account, kale)

    # --- getLedgerEntries -----------------------------------------------------------------------

    def entry(self, key: sx.LedgerKey) -> tuple[sx.LedgerEntryData, int | None] | None:
        """The entry under ``key`` and its live-until ledger (None: not a TTL'd entry), if any."""
        if key.type == sx.LedgerEntryType.ACCOUNT:
            assert key.account is not None
            raw = key.account.account_id.account_id.ed25519
            if raw is None:
                return None
            account_id = StrKey.encode_ed25519_public_key(raw.uint256)
            acct = self.accounts.get(account_id)
            return None if acct is None else (_account_entry(account_id, acct), None)
        if key.type != sx.LedgerEntryType.CONTRACT_DATA or key.contract_data is None:
            return None
        data = key.contract_data
        if Address.from_xdr_sc_address(data.contract).address != self.farm_id:
            return None
        persistent = data.durability == sx.ContractDataDurability.PERSISTENT
        if persistent and data.key.type == sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE:
            return _contract_data(data.contract, data.key, data.durability, self._instance()), None
        if persistent:
            return None
        found = self._temporary(data.key)
        if found is None:
            return None
        value, since = found
        return _contract_data(data.contract, data.key, data.durability, value), since + TEMP_TTL

    def _instance(self) -> sx.SCVal:
        st = self.farm.state
        storage: list[tuple[sx.SCVal, sx.SCVal]] = []
        if st.homesteader:
            storage.append((scval.to_enum("Homesteader", None), scval.to_address(st.homesteader)))
        storage.append((scval.to_enum("HomesteadAsset", None), scval.to_address(self.asset_id)))
        if st.farm_index:  # absent means 0, as on chain after deployment
            storage.append((scval.to_enum("FarmIndex", None), scval.to_uint32(st.farm_index)))
        if st.farm_block is not None:
            storage.append((scval.to_enum("FarmBlock", None), block_scval(st.farm_block)))
        if st.paused:
            storage.append((scval.to_enum("FarmPaused", None), scval.to_bool(True)))
        instance = sx.SCContractInstance(
            executable=sx.ContractExecutable(sx.ContractExecutableType.CONTRACT_EXECUTABLE_WASM,
                                             wasm_hash=sx.Hash(hashlib.sha256(b"kale-sc@96a0241").digest())),
            storage=sx.SCMap([sx.SCMapEntry(k, v) for k, v in storage]))
        return sx.SCVal(sx.SCValType.SCV_CONTRACT_INSTANCE, instance=instance)

    def _temporary(self, key: sx.SCVal) -> tuple[sx.SCVal, int] | None:
        """``Block(index)`` or ``Pail(farmer, index)``, with the ledger it was last written."""
        if key.type != sx.SCValType.SCV_VEC or key.vec is None or not key.vec.sc_vec:
            return None
        head, *args = key.vec.sc_vec
        if head.type != sx.SCValType.SCV_SYMBOL or head.sym is None:
            return None
        name = head.sym.sc_symbol.decode()
        st = self.farm.state
        if name == "Block" and len(args) == 1 and args[0].type == sx.SCValType.SCV_U32:
            index = scval.from_uint32(args[0])
            block = st.blocks.get(index)
            return None if block is None else (block_scval(block), self.modified.get(("Block", index), 0))
        if name == "Pail" and len(args) == 2 and args[1].type == sx.SCValType.SCV_U32:
            farmer, index = scval.from_address(args[0]).address, scval.from_uint32(args[1])
            pail = st.pails.get((farmer, index))
            return None if pail is None else (pail_scval(pail), self.modified.get(("Pail", farmer, index), 0))
        return None


def storage_key(name: str, *args: Any) -> sx.SCVal:
    """A key of the contract's ``Storage`` enum: ``Block(index)``, ``Pail(farmer, index)``, …"""
    values = [scval.to_uint32(a) if isinstance(a, int) else scval.to_address(a) for a in args]
    return scval.to_enum(name, None if not values else values[0] if len(values) == 1 else values)


def block_scval(block: Block) -> sx.SCVal:
    return scval.to_struct({
        "entropy": scval.to_bytes(block.entropy),
        "max_gap": scval.to_uint32(block.max_gap), "max_stake": scval.to_int128(block.max_stake),
        "max_zeros": scval.to_uint32(block.max_zeros), "min_gap": scval.to_uint32(block.min_gap),
        "min_stake": scval.to_int128(block.min_stake), "min_zeros": scval.to_uint32(block.min_zeros),
        "normalized_total": scval.to_int128(block.normalized_total),
        "staked_total": scval.to_int128(block.staked_total), "timestamp": scval.to_uint64(block.timestamp),
    })


def pail_scval(pail: Pail) -> sx.SCVal:
    return scval.to_struct({
        "gap": scval.to_void() if pail.gap is None else scval.to_uint32(pail.gap),
        "sequence": scval.to_uint32(pail.sequence), "stake": scval.to_int128(pail.stake),
        "zeros": scval.to_void() if pail.zeros is None else scval.to_uint32(pail.zeros),
    })


def _contract_data(contract: sx.SCAddress, key: sx.SCVal, durability: sx.ContractDataDurability,
                   value: sx.SCVal) -> sx.LedgerEntryData:
    return sx.LedgerEntryData(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.ContractDataEntry(
        ext=sx.ExtensionPoint(0), contract=contract, key=key, durability=durability, val=value))


def _account_entry(account_id: str, acct: Account) -> sx.LedgerEntryData:
    return sx.LedgerEntryData(sx.LedgerEntryType.ACCOUNT, account=sx.AccountEntry(
        account_id=Keypair.from_public_key(account_id).xdr_account_id(), balance=sx.Int64(acct.balance),
        seq_num=sx.SequenceNumber(sx.Int64(acct.sequence)), num_sub_entries=sx.Uint32(0), inflation_dest=None,
        flags=sx.Uint32(0), home_domain=sx.String32(b""), thresholds=sx.Thresholds(bytes([1, 0, 0, 0])),
        signers=[], ext=sx.AccountEntryExt(0)))
