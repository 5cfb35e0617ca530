"""Opening the SQLite database: header checks, pragmas and versioned schema migrations."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from engine.errors import DatabaseUnusable

#: ``PRAGMA application_id`` of a Shiftboss database ("SBOS").
APPLICATION_ID = 0x53424F53
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: Schema migrations: index i holds the script that takes ``user_version`` from i to i+1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE jobs (
        seq             INTEGER PRIMARY KEY,       -- submit order: FIFO within a priority
        id              TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        pool            TEXT NOT NULL,
        state           TEXT NOT NULL,
        priority        INTEGER NOT NULL,
        payload         TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,  -- attempts used of the current budget
        max_attempts    INTEGER NOT NULL,
        timeout         REAL NOT NULL,
        not_before      REAL,
        deadline        REAL,
        idempotency_key TEXT UNIQUE,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        started_at      REAL,
        finished_at     REAL,
        progress        TEXT,
        result          TEXT,
        error           TEXT,
        lease_owner     TEXT,
        lease_until     REAL
    );
    CREATE INDEX jobs_ready ON jobs(pool, priority DESC, seq) WHERE state = 'queued';
    CREATE INDEX jobs_timed ON jobs(not_before) WHERE state IN ('waiting', 'retrying');
    CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state IN ('running', 'cancelling');
    CREATE INDEX jobs_deadline ON jobs(deadline)
        WHERE deadline IS NOT NULL AND state IN ('queued', 'waiting', 'retrying', 'running');
    CREATE INDEX jobs_state ON jobs(state, seq);
    CREATE INDEX jobs_kind ON jobs(kind, seq);
    CREATE INDEX jobs_pool ON jobs(pool, seq);

    CREATE TABLE attempts (
        rowid       INTEGER PRIMARY KEY,
        job_id      TEXT NOT NULL,
        n           INTEGER NOT NULL,
        started_at  REAL NOT NULL,
        finished_at REAL,
        outcome     TEXT NOT NULL,
        worker      TEXT NOT NULL,
        error       TEXT
    );
    CREATE INDEX attempts_job ON attempts(job_id, rowid);

    CREATE TABLE events (
        seq     INTEGER PRIMARY KEY,
        ts      REAL NOT NULL,
        type    TEXT NOT NULL,
        job_id  TEXT,
        pool    TEXT,
        data    TEXT NOT NULL
    );

    CREATE TABLE audit (
        id      INTEGER PRIMARY KEY,
        ts      REAL NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT NOT NULL,
        reason  TEXT NOT NULL,
        details TEXT
    );
    CREATE INDEX audit_target ON audit(target, id);

    -- Switches that must survive a restart: the e-stop and pool states.
    CREATE TABLE control (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # v2: one job's events without scanning the log (jobs watch ID, submit --wait).
    """
    CREATE INDEX events_job ON events(job_id, seq) WHERE job_id IS NOT NULL;
    """,
    # v3: a job may set its own first retry delay (NULL: its kind's, else the scheduler's).
    """
    ALTER TABLE jobs ADD COLUMN backoff REAL;
    """,
    # v4: a waiting job may wait for a chain: {"chain": name, "height": h, "start": block_start}.
    """
    ALTER TABLE jobs ADD COLUMN gate TEXT;
    """,
    # v5: EVM transactions, persisted signed *before* broadcast. One row per intent (never a
    # second transaction for one), one stable id across fee-bump replacements (every hash kept),
    # and each signer's nonce ledger.
    """
    CREATE TABLE evm_txs (
        id            TEXT PRIMARY KEY,
        chain         TEXT NOT NULL,
        signer        TEXT NOT NULL,
        intent        TEXT NOT NULL UNIQUE,
        job_id        TEXT,
        nonce         INTEGER NOT NULL,
        to_addr       TEXT,
        value         TEXT NOT NULL,
        data          TEXT NOT NULL,
        gas           INTEGER NOT NULL,
        max_fee       TEXT NOT NULL,
        priority_fee  TEXT NOT NULL,
        raw           TEXT NOT NULL,
        hashes        TEXT NOT NULL,
        state         TEXT NOT NULL,
        receipt       TEXT,
        error         TEXT,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        sent_at       REAL
    );
    CREATE INDEX evm_txs_open ON evm_txs (chain, signer, state);
    CREATE TABLE evm_nonces (
        chain       TEXT NOT NULL,
        signer      TEXT NOT NULL,
        next_nonce  INTEGER NOT NULL,
        PRIMARY KEY (chain, signer)
    );
    """,
    # v6: Soroban (Stellar) transactions, persisted signed before they are sent: one row per
    # intent, one stable id across re-signings (every hash kept), and each source account's
    # sequence ledger. The KALE farm: its farmers (secret keys sealed), blocks seen, one row per
    # farmer and block (the pail's progress), compensations, and the Backend reports' outbox.
    """
    CREATE TABLE soroban_txs (
        id            TEXT PRIMARY KEY,
        chain         TEXT NOT NULL,
        source        TEXT NOT NULL,
        intent        TEXT NOT NULL UNIQUE,
        job_id        TEXT,
        contract      TEXT NOT NULL,
        function      TEXT NOT NULL,
        args          TEXT NOT NULL,
        sequence      INTEGER NOT NULL,
        envelope      TEXT NOT NULL,
        hashes        TEXT NOT NULL,
        state         TEXT NOT NULL,
        max_time      INTEGER NOT NULL,
        ledger        INTEGER,
        result        TEXT,
        error         TEXT,
        error_number  INTEGER,
        tries         INTEGER NOT NULL DEFAULT 0,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        sent_at       REAL
    );
    CREATE INDEX soroban_txs_open ON soroban_txs (chain, state);
    CREATE TABLE soroban_seqs (
        chain     TEXT NOT NULL,
        account   TEXT NOT NULL,
        next_seq  INTEGER NOT NULL,
        PRIMARY KEY (chain, account)
    );
    CREATE TABLE kale_farmers (
        address   TEXT PRIMARY KEY,
        sealed    TEXT NOT NULL,
        stake     TEXT NOT NULL,
        origin    TEXT NOT NULL,
        active    INTEGER NOT NULL DEFAULT 1,
        added_at  REAL NOT NULL
    );
    CREATE TABLE kale_blocks (
        idx        INTEGER PRIMARY KEY,
        timestamp  INTEGER NOT NULL,
        entropy    TEXT NOT NULL,
        data       TEXT NOT NULL,
        seen_at    REAL NOT NULL
    );
    CREATE TABLE kale_pails (
        farmer      TEXT NOT NULL,
        idx         INTEGER NOT NULL,
        stake       TEXT NOT NULL,
        state       TEXT NOT NULL,
        detail      TEXT NOT NULL,
        updated_at  REAL NOT NULL,
        PRIMARY KEY (idx, farmer)
    );
    CREATE INDEX kale_pails_farmer ON kale_pails (farmer, idx);
    CREATE TABLE kale_compensations (
        id          INTEGER PRIMARY KEY,
        farmer      TEXT NOT NULL,
        idx         INTEGER NOT NULL,
        stake       TEXT NOT NULL,
        reason      TEXT NOT NULL,
        created_at  REAL NOT NULL,
        UNIQUE (farmer, idx)
    );
    CREATE TABLE outbox (
        id            TEXT PRIMARY KEY,
        target        TEXT NOT NULL,
        body          TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       REAL NOT NULL,
        delivered_at  REAL,
        error         TEXT,
        created_at    REAL NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at IS NULL;
    """,
    # v7: Solana transactions, persisted signed before they are sent: one row per intent, one
    # stable id across re-signings after a blockhash expired (every signature kept).
    """
    CREATE TABLE solana_txs (
        id            TEXT PRIMARY KEY,
        chain         TEXT NOT NULL,
        signer        TEXT NOT NULL,
        intent        TEXT NOT NULL UNIQUE,
        job_id        TEXT,
        label         TEXT NOT NULL,
        instructions  TEXT NOT NULL,
        raw           TEXT NOT NULL,
        signatures    TEXT NOT NULL,
        last_valid    INTEGER NOT NULL,
        state         TEXT NOT NULL,
        slot          INTEGER,
        error         TEXT,
        error_code    INTEGER,
        tries         INTEGER NOT NULL DEFAULT 0,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        sent_at       REAL
    );
    CREATE INDEX solana_txs_open ON solana_txs (chain, state);
    """,
    # v8: Cosmos SDK (CometBFT) transactions, persisted signed before they are broadcast: one row
    # per intent; re-signing after a refused or spent sequence keeps the row and adds a hash.
    """
    CREATE TABLE cosmos_txs (
        id              TEXT PRIMARY KEY,
        chain           TEXT NOT NULL,
        signer          TEXT NOT NULL,
        intent          TEXT NOT NULL UNIQUE,
        job_id          TEXT,
        label           TEXT NOT NULL,
        msgs            TEXT NOT NULL,
        raw             TEXT NOT NULL,
        hashes          TEXT NOT NULL,
        sequence        INTEGER NOT NULL,
        account_number  INTEGER NOT NULL,
        gas             INTEGER NOT NULL,
        state           TEXT NOT NULL,
        height          INTEGER,
        error           TEXT,
        error_code      INTEGER,
        tries           INTEGER NOT NULL DEFAULT 0,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        sent_at         REAL
    );
    CREATE INDEX cosmos_txs_open ON cosmos_txs (chain, state);
    """,
    # v9: the engines sharing this store (one on SQLite; several on PostgreSQL): who they are and
    # when each last showed it is alive. Jobs leased by an engine that stopped heart-beating are
    # recovered by the others.
    """
    CREATE TABLE engines (
        id            TEXT PRIMARY KEY,
        host          TEXT NOT NULL,
        pid           INTEGER NOT NULL,
        version       TEXT NOT NULL,
        started_at    REAL NOT NULL,
        heartbeat_at  REAL NOT NULL,
        stopped_at    REAL
    );
    -- What only one engine at a time may do (a chain signer's transaction tracker): who holds it, until when.
    CREATE TABLE leases (
        name   TEXT PRIMARY KEY,
        owner  TEXT NOT NULL,
        until  REAL NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, synchronous: str = "FULL", readonly: bool = False,
            busy_timeout: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with our pragmas."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -65536")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    return conn


def prepare(path: Path, *, synchronous: str = "FULL", busy_timeout: float = 30.0) -> sqlite3.Connection:
    """Check that ``path`` is (or can become) a Shiftboss database and migrate it; return the
    writer connection. Raises :class:`DatabaseUnusable` with an operator-readable reason."""
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            if f.read(16) != _SQLITE_MAGIC:
                raise DatabaseUnusable(f"{path} is not an SQLite database (foreign or corrupted file)")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, synchronous=synchronous, busy_timeout=busy_timeout)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (app_id != 0 or tables > 0):
            raise DatabaseUnusable(f"{path} is an SQLite database of another application, not Shiftboss")
        if version > SCHEMA_VERSION:
            raise DatabaseUnusable(
                f"{path} has schema version {version}, newer than this Shiftboss knows ({SCHEMA_VERSION}); "
                "upgrade Shiftboss"
            )
        for target in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements(MIGRATIONS[target]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {target + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        conn.execute("SELECT count(*) FROM jobs").fetchone()
        # the database's identity: the event stream carries it, so a client notices another database
        conn.execute("INSERT INTO control (key, value) VALUES ('database', ?) ON CONFLICT (key) DO NOTHING",
                     (json.dumps({"id": uuid.uuid4().hex}),))
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    except DatabaseUnusable:
        conn.close()
        raise
    return conn


def statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit our transaction)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> DatabaseUnusable:
    return DatabaseUnusable(f"{path} cannot be used as a database: {exc} (corrupted or not a Shiftboss file?)")
