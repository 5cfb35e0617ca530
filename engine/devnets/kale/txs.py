"""Transactions on the devnet: what ``simulateTransaction``, ``sendTransaction`` and a ledger
close do with a Soroban transaction envelope calling the KALE farm.

The checks a validator makes come first and in its order — the envelope parses for this
network, one ``invokeHostFunction`` operation calling this farm, the source account exists, its
next sequence number, a fee of at least the inclusion fee plus the declared resource fee, the
time bounds, the source's signature over the transaction hash — and a failure is the
``TransactionResult`` a real node returns (``txBadSeq``, ``txBadAuth`` …). ``plant`` needs the
farmer's authorisation: the source account itself (SOURCE_ACCOUNT credentials), or an ADDRESS
credential the farmer signed — for exactly this call (contract, function, arguments) and, when
it stakes, its ``burn`` of the stake on the KALE asset; a nonce is good once. ``work`` and
``harvest`` need none.
"""

from __future__ import annotations

import hashlib
import secrets
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
                function=invoke.function_name.sc_symbol.decode(errors="replace"), args=list(invoke.args),
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
    saved = (ledger.farm.state.fork(), dict(ledger.modified), dict(ledger.nonces))
    try:
        return _invoke(call, ledger, sequence=sequence, now=now, check_auth=check_auth)
    except BaseException as exc:  # the whole call is undone: the contract's changes, the nonce, the TTLs
        ledger.farm.state, ledger.modified, ledger.nonces = saved
        if isinstance(exc, (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError)):
            raise ContractError(0, "trap") from None
        raise


def _invoke(call: Call, ledger: Ledger, *, sequence: int, now: int, check_auth: bool) -> sx.SCVal:
    farm = ledger.farm
    args = call.args
    if call.function == "plant" and len(args) == 2:
        farmer = scval.from_address(args[0]).address
        amount = scval.from_int128(args[1])
        used = _require_auth(call, ledger, farmer, amount, sequence) if check_auth else None
        farm.plant(farmer, amount, now=now, sequence=sequence)
        if used is not None:  # the nonce entry is written with the call's other changes
            ledger.nonces[used[0]] = used[1]
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


def plant_invocation(call: Call, ledger: Ledger, farmer: str, amount: int) -> sx.SorobanAuthorizedInvocation:
    """The authorisation tree ``plant`` asks of the farmer: the call itself and, when it stakes,
    the KALE asset's ``burn(farmer, amount)`` beneath it (the SAC's ``from.require_auth()``)."""
    subs = []
    if amount > 0:
        subs.append(sx.SorobanAuthorizedInvocation(
            function=sx.SorobanAuthorizedFunction(
                sx.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=sx.InvokeContractArgs(
                    contract_address=Address(ledger.asset_id).to_xdr_sc_address(),
                    function_name=sx.SCSymbol(b"burn"), args=[scval.to_address(farmer), scval.to_int128(amount)])),
            sub_invocations=[]))
    host_function = call.envelope.transaction.operations[0].host_function  # type: ignore[attr-defined]
    return sx.SorobanAuthorizedInvocation(
        function=sx.SorobanAuthorizedFunction(
            sx.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
            contract_fn=host_function.invoke_contract),
        sub_invocations=subs)


def _covers(granted: sx.SorobanAuthorizedInvocation, needed: sx.SorobanAuthorizedInvocation) -> bool:
    """Whether an entry's tree authorises ``needed``: the same function with the same arguments,
    and each sub-invocation needed found among the granted ones (the host matches every
    ``require_auth`` against the tree; a granted node left unused is no error)."""
    if granted.function.to_xdr_bytes() != needed.function.to_xdr_bytes():
        return False
    return all(any(_covers(g, n) for g in granted.sub_invocations) for n in needed.sub_invocations)


def _require_auth(call: Call, ledger: Ledger, farmer: str, amount: int,
                  sequence: int) -> tuple[tuple[str, int], int] | None:
    """``farmer.require_auth()`` as the host enforces it (soroban-env-host ``auth.rs``): an entry
    whose tree covers this very call (:func:`plant_invocation`), with SOURCE_ACCOUNT credentials
    when the farmer is the transaction's source, or ADDRESS credentials for the farmer whose
    ed25519 signature over the network's authorisation preimage verifies, whose expiration
    ledger has not passed and whose nonce was never used (``consume_nonce``: "nonce already
    exists for address", ``Error(Auth, ExistingValue)``). Returns the nonce to record, if any."""
    needed = plant_invocation(call, ledger, farmer, amount)
    replayed = False
    for entry in call.auth:
        creds = entry.credentials
        if not _covers(entry.root_invocation, needed):
            continue
        if creds.type == sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT:
            if farmer == call.source:
                return None
            continue
        address = creds.address
        if address is None or Address.from_xdr_sc_address(address.address).address != farmer:
            continue
        expiration = address.signature_expiration_ledger.uint32
        if not StrKey.is_valid_ed25519_public_key(farmer) or expiration < sequence:
            continue
        if (farmer, address.nonce.int64) in ledger.nonces:
            replayed = True
            continue
        if _signature_verifies(entry, address, farmer):
            return (farmer, address.nonce.int64), expiration
    raise ContractError(0, "nonce" if replayed else "auth")


def _signature_verifies(entry: sx.SorobanAuthorizationEntry, address: sx.SorobanAddressCredentials,
                        farmer: str) -> bool:
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
                return True
        except (BadSignatureError, AttributeError, KeyError, TypeError):
            continue
    return False


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
    trial = ledger.fork()
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
        auth = [_recorded_auth(call, ledger).to_xdr()]
    return {"latestLedger": ledger.sequence, "minResourceFee": str(RESOURCE_FEE), "transactionData": data.to_xdr(),
            "results": [{"auth": auth, "xdr": value.to_xdr()}], "events": [],
            "cost": {"cpuInsns": "2000000", "memBytes": "1000000"}}


def _recorded_auth(call: Call, ledger: Ledger) -> sx.SorobanAuthorizationEntry:
    """What recording auth gives a simulated ``plant``: SOURCE_ACCOUNT credentials when the
    farmer is the transaction's source, otherwise ADDRESS credentials for the farmer with a
    random nonce, expiration ledger 0 and no signature, for the client to sign
    (soroban-env-host ``e2e_invoke.rs`` ``RecordedAuthPayload``: no address → SourceAccount;
    soroban-simulation's tests: ``signature_expiration_ledger: 0, signature: ScVal::Void``)."""
    farmer = scval.from_address(call.args[0]).address
    tree = plant_invocation(call, ledger, farmer, scval.from_int128(call.args[1]))
    if farmer == call.source:
        return sx.SorobanAuthorizationEntry(
            credentials=sx.SorobanCredentials(sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT),
            root_invocation=tree)
    return sx.SorobanAuthorizationEntry(
        credentials=sx.SorobanCredentials(
            sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS,
            address=sx.SorobanAddressCredentials(
                address=Address(farmer).to_xdr_sc_address(), nonce=sx.Int64(secrets.randbits(63)),
                signature_expiration_ledger=sx.Uint32(0), signature=scval.to_void())),
        root_invocation=tree)


def host_error(exc: ContractError) -> str:
    if exc.contract == "auth":
        return "Error(Auth, InvalidAction)"
    if exc.contract == "host":
        return "Error(Storage, MissingValue)"
    if exc.contract == "footprint":
        return "Error(Storage, ExceededLimit)"
    if exc.contract == "nonce":
        return "Error(Auth, ExistingValue)"
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


def meta_xdr(value: sx.SCVal, diagnostic: list[sx.DiagnosticEvent] | None = None) -> str:
    """``TransactionMeta`` v3 carrying the call's return value (and, for a failed call, the
    host's diagnostic error event)."""
    meta = sx.TransactionMeta(3, v3=sx.TransactionMetaV3(
        ext=sx.ExtensionPoint(0), tx_changes_before=sx.LedgerEntryChanges([]), operations=[],
        tx_changes_after=sx.LedgerEntryChanges([]),
        soroban_meta=sx.SorobanTransactionMeta(ext=sx.SorobanTransactionMetaExt(0), events=[], return_value=value,
                                               diagnostic_events=diagnostic or [])))
    return meta.to_xdr()


_ERROR_TYPES = {"auth": (sx.SCErrorType.SCE_AUTH, sx.SCErrorCode.SCEC_INVALID_ACTION),
                "nonce": (sx.SCErrorType.SCE_AUTH, sx.SCErrorCode.SCEC_EXISTING_VALUE),
                "host": (sx.SCErrorType.SCE_STORAGE, sx.SCErrorCode.SCEC_MISSING_VALUE),
                "footprint": (sx.SCErrorType.SCE_STORAGE, sx.SCErrorCode.SCEC_EXCEEDED_LIMIT),
                "trap": (sx.SCErrorType.SCE_WASM_VM, sx.SCErrorCode.SCEC_INVALID_ACTION)}


def error_event(exc: ContractError) -> sx.DiagnosticEvent:
    """The host's diagnostic event for a failed call: topics ``["error", Error(…)]``, data the
    message (soroban-env-host ``events/diagnostic.rs`` ``err_diagnostics``)."""
    if exc.contract in _ERROR_TYPES:
        kind, code = _ERROR_TYPES[exc.contract]
        error = sx.SCError(kind, code=code)
    else:
        error = sx.SCError(sx.SCErrorType.SCE_CONTRACT, contract_code=sx.Uint32(exc.code))
    body = sx.ContractEventBody(0, v0=sx.ContractEventV0(
        topics=[scval.to_symbol("error"), sx.SCVal(sx.SCValType.SCV_ERROR, error=error)],
        data=scval.to_string(f"HostError: {host_error(exc)}")))
    return sx.DiagnosticEvent(in_successful_contract_call=False, event=sx.ContractEvent(
        ext=sx.ExtensionPoint(0), contract_id=None, type=sx.ContractEventType.DIAGNOSTIC, body=body))
