"""The durable side of Soroban transactions (store schema v6): one row per *intent*, written with
the signed envelope before it is sent, and each source account's sequence ledger.

Write ops take the writer's :class:`~engine.store.Tx` first (``store.write(op, …)``); reads take
a connection (``store.read(fn, …)``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.store import Tx, where_in

OPEN_STATES = ("signed", "sent")
_COLUMNS = ("id, chain, source, intent, job_id, contract, function, args, sequence, envelope, hashes, state, max_time,"
            " ledger, result, error, error_number, tries, created_at, updated_at, sent_at")


@dataclass
class SorobanTx:
    """A transaction as we know it. ``state``: signed (persisted, not sent yet) → sent →
    success | failed. ``args`` is the call's arguments as base64 SCVal XDR; ``result`` the
    return value (SCVal XDR) once it succeeded."""

    id: str
    chain: str
    source: str
    intent: str
    contract: str
    function: str
    args: list[str]
    sequence: int
    envelope: str
    hashes: list[str]
    max_time: int
    state: str = "signed"
    job_id: str | None = None
    ledger: int | None = None
    result: str | None = None
    error: str | None = None
    error_number: int | None = None
    tries: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    sent_at: float | None = None

    @property
    def hash(self) -> str:
        return self.hashes[-1]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "function": self.function, "source": self.source,
                "sequence": self.sequence, "hash": self.hash, "hashes": self.hashes, "ledger": self.ledger,
                "error": self.error, "error_number": self.error_number}


def _row(row: tuple[Any, ...]) -> SorobanTx:
    (id_, chain, source, intent, job_id, contract, function, args, sequence, envelope, hashes, state, max_time, ledger,
     result, error, error_number, tries, created, updated, sent) = row
    return SorobanTx(id=id_, chain=chain, source=source, intent=intent, job_id=job_id, contract=contract,
                     function=function, args=msgspec.json.decode(args), sequence=sequence, envelope=envelope,
                     hashes=msgspec.json.decode(hashes), state=state, max_time=max_time, ledger=ledger, result=result,
                     error=error, error_number=error_number, tries=tries, created_at=created, updated_at=updated,
                     sent_at=sent)


# --- reads ----------------------------------------------------------------------------------------

def by_intent(conn: sqlite3.Connection, intent: str) -> SorobanTx | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM soroban_txs WHERE intent = ?", (intent,)).fetchone()
    return None if row is None else _row(row)


def by_ids(conn: sqlite3.Connection, tx_ids: list[str]) -> dict[str, SorobanTx]:
    """The transactions of these ids (for :meth:`Store.lookup`)."""
    return {r.id: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM soroban_txs", "id", tx_ids))}


def by_id(conn: sqlite3.Connection, tx_id: str) -> SorobanTx | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM soroban_txs WHERE id = ?", (tx_id,)).fetchone()
    return None if row is None else _row(row)


def open_txs(conn: sqlite3.Connection, chain: str, source: str | None = None) -> list[SorobanTx]:
    where = "chain = ? AND state IN (?, ?)" + (" AND source = ?" if source else "")
    rows = conn.execute(f"SELECT {_COLUMNS} FROM soroban_txs WHERE {where} ORDER BY created_at",
                        (chain, *OPEN_STATES, *([source] if source else []))).fetchall()
    return [_row(r) for r in rows]


def ledger_next(conn: sqlite3.Connection, chain: str, account: str) -> int | None:
    row = conn.execute("SELECT next_seq FROM soroban_seqs WHERE chain = ? AND account = ?", (chain, account)).fetchone()
    return None if row is None else int(row[0])


def counts(conn: sqlite3.Connection, chain: str) -> dict[str, int]:
    return dict(conn.execute("SELECT state, count(*) FROM soroban_txs WHERE chain = ? GROUP BY state",
                             (chain,)).fetchall())


# --- writes ---------------------------------------------------------------------------------------

def insert_signed(tx: Tx, record: SorobanTx) -> SorobanTx:
    """Persist a signed transaction and set the source's ledger past its sequence — one commit.
    If the intent already has a transaction, that one is returned and nothing is written."""
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.created_at = record.updated_at = tx.now
    tx.conn.execute(
        f"INSERT INTO soroban_txs ({_COLUMNS}) VALUES ({','.join('?' * 21)})",
        (record.id, record.chain, record.source, record.intent, record.job_id, record.contract, record.function,
         msgspec.json.encode(record.args).decode(), record.sequence, record.envelope,
         msgspec.json.encode(record.hashes).decode(), record.state, record.max_time, None, None, None, None, 0,
         tx.now, tx.now, None))
    set_ledger(tx, record.chain, record.source, record.sequence + 1)
    _emit(tx, record)
    return record


def insert_if_idle(tx: Tx, record: SorobanTx) -> SorobanTx | None:
    """:func:`insert_signed`, under the source's lock, if the source has no open transaction
    and none landed at or past ``record``'s sequence (the chain's sequence we built on was
    stale). ``None``: nothing written — wait until idle and build again. Engines sharing one
    PostgreSQL store so keep Stellar's one transaction in flight per account between them."""
    tx.lock(f"soroban:{record.chain}:{record.source}")
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    if open_txs(tx.conn, record.chain, record.source):
        return None
    passed = tx.conn.execute("SELECT 1 FROM soroban_txs WHERE chain = ? AND source = ? AND sequence >= ?"
                             " AND ledger IS NOT NULL LIMIT 1", (record.chain, record.source, record.sequence)).fetchone()
    return None if passed else insert_signed(tx, record)


def update(tx: Tx, record: SorobanTx, **changes: Any) -> SorobanTx:
    """Change a transaction; emits a ``soroban.tx`` event when its state or hash changes."""
    old_state, old_hash = record.state, record.hash
    for key, value in changes.items():
        setattr(record, key, value)
    record.updated_at = tx.now
    tx.conn.execute(
        "UPDATE soroban_txs SET sequence = ?, envelope = ?, hashes = ?, state = ?, max_time = ?, ledger = ?,"
        " result = ?, error = ?, error_number = ?, tries = ?, updated_at = ?, sent_at = ? WHERE id = ?",
        (record.sequence, record.envelope, msgspec.json.encode(record.hashes).decode(), record.state,
         record.max_time, record.ledger, record.result, record.error, record.error_number, record.tries, tx.now,
         record.sent_at, record.id))
    if "sequence" in changes:
        set_ledger(tx, record.chain, record.source, record.sequence + 1)
    if record.state != old_state or record.hash != old_hash:
        _emit(tx, record)
    return record


def set_ledger(tx: Tx, chain: str, account: str, next_seq: int) -> None:
    tx.conn.execute("INSERT INTO soroban_seqs (chain, account, next_seq) VALUES (?, ?, ?) ON CONFLICT (chain, account)"
                    " DO UPDATE SET next_seq = excluded.next_seq", (chain, account, next_seq))


def _emit(tx: Tx, record: SorobanTx) -> None:
    tx.emit("soroban.tx", record.job_id, None, id=record.id, chain=record.chain, state=record.state,
            function=record.function, source=record.source, sequence=record.sequence, hash=record.hash,
            **({"error": record.error} if record.error else {}))
