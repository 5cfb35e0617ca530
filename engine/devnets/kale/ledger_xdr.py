"""The devnet's ledgers and friendbot payments as XDR, the way stellar-rpc and friendbot hand
them to clients: a ``LedgerHeader`` and ``LedgerCloseMeta`` for ``getLatestLedger``
(stellar-rpc ``methods/get_latest_ledger.go``: ``headerXdr`` is the header, ``metadataXdr`` the
close meta), and friendbot's ``createAccount`` transaction with the meta that shows the new
account (what ``requestAirdrop`` in @stellar/stellar-sdk reads its sequence number from).
"""

from __future__ import annotations

import hashlib

from stellar_sdk import Account, Keypair, TransactionBuilder
from stellar_sdk import xdr as sx

from engine.devnets.kale.ledger import PASSPHRASE

PROTOCOL_VERSION = 23
BASE_FEE = 100
BASE_RESERVE = 5_000_000
#: the devnet's friendbot account: a fixed key, known to everyone (it is a local model)
FRIENDBOT = Keypair.from_raw_ed25519_seed(hashlib.sha256(b"shiftboss kale devnet friendbot").digest())


def ledger_hash(sequence: int) -> bytes:
    return sequence.to_bytes(32, "big")


def header(sequence: int, close_time: int) -> sx.LedgerHeader:
    zero = sx.Hash(bytes(32))
    value = sx.StellarValue(tx_set_hash=zero, close_time=sx.TimePoint(sx.Uint64(close_time)), upgrades=[],
                            ext=sx.StellarValueExt(sx.StellarValueType.STELLAR_VALUE_BASIC))
    return sx.LedgerHeader(
        ledger_version=sx.Uint32(PROTOCOL_VERSION), previous_ledger_hash=sx.Hash(ledger_hash(max(sequence - 1, 0))),
        scp_value=value, tx_set_result_hash=zero, bucket_list_hash=zero, ledger_seq=sx.Uint32(sequence),
        total_coins=sx.Int64(10**18), fee_pool=sx.Int64(0), inflation_seq=sx.Uint32(0), id_pool=sx.Uint64(0),
        base_fee=sx.Uint32(BASE_FEE), base_reserve=sx.Uint32(BASE_RESERVE), max_tx_set_size=sx.Uint32(1000),
        skip_list=[zero, zero, zero, zero], ext=sx.LedgerHeaderExt(0))


def close_meta(sequence: int, close_time: int) -> sx.LedgerCloseMeta:
    """A ``LedgerCloseMeta`` v2 (protocol 23's) of the ledger: its header; the devnet keeps its
    transactions' metas in ``getTransaction``, not here."""
    entry = sx.LedgerHeaderHistoryEntry(hash=sx.Hash(ledger_hash(sequence)), header=header(sequence, close_time),
                                        ext=sx.LedgerHeaderHistoryEntryExt(0))
    tx_set = sx.GeneralizedTransactionSet(1, v1_tx_set=sx.TransactionSetV1(
        previous_ledger_hash=sx.Hash(ledger_hash(max(sequence - 1, 0))), phases=[]))
    return sx.LedgerCloseMeta(2, v2=sx.LedgerCloseMetaV2(
        ext=sx.LedgerCloseMetaExt(0), ledger_header=entry, tx_set=tx_set, tx_processing=[], upgrades_processing=[],
        scp_info=[], total_byte_size_of_live_soroban_state=sx.Uint64(0), evicted_keys=[]))


def friendbot_payment(account: str, starting_balance: int, sequence: int,
                      ledger_seq: int) -> tuple[str, str, str, str]:
    """Friendbot's ``createAccount`` for ``account`` in ledger ``ledger_seq``: (hash, envelope,
    result, meta) — the meta shows the account created with its starting sequence number."""
    tx = (TransactionBuilder(Account(FRIENDBOT.public_key, sequence), PASSPHRASE, base_fee=BASE_FEE)
          .append_create_account_op(account, str(starting_balance / 10**7)).set_timeout(0).build())
    tx.sign(FRIENDBOT)
    created = sx.LedgerEntry(
        last_modified_ledger_seq=sx.Uint32(ledger_seq),
        data=sx.LedgerEntryData(sx.LedgerEntryType.ACCOUNT, account=sx.AccountEntry(
            account_id=Keypair.from_public_key(account).xdr_account_id(), balance=sx.Int64(starting_balance),
            seq_num=sx.SequenceNumber(sx.Int64(ledger_seq << 32)), num_sub_entries=sx.Uint32(0),
            inflation_dest=None, flags=sx.Uint32(0), home_domain=sx.String32(b""),
            thresholds=sx.Thresholds(bytes([1, 0, 0, 0])), signers=[], ext=sx.AccountEntryExt(0))),
        ext=sx.LedgerEntryExt(0))
    changes = sx.LedgerEntryChanges([sx.LedgerEntryChange(sx.LedgerEntryChangeType.LEDGER_ENTRY_CREATED,
                                                          created=created)])
    meta = sx.TransactionMeta(3, v3=sx.TransactionMetaV3(
        ext=sx.ExtensionPoint(0), tx_changes_before=sx.LedgerEntryChanges([]),
        operations=[sx.OperationMeta(changes=changes)], tx_changes_after=sx.LedgerEntryChanges([]),
        soroban_meta=None))
    result = sx.TransactionResult(
        fee_charged=sx.Int64(BASE_FEE), result=sx.TransactionResultResult(
            sx.TransactionResultCode.txSUCCESS,
            results=[sx.OperationResult(sx.OperationResultCode.opINNER, tr=sx.OperationResultTr(
                sx.OperationType.CREATE_ACCOUNT, create_account_result=sx.CreateAccountResult(
                    sx.CreateAccountResultCode.CREATE_ACCOUNT_SUCCESS)))]),
        ext=sx.TransactionResultExt(0))
    return tx.hash_hex(), tx.to_xdr(), result.to_xdr(), meta.to_xdr()
