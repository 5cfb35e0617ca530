"""The durable side of Solana transactions (store schema v7): one row per *intent*, written with
the signed transaction before it is sent; re-signing after the blockhash expired keeps the row
and adds a signature.

Write ops take the writer's :class:`~engine.store.Tx` first (``store.write(op, …)``); reads take
a connection (``store.read(fn, …)``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec

from engine.store import Tx, where_in

OPEN_STATES = ("signed", "sent")
_COLUMNS = ("id, chain, signer, intent, job_id, label, instructions, raw, signatures, last_valid, state, slot, error,"
            " error_code, tries, created_at, updated_at, sent_at")
_UPDATABLE = ("raw", "signatures", "last_valid", "state", "slot", "error", "error_code", "tries", "sent_at")


@dataclass
class SolanaTx:
    """``state``: signed (persisted, not yet accepted by a node) → sent → success | failed.
    ``instructions``: what was signed, to sign again ({program, accounts: [[key, signer,
    writable]], data (base64)}); ``raw``: the latest signed transaction (base64)."""

    id: str
    chain: str
    signer: str
    intent: str
    label: str
    instructions: list[dict[str, Any]]
    raw: str
    signatures: list[str]
    last_valid: int
    state: str = "signed"
    job_id: str | None = None
    slot: int | None = None
    error: str | None = None
    error_code: int | None = None
    tries: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    sent_at: float | None = field(default=None)

    @property
    def signature(self) -> str:
        return self.signatures[-1]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "label": self.label, "signer": self.signer,
                "signature": self.signature, "signatures": self.signatures, "slot": self.slot, "error": self.error,
                "error_code": self.error_code}


def _row(row: tuple[Any, ...]) -> SolanaTx:
    values = dict(zip(_COLUMNS.replace(" ", "").split(","), row, strict=True))
    values["instructions"] = msgspec.json.decode(values["instructions"])
    values["signatures"] = msgspec.json.decode(values["signatures"])
    return SolanaTx(**values)


def by_intent(conn: sqlite3.Connection, intent: str) -> SolanaTx | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM solana_txs WHERE intent = ?", (intent,)).fetchone()
    return None if row is None else _row(row)


def by_ids(conn: sqlite3.Connection, tx_ids: list[str]) -> dict[str, SolanaTx]:
    """The transactions of these ids (for :meth:`Store.lookup`)."""
    return {r.id: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM solana_txs", "id", tx_ids))}


def by_id(conn: sqlite3.Connection, tx_id: str) -> SolanaTx | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM solana_txs WHERE id = ?", (tx_id,)).fetchone()
    return None if row is None else _row(row)


def open_txs(conn: sqlite3.Connection, chain: str) -> list[SolanaTx]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM solana_txs WHERE chain = ? AND state IN (?, ?) ORDER BY created_at",
                        (chain, *OPEN_STATES)).fetchall()
    return [_row(r) for r in rows]


def counts(conn: sqlite3.Connection, chain: str) -> dict[str, int]:
    return dict(conn.execute("SELECT state, count(*) FROM solana_txs WHERE chain = ? GROUP BY state",
                             (chain,)).fetchall())


def insert_signed(tx: Tx, record: SolanaTx) -> SolanaTx:
    """Persist a signed transaction; if the intent already has one, that one is returned and
    nothing is written."""
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.created_at = record.updated_at = tx.now
    tx.conn.execute(
        f"INSERT INTO solana_txs ({_COLUMNS}) VALUES ({','.join('?' * 18)})",
        (record.id, record.chain, record.signer, record.intent, record.job_id, record.label,
         msgspec.json.encode(record.instructions).decode(), record.raw, msgspec.json.encode(record.signatures).decode(),
         record.last_valid, record.state, None, None, None, 0, tx.now, tx.now, None))
    _emit(tx, record)
    return record


def update(tx: Tx, record: SolanaTx, **changes: Any) -> SolanaTx:
    """Change a transaction; emits a ``solana.tx`` event when its state or signature changes."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    old_state, old_signature = record.state, record.signature
    for key, value in changes.items():
        setattr(record, key, value)
    record.updated_at = tx.now
    tx.conn.execute(
        f"UPDATE solana_txs SET {', '.join(f'{c} = ?' for c in _UPDATABLE)}, updated_at = ? WHERE id = ?",
        (record.raw, msgspec.json.encode(record.signatures).decode(), record.last_valid, record.state, record.slot,
         record.error, record.error_code, record.tries, record.sent_at, tx.now, record.id))
    if record.state != old_state or record.signature != old_signature:
        _emit(tx, record)
    return record


def _emit(tx: Tx, record: SolanaTx) -> None:
    tx.emit("solana.tx", record.job_id, None, id=record.id, chain=record.chain, state=record.state, label=record.label,
            signer=record.signer, signature=record.signature, **({"error": record.error} if record.error else {}))
