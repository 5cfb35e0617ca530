"""The durable side of Cosmos SDK transactions (store schema v8): one row per *intent*, written
with the signed transaction before it is broadcast; re-signing (a refused or spent sequence)
keeps the row and adds a hash.

Write ops take the writer's :class:`~engine.store.Tx` first (``store.write(op, …)``); reads take
a connection (``store.read(fn, …)``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.store import Tx, where_in

OPEN_STATES = ("signed", "sent")
_FIELDS = ("id", "chain", "signer", "intent", "job_id", "label", "msgs", "raw", "hashes", "sequence", "account_number",
           "gas", "state", "height", "error", "error_code", "tries", "created_at", "updated_at", "sent_at")
_COLUMNS = ", ".join(_FIELDS)
_JSON = ("msgs", "hashes")
_UPDATABLE = ("raw", "hashes", "sequence", "account_number", "gas", "state", "height", "error", "error_code", "tries",
              "sent_at")


@dataclass
class CosmosTx:
    """``state``: signed (persisted, not yet in a mempool) → sent → success | failed. ``msgs``:
    what was signed, to sign again (``{"@type": url, field: value}``); ``raw``: the latest
    signed ``TxRaw`` (hex)."""

    id: str
    chain: str
    signer: str
    intent: str
    label: str
    msgs: list[dict[str, Any]]
    raw: str
    hashes: list[str]
    sequence: int
    account_number: int
    gas: int
    state: str = "signed"
    job_id: str | None = None
    height: int | None = None
    error: str | None = None
    error_code: int | None = None
    tries: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    sent_at: float | None = None

    @property
    def hash(self) -> str:
        return self.hashes[-1]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "label": self.label, "signer": self.signer, "hash": self.hash,
                "hashes": self.hashes, "sequence": self.sequence, "height": self.height, "error": self.error,
                "error_code": self.error_code}


def _row(row: tuple[Any, ...]) -> CosmosTx:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _JSON:
        values[name] = msgspec.json.decode(values[name])
    return CosmosTx(**values)


def _one(conn: sqlite3.Connection, where: str, value: str) -> CosmosTx | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM cosmos_txs WHERE {where} = ?", (value,)).fetchone()
    return None if row is None else _row(row)


def by_ids(conn: sqlite3.Connection, tx_ids: list[str]) -> dict[str, CosmosTx]:
    """The transactions of these ids (for :meth:`Store.lookup`)."""
    return {r.id: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM cosmos_txs", "id", tx_ids))}


def by_intents(conn: sqlite3.Connection, intents: list[str]) -> dict[str, CosmosTx]:
    """The transactions of these intents (for :meth:`Store.lookup`)."""
    return {r.intent: r for r in map(_row, where_in(conn, f"SELECT {_COLUMNS} FROM cosmos_txs", "intent", intents))}


def by_intent(conn: sqlite3.Connection, intent: str) -> CosmosTx | None:
    return _one(conn, "intent", intent)


def by_id(conn: sqlite3.Connection, tx_id: str) -> CosmosTx | None:
    return _one(conn, "id", tx_id)


def open_txs(conn: sqlite3.Connection, chain: str) -> list[CosmosTx]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM cosmos_txs WHERE chain = ? AND state IN (?, ?) "
                        "ORDER BY signer, sequence", (chain, *OPEN_STATES)).fetchall()
    return [_row(r) for r in rows]


def open_at(conn: sqlite3.Connection, chain: str, signer: str, sequence: int) -> CosmosTx | None:
    """The signer's open transaction at ``sequence``, if the ledger holds one."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM cosmos_txs WHERE chain = ? AND signer = ? AND sequence = ?"
                       " AND state IN (?, ?)", (chain, signer, sequence, *OPEN_STATES)).fetchone()
    return None if row is None else _row(row)


def next_sequence(conn: sqlite3.Connection, chain: str, signer: str) -> int:
    """One past the highest sequence this signer's transactions hold (0 when it has none); one
    refused before any block (failed, no height) holds none."""
    row = conn.execute("SELECT max(sequence) FROM cosmos_txs WHERE chain = ? AND signer = ?"
                       " AND (state <> 'failed' OR height IS NOT NULL)", (chain, signer)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def counts(conn: sqlite3.Connection, chain: str) -> dict[str, int]:
    return dict(conn.execute("SELECT state, count(*) FROM cosmos_txs WHERE chain = ? GROUP BY state",
                             (chain,)).fetchall())


def insert_signed(tx: Tx, record: CosmosTx) -> CosmosTx:
    """Persist a signed transaction; if the intent already has one, that one is returned and
    nothing is written."""
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.created_at = record.updated_at = tx.now
    values = [getattr(record, name) for name in _FIELDS]
    for name in _JSON:
        values[_FIELDS.index(name)] = msgspec.json.encode(getattr(record, name)).decode()
    tx.conn.execute(f"INSERT INTO cosmos_txs ({_COLUMNS}) VALUES ({','.join('?' * len(_FIELDS))})", values)
    _emit(tx, record)
    return record


def insert_allocating(tx: Tx, record: CosmosTx, sign: Callable[[int], tuple[str, str]]) -> CosmosTx:
    """:func:`insert_signed` with ``record``'s sequence (a floor: the chain's and the sender's
    view) raised past every sequence the ledger holds for its signer, and the transaction
    signed (``sign(sequence)`` → raw hex, hash) — under the signer's lock, in one commit. So
    engines sharing one PostgreSQL store never sign two transactions at one sequence."""
    tx.lock(f"cosmos:{record.chain}:{record.signer}")
    existing = by_intent(tx.conn, record.intent)
    if existing is not None:
        return existing
    record.sequence = max(record.sequence, next_sequence(tx.conn, record.chain, record.signer))
    record.raw, tx_hash = sign(record.sequence)
    record.hashes = [tx_hash]
    return insert_signed(tx, record)


def insert_allocating_many(tx: Tx, records: list[CosmosTx],
                           signs: list[Callable[[int], tuple[str, str]]]) -> list[CosmosTx]:
    """:func:`insert_allocating` for each of ``records`` in order, in one commit: contiguous
    sequences."""
    return [insert_allocating(tx, record, sign) for record, sign in zip(records, signs, strict=True)]


def resign_allocating(tx: Tx, record: CosmosTx, sign: Callable[[int], tuple[str, str]], floor: int) -> CosmosTx:
    """``record`` signed again at a fresh sequence (at least ``floor``), allocated as
    :func:`insert_allocating` does: its old one was spent by another transaction."""
    tx.lock(f"cosmos:{record.chain}:{record.signer}")
    sequence = max(floor, next_sequence(tx.conn, record.chain, record.signer))
    raw, tx_hash = sign(sequence)
    return update(tx, record, raw=raw, hashes=[*record.hashes, tx_hash], sequence=sequence, state="signed")


def update(tx: Tx, record: CosmosTx, **changes: Any) -> CosmosTx:
    """Change a transaction; emits a ``cosmos.tx`` event when its state or hash changes."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    old_state, old_hash = record.state, record.hash
    for key, value in changes.items():
        setattr(record, key, value)
    record.updated_at = tx.now
    values = [msgspec.json.encode(getattr(record, c)).decode() if c in _JSON else getattr(record, c) for c in _UPDATABLE]
    tx.conn.execute(f"UPDATE cosmos_txs SET {', '.join(f'{c} = ?' for c in _UPDATABLE)}, updated_at = ? WHERE id = ?",
                    (*values, tx.now, record.id))
    if record.state != old_state or record.hash != old_hash:
        _emit(tx, record)
    return record


def _emit(tx: Tx, record: CosmosTx) -> None:
    tx.emit("cosmos.tx", record.job_id, None, id=record.id, chain=record.chain, state=record.state, label=record.label,
            signer=record.signer, hash=record.hash, sequence=record.sequence,
            **({"error": record.error} if record.error else {}))
