"""The KALE farm's durable state (store schema v6): farmers (their secret keys sealed), blocks
seen, one row per farmer and block (the pail's progress), compensations, and the outbox of
Backend reports. Write ops take the writer's :class:`~engine.store.Tx`; reads a connection.

Secrets never leave this module unsealed: a farmer row holds the sealed seed, and nothing here
puts it into an event or an audit record.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.store import Tx

PAIL_STATES = ("planting", "planted", "hashing", "worked", "harvested", "failed", "skipped")


@dataclass(frozen=True)
class Farmer:
    address: str
    sealed: str
    stake: int
    origin: str  # config | cli | pooler
    active: bool
    added_at: float

    def public(self) -> dict[str, Any]:
        return {"address": self.address, "stake": str(self.stake), "origin": self.origin, "active": self.active,
                "added_at": self.added_at}


# --- farmers ----------------------------------------------------------------------------------

def farmers(conn: sqlite3.Connection, *, active: bool | None = True) -> list[Farmer]:
    where = "" if active is None else f" WHERE active = {int(active)}"
    rows = conn.execute(f"SELECT address, sealed, stake, origin, active, added_at FROM kale_farmers{where}"
                        " ORDER BY added_at, address").fetchall()
    return [Farmer(a, s, int(st), o, bool(ac), t) for a, s, st, o, ac, t in rows]


def farmer(conn: sqlite3.Connection, address: str) -> Farmer | None:
    row = conn.execute("SELECT address, sealed, stake, origin, active, added_at FROM kale_farmers WHERE address = ?",
                       (address,)).fetchone()
    return None if row is None else Farmer(row[0], row[1], int(row[2]), row[3], bool(row[4]), row[5])


def put_farmer(tx: Tx, address: str, sealed: str, stake: int, origin: str, actor: str, *,
               key_changed: bool = True) -> bool:
    """Add a farmer (or update its key, stake and origin); True if it is new. Audited when it
    is new, its key changed or it comes from config or the CLI — the Backend's custodial wallets
    arrive every block, and are audited when first taken in and when their key changes."""
    new = tx.conn.execute("SELECT 1 FROM kale_farmers WHERE address = ?", (address,)).fetchone() is None
    tx.conn.execute(
        "INSERT INTO kale_farmers (address, sealed, stake, origin, active, added_at) VALUES (?, ?, ?, ?, 1, ?)"
        " ON CONFLICT (address) DO UPDATE SET sealed = excluded.sealed, stake = excluded.stake,"
        " origin = excluded.origin, active = 1", (address, sealed, str(stake), origin, tx.now))
    if new or key_changed or origin != "pooler":
        tx.audit(actor, "kale.farmer.add" if new else "kale.farmer.update", address,
                 "custodial key taken in from the Backend" if origin == "pooler" else "",
                 {"stake": str(stake), "origin": origin, "secret": "[sealed]", "key_changed": new or key_changed})
    return new


def remove_farmer(tx: Tx, address: str, actor: str, reason: str) -> bool:
    """Stop farming for ``address`` (its history stays); False if it was not farmed."""
    changed = tx.conn.execute("UPDATE kale_farmers SET active = 0 WHERE address = ? AND active = 1",
                              (address,)).rowcount
    if changed:
        tx.audit(actor, "kale.farmer.remove", address, reason)
    return bool(changed)


# --- blocks -----------------------------------------------------------------------------------

def record_block(tx: Tx, index: int, timestamp: int, entropy: str, data: dict[str, Any]) -> bool:
    """Remember block ``index``; True (and a ``kale.block`` event) the first time it is seen."""
    cur = tx.conn.execute("INSERT INTO kale_blocks (idx, timestamp, entropy, data, seen_at)"
                          " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (index, timestamp, entropy, msgspec.json.encode(data).decode(),
                                                      tx.now))
    if cur.rowcount:
        tx.emit("kale.block", None, None, **data)
    return bool(cur.rowcount)


def blocks(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT data, seen_at FROM kale_blocks ORDER BY idx DESC LIMIT ?", (limit,)).fetchall()
    return [{**msgspec.json.decode(d), "seen_at": t} for d, t in rows]


def block(conn: sqlite3.Connection, index: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT data FROM kale_blocks WHERE idx = ?", (index,)).fetchone()
    return None if row is None else msgspec.json.decode(row[0])


# --- pails ------------------------------------------------------------------------------------

def set_pail(tx: Tx, farmer: str, index: int, state: str, *, stake: int | None = None, job_id: str | None = None,
             **detail: Any) -> None:
    """Record a farmer's progress in block ``index`` (detail fields merge into what is there);
    emits ``kale.pail``."""
    row = tx.conn.execute("SELECT stake, detail FROM kale_pails WHERE farmer = ? AND idx = ?", (farmer, index)).fetchone()
    merged = {**(msgspec.json.decode(row[1]) if row else {}), **detail, **({"job": job_id} if job_id else {})}
    stake_text = str(stake) if stake is not None else (row[0] if row else "0")
    tx.conn.execute("INSERT INTO kale_pails (farmer, idx, stake, state, detail, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (idx, farmer) DO UPDATE SET stake = excluded.stake, state = excluded.state,"
                    " detail = excluded.detail, updated_at = excluded.updated_at",
                    (farmer, index, stake_text, state, msgspec.json.encode(merged).decode(), tx.now))
    tx.emit("kale.pail", job_id, None, farmer=farmer, block=index, state=state, stake=stake_text, **detail)


def pails(conn: sqlite3.Connection, *, index: int | None = None, farmer: str | None = None,
          limit: int = 1000) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    if index is not None:
        where.append("idx = ?")
        args.append(index)
    if farmer is not None:
        where.append("farmer = ?")
        args.append(farmer)
    sql = ("SELECT farmer, idx, stake, state, detail, updated_at FROM kale_pails"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY idx DESC, farmer LIMIT ?")
    return [{"farmer": f, "block": i, "stake": st, "state": s, **msgspec.json.decode(d), "updated_at": u}
            for f, i, st, s, d, u in conn.execute(sql, (*args, limit)).fetchall()]


# --- compensations ----------------------------------------------------------------------------

def compensate(tx: Tx, farmer: str, index: int, stake: int, reason: str, job_id: str | None = None) -> bool:
    """Record that ``farmer``'s work in block ``index`` failed for good; once per farmer and block."""
    cur = tx.conn.execute("INSERT INTO kale_compensations (farmer, idx, stake, reason, created_at)"
                          " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (farmer, index, str(stake), reason, tx.now))
    if cur.rowcount:
        tx.emit("kale.compensation", job_id, None, farmer=farmer, block=index, stake=str(stake), reason=reason)
    return bool(cur.rowcount)


def compensations(conn: sqlite3.Connection, limit: int = 1000) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, farmer, idx, stake, reason, created_at FROM kale_compensations"
                        " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [{"id": i, "farmer": f, "block": b, "stake": s, "reason": r, "created_at": t} for i, f, b, s, r, t in rows]


# --- the outbox -------------------------------------------------------------------------------

def enqueue(tx: Tx, id_: str, target: str, body: dict[str, Any]) -> bool:
    """A report to deliver at least once (``id_`` is its idempotency key: enqueued once)."""
    cur = tx.conn.execute("INSERT INTO outbox (id, target, body, next_at, created_at) VALUES (?, ?, ?, ?, ?)"
                          " ON CONFLICT DO NOTHING",
                          (id_, target, msgspec.json.encode(body).decode(), tx.now, tx.now))
    return bool(cur.rowcount)


def due(conn: sqlite3.Connection, now: float, limit: int = 50) -> list[tuple[str, str, dict[str, Any], int]]:
    rows = conn.execute("SELECT id, target, body, attempts FROM outbox WHERE delivered_at IS NULL AND next_at <= ?"
                        " ORDER BY next_at LIMIT ?", (now, limit)).fetchall()
    return [(i, t, msgspec.json.decode(b), a) for i, t, b, a in rows]


def delivered(tx: Tx, id_: str) -> None:
    tx.conn.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, error = NULL WHERE id = ?",
                    (tx.now, id_))


def retry_later(tx: Tx, id_: str, delay: float, error: str) -> None:
    tx.conn.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ? WHERE id = ?",
                    (tx.now + delay, error[:500], id_))


def outbox_counts(conn: sqlite3.Connection) -> dict[str, int]:
    pending, delivered_ = conn.execute("SELECT count(*) FILTER (WHERE delivered_at IS NULL),"
                                       " count(*) FILTER (WHERE delivered_at IS NOT NULL) FROM outbox").fetchone()
    return {"pending": pending, "delivered": delivered_}
