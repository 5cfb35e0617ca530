"""Transactions on the devnet: what ``simulateTransaction``, ``sendTransaction`` and a ledger
close do with a Soroban transaction envelope calling the KALE farm.

The checks a validator makes come first and in its order — the envelope parses for this
network, one ``invokeHostFunction`` operation calling this farm, the source account exists, its
next sequence number, a fee of at least the inclusion fee plus the declared resource fee, the
time bounds, the source's signature over the transaction hash — and a failure is the
``TransactionResult`` a real node returns (``txBadSeq``, ``txBadAuth`` …). ``plant`` needs the
farmer's authorisation: the source account itself (SOURCE_ACCOUNT credentials), or an ADDRESS
credential the farmer signed. ``work`` and ``harvest`` need none.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

from stellar_sdk import Address, Keypair, SorobanDataBuilder, StrKey, TransactionEnvelope, scval
from stellar_sdk import xdr as sx
from stellar_sdk.exceptions import BadSignatureError

from engine.devnets.kale.contract import ContractError
from engine.devnets.kale.ledger import PASSPHRASE, Ledger, storage_key

INCLUSION_FEE = 100  # stroops per operation
RESOURCE_FEE = 50_000  # what a simulation asks for (a fixed, honest-enough figure)


class Rejected(Exception):
    """The transaction is not accepted: ``code`` is its TransactionResultCode name."""

    def __init__(self, code: sx.TransactionResultCode, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass
class Call:
    envelope: TransactionEnvelope
    source: str
    sequence: int
    fee: int
    function: str
    args: list[Any]
    auth: list[sx.SorobanAuthorizationEntry]

    @property
    def hash(self) -> str:
        return self.envelope.hash_hex()


def parse(envelope_xdr: str, ledger: Ledger) -> Call:
    """The call in ``envelope_xdr``; :class:`Rejected` (txMALFORMED) if it is not one the farm takes."""
    malformed = sx.TransactionResultCode.txMALFORMED
    try:
        envelope = TransactionEnvelope.from_xdr(envelope_xdr, PASSPHRASE)
    except Exception as exc:  # noqa: BLE001 - any XDR failure is a malformed transaction
        raise Rejected(malformed, f"cannot parse the transaction envelope: {exc}") from None
    tx = envelope.transaction
    ops = tx.operations
    if len(ops) != 1 or type(ops[0]).__name__ != "InvokeHostFunction":
        raise Rejected(malformed, "a Soroban transaction has exactly one invokeHostFunction operation")
    host_function = ops[0].host_function  # type: ignore[attr-defined]
    invoke = host_function.invoke_contract
    if invoke is None:
        raise Rejected(malformed, "only contract calls are supported on this devnet")
    contract = Address.from_xdr_sc_address(invoke.contract_address).address
    if contract != ledger.farm_id:
        raise Rejected(malformed, f"no contract {contract} on this devnet (the farm is {ledger.farm_id})")
    source = tx.source.account_id
    return Call(envelope=envelope, source=source, sequence=tx.sequence, fee=tx.fee,
                function=invoke.function_name.sc_symbol.decode(), args=list(invoke.args),
                auth=list(ops[0].auth))  # type: ignore[attr-defined]


def validate(call: Call, ledger: Ledger, now: int) -> None:
    """What a validator checks before a transaction enters a ledger, in its order."""
    codes = sx.TransactionResultCode
    account = ledger.accounts.get(call.source)
    if account is None:
        raise Rejected(codes.txNO_ACCOUNT, f"source account {call.source} does not exist")
    if call.sequence != account.sequence + 1:
        raise Rejected(codes.txBAD_SEQ, f"sequence {call.sequence}, expected {account.sequence + 1}")
    declared = call.envelope.transaction.soroban_data
    resource_fee = declared.resource_fee.int64 if declared is not None else 0
    if call.fee < INCLUSION_FEE + resource_fee:
        raise Rejected(codes.txINSUFFICIENT_FEE, f"fee {call.fee} < {INCLUSION_FEE + resource_fee}")
    bounds = call.envelope.transaction.preconditions
    time_bounds = bounds.time_bounds if bounds is not None else None
    if time_bounds is not None and time_bounds.max_time and now > time_bounds.max_time:
        raise Rejected(codes.txTOO_LATE, f"max time {time_bounds.max_time} passed (ledger time {now})")
    if not _signed_by(call, call.source):
        raise Rejected(codes.txBAD_AUTH, "not signed by the source account")
    if account.balance < call.fee:
        raise Rejected(codes.txINSUFFICIENT_BALANCE, "the source cannot pay the fee")


def _signed_by(call: Call, account: str) -> bool:
    key = Keypair.from_public_key(account)
    payload = call.envelope.hash()
    for signature in call.envelope.signatures:
        if signature.signature_hint != key.signature_hint():
            continue
        try:
            key.verify(payload, signature.signature)
            return True
        except BadSignatureError:
            continue
    return False


def invoke(call: Call, ledger: Ledger, *, sequence: int, now: int, check_auth: bool) -> sx.SCVal:
    """Run the call on ``ledger``'s farm (it changes only if the call succeeds); its return value.
    :class:`ContractError` from the contract — also for arguments of the wrong type (a ``u64``
    where ``i128`` is declared): the SDK's conversion fails inside the contract, which traps with
    the generic abort ``Error(WasmVm, InvalidAction)`` (rs-soroban-sdk issue #1578: "the error
    message is the generic abort error"); only that transaction fails."""
    try:
        return _invoke(call, ledger, sequence=sequence, now=now, check_auth=check_auth)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        raise ContractError(0, "trap") from None


def _invoke(call: Call, ledger: Ledger, *, sequence: int, now: int, check_auth: bool) -> sx.SCVal:
    farm = ledger.farm
    args = call.args
    if call.function == "plant" and len(args) == 2:
        farmer = scval.from_address(args[0]).address
        if check_auth:
            _require_auth(call, farmer, sequence)
        farm.plant(farmer, scval.from_int128(args[1]), now=now, sequence=sequence)
        index = farm.state.farm_index
        ledger.modified[("Block", index)] = ledger.modified[("Pail", farmer, index)] = sequence
        return scval.to_void()
    if call.function == "work" and len(args) == 3:
        farmer = scval.from_address(args[0]).address
        gap = farm.work(farmer, scval.from_bytes(args[1]), scval.from_uint64(args[2]), sequence=sequence)
        index = farm.state.farm_index
        ledger.modified[("Block", index)] = ledger.modified[("Pail", farmer, index)] = sequence
        return scval.to_uint32(gap)
    if call.function == "harvest" and len(args) == 2:
        reward = farm.harvest(scval.from_address(args[0]).address, scval.from_uint32(args[1]))
        return scval.to_int128(reward)
    raise ContractError(0, "host")  # no such function: the host's MissingValue


def _require_auth(call: Call, farmer: str, sequence: int) -> None:
    """``farmer.require_auth()``: the source account itself (SOURCE_ACCOUNT credentials), or an
    ADDRESS credential for the farmer whose ed25519 signature over the network's authorisation
    preimage verifies and has not expired."""
    for entry in call.auth:
        creds = entry.credentials
        if creds.type == sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT and farmer == call.source:
            return
        address = creds.address
        if address is None or Address.from_xdr_sc_address(address.address).address != farmer:
            continue
        if not StrKey.is_valid_ed25519_public_key(farmer) or address.signature_expiration_ledger.uint32 < sequence:
            continue
        preimage = sx.HashIDPreimage(
            sx.EnvelopeType.ENVELOPE_TYPE_SOROBAN_AUTHORIZATION,
            soroban_authorization=sx.HashIDPreimageSorobanAuthorization(
                network_id=sx.Hash(hashlib.sha256(PASSPHRASE.encode()).digest()), nonce=address.nonce,
                signature_expiration_ledger=address.signature_expiration_ledger, invocation=entry.root_invocation))
        payload = hashlib.sha256(preimage.to_xdr_bytes()).digest()
        key = Keypair.from_public_key(farmer)
        signatures: Any = scval.to_native(address.signature)
        for signature in signatures if isinstance(signatures, list) else []:
            try:
                if signature.get("public_key") == key.raw_public_key():
                    key.verify(payload, signature["signature"])
                    return
            except (BadSignatureError, AttributeError, KeyError, TypeError):
                continue
    raise ContractError(0, "auth")


def footprint(call: Call, ledger: Ledger, now: int) -> tuple[list[sx.LedgerKey], list[sx.LedgerKey]]:
    """The ledger keys the call reads, and those it writes, if it runs at ledger time ``now``: a
    plant that opens a new block writes that block's keys, not the current one's."""
    contract = Address(ledger.farm_id).to_xdr_sc_address()

    def data(key: sx.SCVal, durability: sx.ContractDataDurability) -> sx.LedgerKey:
        return sx.LedgerKey(sx.LedgerEntryType.CONTRACT_DATA, contract_data=sx.LedgerKeyContractData(
            contract=contract, key=key, durability=durability))

    instance = data(sx.SCVal(sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE), sx.ContractDataDurability.PERSISTENT)
    temporary = sx.ContractDataDurability.TEMPORARY
    state = ledger.farm.state
    index = state.farm_index
    farmer = scval.from_address(call.args[0]).address if call.args else call.source
    if call.function == "harvest" and len(call.args) == 2:
        index = scval.from_uint32(call.args[1])
    elif call.function == "plant" and state.farm_block is not None and (
            now >= state.farm_block.timestamp + ledger.farm.block_interval
            or (index > 0 and index not in state.blocks)):
        index += 1  # this plant opens the next block (the contract's rule in _plant)
    return [], [instance, data(storage_key("Block", index), temporary), data(storage_key("Pail", farmer, index), temporary)]


def check_footprint(call: Call, ledger: Ledger, now: int) -> None:
    """A Soroban transaction may touch only the keys its footprint declares: a plant simulated
    before a block boundary and applied after it needs the next block's keys, and fails (the
    host's ``Error(Storage, ExceededLimit)``)."""
    declared = call.envelope.transaction.soroban_data
    keys = set() if declared is None else {k.to_xdr() for k in (*declared.resources.footprint.read_only,
                                                                *declared.resources.footprint.read_write)}
    if any(k.to_xdr() not in keys for k in footprint(call, ledger, now)[1]):
        raise ContractError(0, "footprint")


def simulation(call: Call, ledger: Ledger, *, ledger_seconds: float) -> dict[str, Any]:
    """What ``simulateTransaction`` answers: the call run on a copy of the ledger as the next
    ledger would run it."""
    trial = copy.deepcopy(ledger)
    try:
        value = invoke(call, trial, sequence=ledger.sequence + 1, now=ledger.close_time + int(ledger_seconds),
                       check_auth=False)
    except ContractError as exc:
        return {"error": f"HostError: {host_error(exc)}", "latestLedger": ledger.sequence}
    read_only, read_write = footprint(call, ledger, ledger.close_time + int(ledger_seconds))
    data = (SorobanDataBuilder().set_read_only(read_only).set_read_write(read_write)
            .set_resources(2_000_000, 4_000, 2_000).set_resource_fee(RESOURCE_FEE).build())
    auth = []
    if call.function == "plant":
        auth = [_source_auth(call).to_xdr()]
    return {"latestLedger": ledger.sequence, "minResourceFee": str(RESOURCE_FEE), "transactionData": data.to_xdr(),
            "results": [{"auth": auth, "xdr": value.to_xdr()}], "events": [],
            "cost": {"cpuInsns": "2000000", "memBytes": "1000000"}}


def _source_auth(call: Call) -> sx.SorobanAuthorizationEntry:
    host_function = call.envelope.transaction.operations[0].host_function  # type: ignore[attr-defined]
    return sx.SorobanAuthorizationEntry(
        credentials=sx.SorobanCredentials(sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT),
        root_invocation=sx.SorobanAuthorizedInvocation(
            function=sx.SorobanAuthorizedFunction(
                sx.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=host_function.invoke_contract),
            sub_invocations=[]))


def host_error(exc: ContractError) -> str:
    if exc.contract == "auth":
        return "Error(Auth, InvalidAction)"
    if exc.contract == "host":
        return "Error(Storage, MissingValue)"
    if exc.contract == "footprint":
        return "Error(Storage, ExceededLimit)"
    if exc.contract == "trap":
        return "Error(WasmVm, InvalidAction)"
    return f"Error(Contract, #{exc.code})"


def result_xdr(code: sx.TransactionResultCode, fee: int, value: sx.SCVal | None = None) -> str:
    """The ``TransactionResult`` a node reports for a transaction that ended with ``code``."""
    results = None
    if code in (sx.TransactionResultCode.txSUCCESS, sx.TransactionResultCode.txFAILED):
        inner = (sx.InvokeHostFunctionResult(sx.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_SUCCESS,
                                             success=sx.Hash(bytes(32)))
                 if value is not None else
                 sx.InvokeHostFunctionResult(sx.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED))
        results = [sx.OperationResult(sx.OperationResultCode.opINNER, tr=sx.OperationResultTr(
            sx.OperationType.INVOKE_HOST_FUNCTION, invoke_host_function_result=inner))]
    result = sx.TransactionResult(fee_charged=sx.Int64(fee), result=sx.TransactionResultResult(code, results=results),
                                  ext=sx.TransactionResultExt(0))
    return result.to_xdr()


def meta_xdr(value: sx.SCVal) -> str:
    """``TransactionMeta`` v3 carrying the call's return value."""
    meta = sx.TransactionMeta(3, v3=sx.TransactionMetaV3(
        ext=sx.ExtensionPoint(0), tx_changes_before=sx.LedgerEntryChanges([]), operations=[],
        tx_changes_after=sx.LedgerEntryChanges([]),
        soroban_meta=sx.SorobanTransactionMeta(ext=sx.SorobanTransactionMetaExt(0), events=[], return_value=value,
                                               diagnostic_events=[])))
    return meta.to_xdr()
