"""The Soroban RPC client against the local KALE devnet over real HTTP on loopback: typed
answers, failover past a dead endpoint, RPC errors as answers (not retried)."""

from __future__ import annotations

import socket

import pytest
import trio
from stellar_sdk import Address, Keypair, scval
from stellar_sdk import xdr as sx

from engine.chains.soroban._rpc import SorobanRpc, contract_error_number
from engine.devnets.kale.contract import KaleFarm
from engine.devnets.kale.ledger import Ledger
from engine.devnets.kale.server import Devnet
from engine.errors import RpcError


def dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.trio
async def test_the_client_reads_the_devnets_ledger_through_a_dead_endpoint() -> None:
    ledger = Ledger(sequence=100, close_time=1_700_000_000, farm=KaleFarm(Keypair.random().public_key, now=0))
    ledger.farm.state.farm_index = 7
    devnet = Devnet(ledger, ledger_seconds=0.2)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        async with SorobanRpc([dead_url(), url], backoff=0.01) as rpc:
            first = await rpc.latest_ledger()
            assert first.sequence >= 100 and first.protocol_version == 23
            await trio.sleep(0.5)  # the devnet closes a ledger every 0.2 s
            assert (await rpc.latest_ledger()).sequence > first.sequence
            instance = sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
                contract=Address(ledger.farm_id).to_xdr_sc_address(),
                key=sx.SCVal(sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
                durability=sx.ContractDataDurability.PERSISTENT))
            entries = await rpc.ledger_entries([instance])
            assert entries.entries is not None and len(entries.entries) == 1
            data = sx.LedgerEntryData.from_xdr(entries.entries[0].xdr)
            storage = {scval.to_native(e.key)[0]: e.val for e in data.contract_data.val.instance.storage.sc_map}  # type: ignore[union-attr]
            assert scval.from_uint32(storage["FarmIndex"]) == 7
            dead, live = rpc.endpoints
            assert dead.failures >= 1 and live.failures == 0
            with pytest.raises(RpcError) as err:  # an answer, not an endpoint failure
                await rpc.request("getLedgerEntries", named={"keys": ["not xdr"]})
            assert err.value.code == -32602 and live.failures == 0
        nursery.cancel_scope.cancel()


def test_contract_error_numbers_are_read_from_host_errors() -> None:
    assert contract_error_number("HostError: Error(Contract, #8)\n\nEvent log (newest first): …") == 8
    assert contract_error_number("HostError: Error(Budget, ExceededLimit)") is None
