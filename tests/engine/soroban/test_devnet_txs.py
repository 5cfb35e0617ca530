"""Transactions against the local KALE devnet over its JSON-RPC, built, simulated, assembled and
signed with stellar-sdk as a client would: plant → work, and what a validator refuses (a wrong
sequence number, a missing signature, a duplicate), each with the result a real node gives."""

from __future__ import annotations

import time

import pytest
import trio
from stellar_sdk import Account, Keypair, TransactionBuilder, scval
from stellar_sdk import xdr as sx
from stellar_sdk.base_soroban_server import _assemble_transaction

from engine.chains.soroban._rpc import ContractFailed, SorobanRpc
from engine.devnets.kale.contract import KaleFarm, farm_hash
from engine.devnets.kale.ledger import PASSPHRASE, Ledger
from engine.devnets.kale.server import Devnet


async def account(rpc: SorobanRpc, key: Keypair) -> Account:
    entry = await rpc.ledger_entries([sx.LedgerKey(sx.LedgerEntryType.ACCOUNT,
                                                   account=sx.LedgerKeyAccount(key.xdr_account_id()))])
    assert entry.entries
    return Account(key.public_key, sx.LedgerEntryData.from_xdr(entry.entries[0].xdr).account.seq_num.sequence_number.int64)  # type: ignore[union-attr]


async def build(rpc: SorobanRpc, ledger: Ledger, key: Keypair, function: str, args: list[sx.SCVal]) -> str:
    source = await account(rpc, key)
    tx = (TransactionBuilder(source, PASSPHRASE, base_fee=100)
          .append_invoke_contract_function_op(ledger.farm_id, function, args).set_timeout(30).build())
    sim = await rpc.simulate(tx.to_xdr())
    assembled = _assemble_transaction(tx, sim)
    assembled.sign(key)
    return str(assembled.to_xdr())


async def until_done(rpc: SorobanRpc, tx_hash: str) -> str:
    with trio.fail_after(5):
        while (status := (await rpc.transaction(tx_hash)).status.value) == "NOT_FOUND":  # noqa: ASYNC110 - polling is the protocol
            await trio.sleep(0.05)
    return str(status)


@pytest.mark.trio
async def test_plant_then_work_and_what_a_validator_refuses() -> None:
    farmer = Keypair.random()
    now = int(time.time())  # the devnet closes ledgers at the wall clock's time
    ledger = Ledger(sequence=50, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now))
    ledger.fund(farmer.public_key, kale=1_000)
    devnet = Devnet(ledger, ledger_seconds=0.2)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        async with SorobanRpc([url]) as rpc:
            plant = await build(rpc, ledger, farmer, "plant", [scval.to_address(farmer.public_key), scval.to_int128(400)])
            sent = await rpc.send(plant)
            assert sent.status.value == "PENDING"
            assert (await rpc.send(plant)).status.value == "DUPLICATE"
            assert await until_done(rpc, sent.hash) == "SUCCESS"
            assert ledger.farm.state.asset.balances[farmer.public_key] == 600  # type: ignore[union-attr]
            with pytest.raises(ContractFailed) as err:  # planting twice: the contract's #8, found by simulation
                await build(rpc, ledger, farmer, "plant", [scval.to_address(farmer.public_key), scval.to_int128(1)])
            assert err.value.number == 8

            entropy = ledger.farm.state.blocks[0].entropy
            digest = farm_hash(0, 5, entropy, farmer.public_key)
            work = await build(rpc, ledger, farmer, "work",
                               [scval.to_address(farmer.public_key), scval.to_bytes(digest), scval.to_uint64(5)])
            done = await rpc.send(work)
            assert await until_done(rpc, done.hash) == "SUCCESS"
            meta = sx.TransactionMeta.from_xdr((await rpc.transaction(done.hash)).result_meta_xdr)  # type: ignore[arg-type]
            assert scval.from_uint32(meta.v3.soroban_meta.return_value) >= 1  # type: ignore[union-attr]  # the gap

            with pytest.raises(ContractFailed) as err:  # simulation refuses: block 0 is still current
                await build(rpc, ledger, farmer, "harvest", [scval.to_address(farmer.public_key), scval.to_uint32(0)])
            assert err.value.number == 14
            behind = await account(rpc, farmer)
            behind.sequence -= 1  # a sequence number already used
            stale = TransactionBuilder(behind, PASSPHRASE, base_fee=100_000).append_invoke_contract_function_op(
                ledger.farm_id, "harvest", [scval.to_address(farmer.public_key), scval.to_uint32(0)]).set_timeout(30).build()
            stale.sign(farmer)
            refused = await rpc.send(stale.to_xdr())
            result = sx.TransactionResult.from_xdr(refused.error_result_xdr)  # type: ignore[arg-type]
            assert refused.status.value == "ERROR" and result.result.code == sx.TransactionResultCode.txBAD_SEQ

            unsigned = TransactionBuilder(await account(rpc, farmer), PASSPHRASE, base_fee=100_000).append_invoke_contract_function_op(
                ledger.farm_id, "harvest", [scval.to_address(farmer.public_key), scval.to_uint32(0)]).set_timeout(30).build()
            refused = await rpc.send(unsigned.to_xdr())
            result = sx.TransactionResult.from_xdr(refused.error_result_xdr)  # type: ignore[arg-type]
            assert result.result.code == sx.TransactionResultCode.txBAD_AUTH
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_plant_for_another_farmer_needs_that_farmers_signed_authorisation() -> None:
    from stellar_sdk.auth import authorize_entry

    payer, farmer = Keypair.random(), Keypair.random()
    now = int(time.time())  # the devnet closes ledgers at the wall clock's time
    ledger = Ledger(sequence=50, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now))
    ledger.fund(payer.public_key)
    ledger.fund(farmer.public_key, kale=10)
    devnet = Devnet(ledger, ledger_seconds=0.2)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        async with SorobanRpc([url]) as rpc:
            args = [scval.to_address(farmer.public_key), scval.to_int128(0)]
            forged = await build(rpc, ledger, payer, "plant", args)  # only SOURCE_ACCOUNT auth: the payer's
            assert await until_done(rpc, (await rpc.send(forged)).hash) == "FAILED"
            assert ledger.farm.state.pails == {}

            source = await account(rpc, payer)
            tx = (TransactionBuilder(source, PASSPHRASE, base_fee=100)
                  .append_invoke_contract_function_op(ledger.farm_id, "plant", args).set_timeout(30).build())
            sim = await rpc.simulate(tx.to_xdr())
            entry = sx.SorobanAuthorizationEntry(
                credentials=sx.SorobanCredentials(
                    sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS,
                    address=sx.SorobanAddressCredentials(
                        address=scval.to_address(farmer.public_key).address, nonce=sx.Int64(7),
                        signature_expiration_ledger=sx.Uint32(ledger.sequence + 100), signature=scval.to_void())),
                root_invocation=sx.SorobanAuthorizationEntry.from_xdr(sim.results[0].auth[0]).root_invocation)  # type: ignore[index]
            signed = authorize_entry(entry, farmer, ledger.sequence + 100, PASSPHRASE)
            tx.transaction.operations[0].auth = [signed]  # type: ignore[attr-defined]
            assembled = _assemble_transaction(tx, sim)
            assembled.sign(payer)
            assert await until_done(rpc, (await rpc.send(assembled.to_xdr())).hash) == "SUCCESS"
            assert (farmer.public_key, 0) in ledger.farm.state.pails
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_malformed_call_fails_alone_and_the_devnet_keeps_running() -> None:
    """A ``plant`` with a u64 amount (the contract takes i128), sent without simulation with a
    SOURCE_ACCOUNT entry: only that transaction fails (the contract's conversion traps), at
    simulation and when applied; the devnet serves the next one."""
    farmer = Keypair.random()
    now = int(time.time())
    ledger = Ledger(sequence=50, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now))
    ledger.fund(farmer.public_key, kale=1_000)
    devnet = Devnet(ledger, ledger_seconds=0.2)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        async with SorobanRpc([url]) as rpc:
            args = [scval.to_address(farmer.public_key), scval.to_uint64(400)]
            source = await account(rpc, farmer)
            tx = (TransactionBuilder(source, PASSPHRASE, base_fee=200_000)
                  .append_invoke_contract_function_op(ledger.farm_id, "plant", args).set_timeout(30).build())
            with pytest.raises(ContractFailed, match=r"Error\(WasmVm, InvalidAction\)"):
                await rpc.simulate(tx.to_xdr())
            entry = sx.SorobanAuthorizationEntry(
                credentials=sx.SorobanCredentials(sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT),
                root_invocation=sx.SorobanAuthorizedInvocation(function=sx.SorobanAuthorizedFunction(
                    sx.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                    contract_fn=tx.transaction.operations[0].host_function.invoke_contract),  # type: ignore[attr-defined]
                    sub_invocations=[]))
            tx.transaction.operations[0].auth = [entry]  # type: ignore[attr-defined]
            tx.sign(farmer)
            sent = await rpc.send(tx.to_xdr())
            assert sent.status.value == "PENDING"
            assert await until_done(rpc, sent.hash) == "FAILED"
            assert (farmer.public_key, ledger.farm.state.farm_index) not in ledger.farm.state.pails
            assert ledger.farm.state.asset.balances[farmer.public_key] == 1_000  # type: ignore[union-attr]
            good = await build(rpc, ledger, farmer, "plant", [scval.to_address(farmer.public_key), scval.to_int128(400)])
            again = await rpc.send(good)
            assert await until_done(rpc, again.hash) == "SUCCESS"
        nursery.cancel_scope.cancel()


async def _sent(rpc: SorobanRpc, ledger: Ledger, payer: Keypair, args: list[sx.SCVal],
                auth: list[sx.SorobanAuthorizationEntry]) -> str:
    """A plant paid by ``payer`` carrying ``auth``, simulated for its footprint; its final status."""
    source = await account(rpc, payer)
    tx = (TransactionBuilder(source, PASSPHRASE, base_fee=100)
          .append_invoke_contract_function_op(ledger.farm_id, "plant", args).set_timeout(30).build())
    sim = await rpc.simulate(tx.to_xdr())
    tx.transaction.operations[0].auth = auth  # type: ignore[attr-defined]
    assembled = _assemble_transaction(tx, sim)
    assembled.transaction.operations[0].auth = auth  # type: ignore[attr-defined]
    assembled.sign(payer)
    return await until_done(rpc, (await rpc.send(assembled.to_xdr())).hash)


@pytest.mark.trio
async def test_signed_authorisation_covers_one_call_once_and_its_burn() -> None:
    """As the host enforces ``farmer.require_auth()``: a simulation from another source hands
    back ADDRESS credentials to sign (the farmer's own source: SOURCE_ACCOUNT); an entry signed
    for ``plant(B, 0)`` does not authorise ``plant(B, 10^7)``; a stake needs the ``burn``
    beneath the call; a signed entry is good once — replayed in a later block it fails."""
    from stellar_sdk.auth import authorize_entry

    payer, farmer = Keypair.random(), Keypair.random()
    now = int(time.time())
    ledger = Ledger(sequence=50, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now, block_interval=2))
    ledger.fund(payer.public_key)
    ledger.fund(farmer.public_key, kale=10**8)
    devnet = Devnet(ledger, ledger_seconds=0.2)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        async with SorobanRpc([url]) as rpc:
            def args(stake: int) -> list[sx.SCVal]:
                return [scval.to_address(farmer.public_key), scval.to_int128(stake)]

            async def simulated(source_key: Keypair, stake: int) -> sx.SorobanAuthorizationEntry:
                tx = (TransactionBuilder(await account(rpc, source_key), PASSPHRASE, base_fee=100)
                      .append_invoke_contract_function_op(ledger.farm_id, "plant", args(stake)).set_timeout(30).build())
                sim = await rpc.simulate(tx.to_xdr())
                return sx.SorobanAuthorizationEntry.from_xdr(sim.results[0].auth[0])  # type: ignore[index]

            own = await simulated(farmer, 10**7)
            assert own.credentials.type == sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
            recorded = await simulated(payer, 10**7)
            creds = recorded.credentials.address
            assert recorded.credentials.type == sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS and creds
            assert creds.signature_expiration_ledger.uint32 == 0 and creds.signature.type == sx.SCValType.SCV_VOID
            (burn,) = recorded.root_invocation.sub_invocations  # the stake's burn, beneath the plant
            assert burn.function.contract_fn.function_name.sc_symbol == b"burn"

            until = ledger.sequence + 100
            zero = authorize_entry(await simulated(payer, 0), farmer, until, PASSPHRASE)
            assert await _sent(rpc, ledger, payer, args(10**7), [zero]) == "FAILED"  # signed for 0, used for 10^7
            unburnt = sx.SorobanAuthorizationEntry.from_xdr(recorded.to_xdr())
            unburnt.root_invocation.sub_invocations = []
            assert await _sent(rpc, ledger, payer, args(10**7), [authorize_entry(unburnt, farmer, until, PASSPHRASE)]) \
                == "FAILED"
            assert ledger.farm.state.pails == {} and ledger.farm.state.asset.balances[farmer.public_key] == 10**8  # type: ignore[union-attr]

            signed = authorize_entry(recorded, farmer, until, PASSPHRASE)
            assert await _sent(rpc, ledger, payer, args(10**7), [signed]) == "SUCCESS"
            first = ledger.farm.state.farm_index
            assert (farmer.public_key, first) in ledger.farm.state.pails
            await trio.sleep(2.5)  # the next plant opens a new block: only the nonce can stop a replay
            assert await _sent(rpc, ledger, payer, args(10**7), [signed]) == "FAILED"
            assert ledger.farm.state.farm_index == first and len(ledger.farm.state.pails) == 1
            fresh = authorize_entry(await simulated(payer, 10**7), farmer, ledger.sequence + 100, PASSPHRASE)
            assert await _sent(rpc, ledger, payer, args(10**7), [fresh]) == "SUCCESS"  # a new nonce: planted
            assert ledger.farm.state.farm_index == first + 1
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_what_a_hostile_client_sends_never_stops_the_devnet() -> None:
    """JSON nested 100,000 deep (with the recursion limit raised, as importing py_ecc does), keys
    that are not XDR, a pail key of no address, and i128 overflow by stakes: each answered as a
    node answers — a parse error, bad params, no entry, a failed transaction that changed nothing
    — and the devnet goes on serving, its blocks readable."""
    import sys
    from typing import Any

    import httpx

    from engine.devnets.kale.contract import I128_MAX
    from engine.devnets.kale.ledger import storage_key

    now = int(time.time())
    ledger = Ledger(sequence=50, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now))
    big = [Keypair.random() for _ in range(2)]
    for key in big:
        ledger.fund(key.public_key, kale=I128_MAX)
    devnet = Devnet(ledger, ledger_seconds=0.2)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(devnet.run)
            async with httpx.AsyncClient(timeout=10) as http, SorobanRpc([url]) as rpc:
                deep = await http.post(url, content=b"[" * 100_000 + b"]" * 100_000)
                assert deep.json()["error"]["code"] == -32700
                for bad in ("!!!", "AAAA"):
                    answer = (await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getLedgerEntries",
                                                         "params": {"keys": [bad]}})).json()
                    assert answer["error"]["code"] == -32602, answer
                contract = scval.to_address(ledger.farm_id).address
                odd = sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
                    contract=contract, key=scval.to_vec([scval.to_symbol("Pail"), scval.to_uint32(5), scval.to_uint32(0)]),
                    durability=sx.ContractDataDurability.TEMPORARY))
                assert (await rpc.ledger_entries([odd])).entries in (None, [])  # no such entry: not an error

                def plant_max(key: Keypair, source: Account) -> Any:
                    return (TransactionBuilder(source, PASSPHRASE, base_fee=100)
                            .append_invoke_contract_function_op(ledger.farm_id, "plant", [
                                scval.to_address(key.public_key), scval.to_int128(I128_MAX)]).set_timeout(30).build())

                first = await build(rpc, ledger, big[0], "plant", [scval.to_address(big[0].public_key),
                                                                   scval.to_int128(I128_MAX)])
                assert await until_done(rpc, (await rpc.send(first)).hash) == "SUCCESS"
                # the second i128::MAX stake overflows the block's total: refused in simulation, and
                # applied anyway (with a zero stake's footprint) it fails and changes nothing
                with pytest.raises(ContractFailed, match=r"WasmVm, InvalidAction"):
                    await rpc.simulate(plant_max(big[1], await account(rpc, big[1])).to_xdr())
                source = await account(rpc, big[1])
                zero = (TransactionBuilder(Account(source.account.account_id, source.sequence), PASSPHRASE, base_fee=100)
                        .append_invoke_contract_function_op(ledger.farm_id, "plant", [
                            scval.to_address(big[1].public_key), scval.to_int128(0)]).set_timeout(30).build())
                second = _assemble_transaction(plant_max(big[1], source), await rpc.simulate(zero.to_xdr()))
                second.sign(big[1])
                assert await until_done(rpc, (await rpc.send(second.to_xdr())).hash) == "FAILED"
                assert ledger.farm.state.asset.balances[big[1].public_key] == I128_MAX  # type: ignore[union-attr]
                index = ledger.farm.state.farm_index
                assert ledger.farm.state.blocks[index].staked_total == I128_MAX
                block_key = sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
                    contract=contract, key=storage_key("Block", index), durability=sx.ContractDataDurability.TEMPORARY))
                assert (await rpc.ledger_entries([block_key])).entries  # the block stays readable
                friendbot = await http.get(f"{url}/friendbot", params={"addr": big[0].public_key, "kale": str(2**400)})
                assert friendbot.status_code == 400
                assert (await http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "getHealth"})).json()["result"]
            nursery.cancel_scope.cancel()
    finally:
        sys.setrecursionlimit(limit)
