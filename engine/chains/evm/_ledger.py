"""The durable side of EVM transactions (store schema v5): one row per *intent*, written with the
signed raw transaction before it is broadcast, and each signer's nonce ledger.

Write ops take the writer's :class:`~engine.store._writer.Tx` first (``store.write(op, …)``);
reads take a connection (``store.read(fn, …)``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from engine.store import Tx, where_in

OPEN_STATES = ("signed", "sent", "mined")
_COLUMNS = ("id, chain, signer, intent, job_id, nonce, to_addr, value, data, gas, max_fee, priority_fee, raw, hashes,"
            " state, receipt, error, created_at, updated_at, sent_at")


@dataclass
class TxRecord:
    """A transaction as we know it. ``state``: signed (persisted, not yet broadcast) → sent →
    mined (a receipt) → confirmed (enough blocks on top) | failed (reverted)."""

    id: str
    chain: str
    signer: str
    intent: str
    nonce: int
    to: str | None
    value: int
    data: bytes
    gas: int
    max_fee: int
    priority_fee: int
    raw: bytes
    hashes: list[str]
    state: str = "signed"
    job_id: str | None = None
    receipt: dict[str, Any] | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    sent_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return self.hashes[-1]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "nonce": self.nonce, "hash": self.hash, "hashes": self.hashes,
                "to": self.to, "value": str(self.value), "gas": self.gas, "max_fee": str(self.max_fee),
                "priority_fee": str(self.priority_fee), "error": self.error,
                "block": None if not self.receipt else int(self.receipt["blockNumber"], 16)}


def _row(row: tuple[Any, ...]) -> TxRecord:
    (id_, chain, signer, intent, job_id, nonce, to, value, data, gas, max_fee, prio, raw, hashes, state, receipt,
     error, created, updated, sent) = row
    return TxRecord(id=id_, chain=chain, signer=signer, intent=intent, job_id=job_id, nonce=nonce, to=to,
                    value=int(value), data=bytes.fromhex(data), gas=gas, max_fee=int(max_fee), priority_fee=int(prio),
                    raw=bytes.fromhex(raw), hashes=msgspec.json.decode(hashes), state=state,
                    receipt=None if receipt is None else msgspec.json.decode(receipt), error=error,
                    created_at=created, updated_at=updated, sent_at=sent)


# --- reads ----------------------------------------------------------------------------------------

def by_intent(conn: sqlite3.Connection, intent: str) -> TxRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM evm_txs WHERE intent = ?", (intent,)).fetchone()
    return None if row is None else _row(row)


def by_intents(conn: sqlite3.Connection, intents: list[str]) -> dict[str, TxRecord]:
    """The transactions of these intents (for :meth:`Store.lookup`)."""
    return {r.intent: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM evm_txs", "intent", intents))}


def by_ids(conn: sqlite3.Connection, tx_ids: list[str]) -> dict[str, TxRecord]:
    """The transactions of these ids (for :meth:`Store.lookup`)."""
    return {r.id: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM evm_txs", "id", tx_ids))}


def by_id(conn: sqlite3.Connection, tx_id: str) -> TxRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM evm_txs WHERE id = ?", (tx_id,)).fetchone()
    return None if row is None else _row(row)


def by_nonce(conn: sqlite3.Connection, chain: str, signer: str, nonce: int) -> TxRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM evm_txs WHERE chain = ? AND signer = ? AND nonce = ? LIMIT 1",
                       (chain, signer, nonce)).fetchone()
    return None if row is None else _row(row)


def open_txs(conn: sqlite3.Connection, chain: str, signer: str) -> list[TxRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM evm_txs WHERE chain = ? AND signer = ? AND state IN (?, ?, ?)"
                        " ORDER BY nonce", (chain, signer, *OPEN_STATES)).fetchall()
    return [_row(r) for r in rows]


def recent_txs(conn: sqlite3.Connection, chain: str, signer: str, since_block: int) -> list[TxRecord]:
    """Mined or confirmed transactions at or after ``since_block`` (to re-check after a reorg)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM evm_txs WHERE chain = ? AND signer = ? AND state IN"
                        " ('mined', 'confirmed', 'failed') AND receipt IS NOT NULL", (chain, signer)).fetchall()
    return [r for r in map(_row, rows) if r.receipt and int(r.receipt["blockNumber"], 16) >= since_block]


def ledger_next(conn: sqlite3.Connection, chain: str, signer: str) -> int | None:
    row = conn.execute("SELECT next_nonce FROM evm_nonces WHERE chain = ? AND signer = ?", (chain, signer)).fetchone()
    return None if row is None else int(row[0])


def counts(conn: sqlite3.Connection, chain: str, signer: str) -> dict[str, int]:
    return dict(conn.execute("SELECT state, count(*) FROM evm_txs WHERE chain = ? AND signer = ? GROUP BY state",
                             (chain, signer)).fetchall())


# --- writes ---------------------------------------------------------------------------------------

def insert_signed(tx: Tx, record: TxRecord) -> TxRecord:
    """Persist a signed transaction and move the signer's ledger past its nonce — one commit.
    If the intent already has a transaction, that one is returned and nothing is written."""
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.created_at = record.updated_at = tx.now
    tx.conn.execute(
        f"INSERT INTO evm_txs ({_COLUMNS}) VALUES ({','.join('?' * 20)})",
        (record.id, record.chain, record.signer, record.intent, record.job_id, record.nonce, record.to,
         str(record.value), record.data.hex(), record.gas, str(record.max_fee), str(record.priority_fee),
         record.raw.hex(), msgspec.json.encode(record.hashes).decode(), record.state, None, None, tx.now, tx.now,
         None),
    )
    _advance_ledger(tx, record.chain, record.signer, record.nonce + 1)
    tx.emit("evm.tx", record.job_id, None, id=record.id, chain=record.chain, state=record.state, nonce=record.nonce,
            hash=record.hash)
    return record


def insert_signed_many(tx: Tx, records: list[TxRecord]) -> list[TxRecord]:
    """:func:`insert_signed` for each of ``records``, in one op."""
    return [insert_signed(tx, record) for record in records]


def allocate(tx: Tx, chain: str, signer: str, floor: int) -> int:
    """The signer's next nonce (at least ``floor``), taken under the ledger row's lock: on
    PostgreSQL another engine's allocation for this signer waits for our commit."""
    tx.conn.execute("INSERT INTO evm_nonces (chain, signer, next_nonce) VALUES (?, ?, ?)"
                    " ON CONFLICT (chain, signer) DO NOTHING", (chain, signer, floor))
    row = tx.conn.execute("SELECT next_nonce FROM evm_nonces WHERE chain = ? AND signer = ? /*pg: FOR UPDATE*/",
                          (chain, signer)).fetchone()
    return max(int(row[0]), floor)


def insert_allocating(tx: Tx, record: TxRecord, sign: Callable[[int], tuple[bytes, str]], floor: int) -> TxRecord:
    """:func:`insert_signed` with the nonce allocated, and the transaction signed, in the same
    commit — what engines sharing one PostgreSQL store do, so no two take one nonce."""
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.nonce = allocate(tx, record.chain, record.signer, floor)
    record.raw, tx_hash = sign(record.nonce)
    record.hashes = [tx_hash]
    return insert_signed(tx, record)


def renonce_allocating(tx: Tx, record: TxRecord, sign: Callable[[int], tuple[bytes, str]], floor: int) -> TxRecord:
    """A new nonce for ``record`` (its old one was taken), allocated and signed in one commit."""
    nonce = allocate(tx, record.chain, record.signer, floor)
    raw, tx_hash = sign(nonce)
    return update(tx, record, nonce=nonce, raw=raw, hashes=[*record.hashes, tx_hash], sent_at=time.time())


def update(tx: Tx, record: TxRecord, **changes: Any) -> TxRecord:
    """Change a transaction (state, fees, raw, hashes, nonce, receipt, error, sent_at); emits an
    ``evm.tx`` event when the state changes."""
    old_state = record.state
    for key, value in changes.items():
        setattr(record, key, value)
    record.updated_at = tx.now
    tx.conn.execute(
        "UPDATE evm_txs SET nonce = ?, to_addr = ?, value = ?, data = ?, gas = ?, max_fee = ?, priority_fee = ?,"
        " raw = ?, hashes = ?, state = ?, receipt = ?, error = ?, updated_at = ?, sent_at = ? WHERE id = ?",
        (record.nonce, record.to, str(record.value), record.data.hex(), record.gas, str(record.max_fee),
         str(record.priority_fee), record.raw.hex(),
         msgspec.json.encode(record.hashes).decode(), record.state,
         None if record.receipt is None else msgspec.json.encode(record.receipt).decode(), record.error, tx.now,
         record.sent_at, record.id),
    )
    if "nonce" in changes:
        _advance_ledger(tx, record.chain, record.signer, record.nonce + 1)
    if record.state != old_state or "hashes" in changes:
        tx.emit("evm.tx", record.job_id, None, id=record.id, chain=record.chain, state=record.state,
                nonce=record.nonce, hash=record.hash, **({"error": record.error} if record.error else {}))
    return record


def update_many(tx: Tx, updates: list[tuple[TxRecord, dict[str, Any]]]) -> None:
    """Several updates in one commit (the tracker's receipts of one tick)."""
    for record, changes in updates:
        update(tx, record, **changes)


def advance_ledger(tx: Tx, chain: str, signer: str, next_nonce: int) -> None:
    _advance_ledger(tx, chain, signer, next_nonce)


def _advance_ledger(tx: Tx, chain: str, signer: str, next_nonce: int) -> None:
    """The ledger only moves forward."""
    tx.conn.execute(
        "INSERT INTO evm_nonces (chain, signer, next_nonce) VALUES (?, ?, ?) ON CONFLICT (chain, signer)"
        " DO UPDATE SET next_nonce = CASE WHEN excluded.next_nonce > evm_nonces.next_nonce THEN excluded.next_nonce"
        " ELSE evm_nonces.next_nonce END", (chain, signer, next_nonce))
