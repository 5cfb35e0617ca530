"""The devnet's ledger shows the farm's storage as the real contract stores it: decoded here with
stellar-sdk's XDR types only, the way a client reads a real node's getLedgerEntries."""

from __future__ import annotations

from stellar_sdk import Address, Keypair, scval
from stellar_sdk import xdr as sx

from engine.devnets.kale.contract import KaleFarm, farm_hash
from engine.devnets.kale.ledger import TEMP_TTL, Ledger, storage_key


def contract_key(ledger: Ledger, key: sx.SCVal, durability: sx.ContractDataDurability) -> sx.LedgerKey:
    return sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
        contract=Address(ledger.farm_id).to_xdr_sc_address(), key=key, durability=durability))


def decoded(ledger: Ledger, key: sx.LedgerKey) -> tuple[sx.LedgerEntryData, int | None] | None:
    found = ledger.entry(sx.LedgerKey.from_xdr(key.to_xdr()))  # through the wire format
    if found is None:
        return None
    data, live_until = found
    return sx.LedgerEntryData.from_xdr(data.to_xdr()), live_until


def test_instance_blocks_pails_and_accounts_decode_as_on_chain() -> None:
    farmer = Keypair.random().public_key
    ledger = Ledger(sequence=10, close_time=1_700_000_000, farm=KaleFarm(Keypair.random().public_key, now=1_700_000_000))
    ledger.fund(farmer, kale=500)
    ledger.farm.plant(farmer, 200, now=1_700_000_000, sequence=10)
    ledger.farm.plant(farmer, 0, now=1_700_000_300, sequence=70)  # opens block 1
    temporary, persistent = sx.ContractDataDurability.TEMPORARY, sx.ContractDataDurability.PERSISTENT

    found = decoded(ledger, contract_key(ledger, sx.SCVal(sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE), persistent))
    assert found is not None and found[1] is None
    instance = found[0].contract_data.val.instance  # type: ignore[union-attr]
    storage = {scval.to_native(e.key)[0]: e.val for e in instance.storage.sc_map}
    assert scval.from_uint32(storage["FarmIndex"]) == 1
    assert scval.from_address(storage["HomesteadAsset"]).address == ledger.asset_id
    farm_block = {scval.from_symbol(e.key): e.val for e in storage["FarmBlock"].map.sc_map}
    assert scval.from_uint64(farm_block["timestamp"]) == 1_700_000_300 and "entropy" in farm_block

    found = decoded(ledger, contract_key(ledger, storage_key("Block", 0), temporary))
    assert found is not None and found[1] == 0 + TEMP_TTL
    block = {scval.from_symbol(e.key): e.val for e in found[0].contract_data.val.map.sc_map}  # type: ignore[union-attr]
    assert [scval.from_symbol(e.key) for e in found[0].contract_data.val.map.sc_map] == sorted(block)  # type: ignore[union-attr]
    assert scval.from_int128(block["staked_total"]) == 200 and scval.from_bytes(block["entropy"]) == bytes(32)

    found = decoded(ledger, contract_key(ledger, storage_key("Pail", farmer, 0), temporary))
    assert found is not None
    pail = {scval.from_symbol(e.key): e.val for e in found[0].contract_data.val.map.sc_map}  # type: ignore[union-attr]
    assert scval.from_uint32(pail["sequence"]) == 10 and scval.from_int128(pail["stake"]) == 200
    assert pail["gap"].type == pail["zeros"].type == sx.SCValType.SCV_VOID  # Option::None
    assert decoded(ledger, contract_key(ledger, storage_key("Pail", farmer, 5), temporary)) is None
    assert decoded(ledger, contract_key(ledger, storage_key("Block", 0), persistent)) is None

    account = decoded(ledger, sx.LedgerKey(sx.LedgerEntryType.ACCOUNT, account=sx.LedgerKeyAccount(
        Keypair.from_public_key(farmer).xdr_account_id())))
    assert account is not None and account[0].account.balance.int64 == 10_000 * 10_000_000  # type: ignore[union-attr]
    assert ledger.farm.state.asset.balances[farmer] == 300  # type: ignore[union-attr]
    assert farm_hash(1, 0, bytes(32), farmer) != farm_hash(0, 0, bytes(32), farmer)
