"""Typed engine settings, loaded from ``config.toml`` with ``SHIFTBOSS_…`` env overrides.

Precedence, lowest first: built-in defaults, the TOML file, environment variables named
``SHIFTBOSS_<SECTION>__<KEY>`` (e.g. ``SHIFTBOSS_STORE__SYNCHRONOUS=FULL``,
``SHIFTBOSS_POOLS__DEFAULT__CONCURRENCY=8``), then explicit command-line flags.

Secrets never come from the TOML: API tokens are read from the files named by
``api.token_file`` / ``api.read_only_token_file`` or from ``SHIFTBOSS_API_TOKEN`` /
``SHIFTBOSS_API_READ_ONLY_TOKEN``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from engine.errors import ConfigError
from engine.sandbox._uids import parse_range

ENV_PREFIX = "SHIFTBOSS_"
TOKEN_ENV = "SHIFTBOSS_API_TOKEN"
READ_ONLY_TOKEN_ENV = "SHIFTBOSS_API_READ_ONLY_TOKEN"
#: Variables with the prefix that are not config overrides (client settings, secrets).
_NOT_OVERRIDES = {TOKEN_ENV, READ_ONLY_TOKEN_ENV}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, allow_inf_nan=False)


class EngineSettings(_Section):
    data_dir: Path | None = None
    """Directory for the database, pid file, log and socket. Empty: the user's data dir
    (``~/.local/share/shiftboss`` on Linux). ``shiftboss run --data-dir`` overrides it."""

    grace_period: float = Field(10.0, ge=0, le=3600)
    """Seconds running jobs get to finish on SIGTERM/SIGINT or ``shiftboss stop`` before
    they are interrupted and put back in the queue."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Engine log verbosity."""


RetainedState = Literal["completed", "failed", "cancelled", "expired"]
_RETENTION: dict[RetainedState, float] = {"completed": 7 * 86400.0, "failed": 7 * 86400.0, "cancelled": 7 * 86400.0, "expired": 7 * 86400.0}


class StoreSettings(_Section):
    path: Path | None = None
    """SQLite database file. Empty: ``<data_dir>/shiftboss.db``."""

    url: str | None = None
    """A PostgreSQL database instead of the SQLite file, for several engines sharing one queue:
    ``postgresql://user@host:5432/shiftboss`` (or ``?host=/run/postgresql`` for a socket). No
    password in it: ``password_env`` or ``password_file``."""

    password_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Environment variable holding the PostgreSQL password."""

    password_file: Path | None = None
    """File holding the PostgreSQL password."""

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected postgresql://user@host/database")
        if re.match(r"^postgres(?:ql)?://[^/@]*:[^/@]*@", value) or re.search(r"[?&]password=", value):
            raise ValueError("a password does not belong in the URL (config files are read by many): use "
                             "store.password_env or store.password_file")
        return value

    synchronous: Literal["NORMAL", "FULL"] = "FULL"
    """SQLite durability in WAL mode. NORMAL: a committed job survives a crash or kill -9 of
    the engine, but the last transactions before a power loss or OS crash may roll back.
    FULL: every commit is fsynced, so it survives power loss too (group commit keeps it to one
    fsync per batch, not per job)."""

    group_commit_max: int = Field(5000, ge=1, le=100_000)
    """Most write operations merged into one transaction by the single writer."""

    lease_ttl: float = Field(30.0, ge=1, le=3600)
    """Seconds a claimed job's lease lasts; the owner renews it every third of that. A job
    whose lease runs out (hung or dead worker) goes back to the queue."""

    event_retention: int = Field(1_000_000, ge=1000)
    """How many of the newest events are kept for clients resuming the event stream."""

    job_retention: dict[RetainedState, float] = dict(_RETENTION)
    """Seconds a finished job (with its attempts) is kept after it ended, per final state
    (default 7 days each; a state left out keeps its default); then it is deleted — audit records
    are kept. 0 keeps that state's jobs forever."""

    @field_validator("job_retention", mode="before")
    @classmethod
    def _retention(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if any(isinstance(v, int | float) and v < 0 for v in value.values()):
            raise ValueError("retention seconds must be 0 (keep forever) or more")
        return {**_RETENTION, **value}

    busy_timeout: float = Field(30.0, ge=0.01, le=600)
    """Seconds a write waits for another process's lock on the database before it fails. While
    writes fail (a lock held too long, a full disk) the engine keeps running degraded: it claims
    nothing, serves reads, shows it in status, and retries until the store can write again."""


class ApiSettings(_Section):
    socket: Path | None = None
    """Unix socket of the control API (mode 0600, no token). Empty: ``<data_dir>/engine.sock``."""

    tcp: str | None = Field(None, pattern=r"^[^\s:]+:\d{1,5}$")
    """Also listen on TCP ``host:port`` (e.g. ``127.0.0.1:8787``). Requires a token; off by
    default."""

    @field_validator("tcp")
    @classmethod
    def _port_in_range(cls, value: str | None) -> str | None:
        if value is not None and not 0 <= int(value.rsplit(":", 1)[1]) <= 65535:
            raise ValueError("the port must be between 0 and 65535")
        return value

    token_file: Path | None = None
    """File holding the bearer token for TCP clients (or set ``SHIFTBOSS_API_TOKEN``)."""

    read_only_token_file: Path | None = None
    """File holding a token that may only GET (or set ``SHIFTBOSS_API_READ_ONLY_TOKEN``)."""

    token_name: str = Field("operator", pattern=r"^[\w.@+-]{1,64}$")
    """Who acts with the full token: audit records of TCP clients name this, and a name the
    client sends (``X-Shiftboss-Actor``) only as ``on behalf of``."""

    read_only_token_name: str = Field("viewer", pattern=r"^[\w.@+-]{1,64}$")
    """Who reads with the read-only token."""

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest request body accepted; bigger ones get 413."""

    max_connections: int = Field(256, ge=1, le=65536)
    """Open TCP connections at most; more wait in the kernel's backlog until one closes (the
    Unix socket is not counted and keeps answering)."""

    header_timeout: float = Field(10.0, gt=0, le=300)
    """Seconds a TCP client has to send a request's headers, at connect and between keep-alive
    requests; slower connections are closed."""


class SchedulerSettings(_Section):
    default_max_attempts: int = Field(3, ge=1, le=1000)
    """Attempts a job gets unless its kind or the job says otherwise."""

    default_timeout: float = Field(300.0, gt=0, le=7 * 86400)
    """Seconds one attempt may run unless its kind or the job says otherwise."""

    backoff_base: float = Field(1.0, gt=0, le=86400)
    """Delay before the first retry; it doubles per attempt (with jitter)."""

    backoff_cap: float = Field(300.0, gt=0, le=7 * 86400)
    """Longest delay between retries."""

    cancel_grace: float = Field(10.0, gt=0)
    """Seconds a cancelled running job has to stop before it is marked cancelled anyway."""

    claim_batch: int = Field(512, ge=1, le=10_000)
    """Most jobs one pool claims in one store transaction."""


class RemoteWorkerSettings(_Section):
    worker_id: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")
    """The worker's Ed25519 public key, base64 (``shiftboss worker keygen`` prints it)."""

    endpoint: str = Field(pattern=r"^https?://[^\s/]+(/.*)?$")
    """Where it serves, e.g. ``http://10.0.0.5:8443``."""

    max_concurrent_jobs: int | None = Field(None, ge=1, le=1024)
    """Jobs it runs at once; empty: the free slots its health answer reports."""


class PoolSettings(_Section):
    concurrency: int = Field(64, ge=1, le=100_000)
    """Most jobs this pool runs at once."""

    kinds: list[str] = ["*"]
    """Job kinds this pool serves; ``"*"`` serves every kind no other pool names."""

    device: Literal["cpu", "cuda"] = "cpu"
    """Where this pool's KALE jobs hash: ``cuda`` runs them on the GPU (numba.cuda; the engine
    refuses to start without a CUDA device). Structs and Hashcash jobs hash on the CPU."""

    threads: int = Field(0, ge=0, le=1024)
    """Hashing threads for the PoW jobs this pool runs (0: one per core). All of the pool's
    PoW jobs share them, highest priority first."""

    remote: bool = False
    """A trusted pool: this pool's ``compute.run`` jobs run on the allowlisted remote workers
    below (``shiftboss worker run``), each proven by its Ed25519 signature."""

    workers: list[RemoteWorkerSettings] = []
    """The allowlist: ``[[pools.<name>.workers]]`` with ``worker_id``, ``endpoint``,
    ``max_concurrent_jobs``."""

    workers_file: Path | None = None
    """The seed's ``workers.json`` (a list of the same three fields), read as is."""

    health_interval: float = Field(30.0, ge=0.1, le=3600)
    """Seconds between signed health checks of each worker."""

    tls_ca: Path | None = None
    """CA bundle that signed the workers' TLS certificates (``https://`` endpoints)."""

    hash_on: list[str] = []
    """Remote pools whose workers also hash this pool's PoW jobs, beside its own threads: ranges
    sized to each worker's measured rate, every returned hash re-verified here."""


class DemoSettings(_Section):
    enabled: bool = False
    """Submit a steady trickle of demo jobs (noop, sleep, demo.flaky) — what ``make demo`` uses."""

    interval: float = Field(0.5, gt=0)
    """Seconds between demo submissions."""

    structs_rest: str | None = None
    """The local Structs chain's REST URL (``shiftboss run --structs-devnet`` sets it): every
    ``structs_every`` seconds the demo starts a struct build there (a devnet-only route) and
    submits its ``pow.structs`` proof, signed by the ``demo`` key of ``[chains.structs]``."""

    structs_player: str | None = None
    """The demo player's id on that chain."""

    structs_every: float = Field(30.0, gt=0)
    """Seconds between demo Structs builds."""


class EvmChainSettings(_Section):
    kind: Literal["evm"] = "evm"
    """The chain family (only ``evm`` for now)."""

    rpc: list[str] = Field(min_length=1)
    """JSON-RPC endpoints, in order of preference; the next takes over when one fails."""

    chain_id: int | None = Field(None, ge=1)
    """The chain id the endpoints must serve (checked at start). Empty: whatever they serve."""

    state_file: Path | None = None
    """The devnet state file (written by ``shiftboss devnet``): contract addresses of the
    workflow executor. Relative paths are relative to the working directory."""

    key_file: Path | None = None
    """The signer's key: an encrypted keystore (needs ``password_file`` or ``password_env``) or a
    key file of mode 0600. Without it the chain is watched but nothing is sent."""

    password_file: Path | None = None
    """File holding the keystore password."""

    password_env: str | None = None
    """Environment variable holding the keystore password."""

    confirmations: int = Field(1, ge=1, le=1000)
    """Blocks on top of a receipt before a transaction counts as done."""

    receipt_timeout: float = Field(120.0, gt=0)
    """Seconds to wait for a receipt before the attempt fails (and is retried; the transaction
    keeps being tracked)."""

    bump_after: float = Field(30.0, gt=0)
    """Seconds a transaction may stay unmined before it is replaced with higher fees."""

    max_fee_gwei: float = Field(200.0, gt=0)
    """Cap on maxFeePerGas; fee bumps never go above it."""

    max_priority_fee_gwei: float = Field(5.0, ge=0)
    """Cap on maxPriorityFeePerGas."""

    poll_interval: float = Field(1.0, gt=0)
    """Seconds between head polls."""

    scan_every_blocks: int = Field(5, ge=1)
    """``evm.workflow.scan`` runs every this many blocks (when a state file is set)."""

    scan_min_interval: float = Field(0.5, ge=0, le=3600)
    """Seconds between two scans at least (a devnet that mines a block per transaction would
    otherwise scan after every execution); a block that falls inside is scanned when they end."""

    min_balance_eth: float = Field(0.1, ge=0)
    """The signer's balance below which the dashboard raises an alert."""


class SorobanChainSettings(_Section):
    kind: Literal["soroban"]
    """A Stellar network's Soroban RPC (KALE farming)."""

    rpc: list[str] = Field(min_length=1)
    """Soroban JSON-RPC endpoints, in order of preference; the next takes over when one fails."""

    network_passphrase: str | None = Field(None, min_length=1, max_length=200)
    """The network the endpoints must serve (checked at start with ``getNetwork``), e.g.
    ``Public Global Stellar Network ; September 2015``. Empty: whatever they serve."""

    poll_interval: float = Field(1.0, gt=0, le=60)
    """Seconds between ``getLatestLedger`` polls (ledgers close about every 5 s)."""

    base_fee: int = Field(100, ge=100, le=10_000_000)
    """Inclusion fee (stroops) per transaction, on top of the simulated resource fee."""

    tx_timeout: int = Field(30, ge=5, le=3600)
    """Seconds (by the network's clock) a signed transaction stays valid; one not seen by then
    is re-signed with a fresh sequence number."""


class SolanaChainSettings(_Section):
    kind: Literal["solana"]
    """A Solana cluster's JSON-RPC (CloudMesh compute jobs)."""

    rpc: list[str] = Field(min_length=1)
    """Solana JSON-RPC endpoints, in order of preference; the next takes over when one fails."""

    poll_interval: float = Field(0.5, gt=0, le=60)
    """Seconds between ``getSlot`` polls and transaction status checks (a slot is ~0.4 s)."""

    commitment: Literal["processed", "confirmed", "finalized"] = "confirmed"
    """When a transaction counts as done."""

    cloudmesh_program: str = Field("2pbdwB29EXvsfEcigJrMwEaDx2T16zZ47aK5oGabjx7S", min_length=32, max_length=44)
    """The CloudMesh program's id (the original's ``declare_id!`` by default)."""

    cloudmesh_authority: str | None = Field(None, min_length=32, max_length=44)
    """Run only jobs that name this key as their authority (Shiftboss's build of the program
    lets a job name the one worker key that may complete it). Empty: jobs that name none, or
    name this worker's own key."""

    low_balance: int = Field(50_000_000, ge=0)
    """Lamports of the worker's key below which the dashboard raises an alert."""

    @field_validator("cloudmesh_program", "cloudmesh_authority")
    @classmethod
    def _base58_key(cls, value: str | None) -> str | None:
        if value is not None:
            import base58

            try:
                if len(base58.b58decode(value)) != 32:
                    raise ValueError
            except ValueError:
                raise ValueError("expected a base-58 public key (32 bytes)") from None
        return value


class CometChainSettings(_Section):
    kind: Literal["cometbft"]
    """A CometBFT chain with the Cosmos SDK: the Structs chain (``pow.structs`` proofs)."""

    rpc: list[str] = Field(min_length=1)
    """CometBFT RPC endpoints (``:26657``), in order of preference; the next takes over when one
    fails. Heads come from the first healthy one's ``/websocket`` (``NewBlock``)."""

    rest: list[str] = Field(min_length=1)
    """Cosmos REST endpoints (``:1317``): account numbers and sequences, simulation, players."""

    chain_id: str | None = Field(None, min_length=1, max_length=64)
    """The chain the endpoints must serve (checked at start), e.g. ``structstestnet-111``."""

    prefix: str = Field("structs", pattern=r"^[a-z]{1,20}$")
    """Bech32 prefix of account addresses."""

    denom: str = Field("ualpha", pattern=r"^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$")
    """Fee denomination."""

    gas_price: float = Field(0.0, ge=0)
    """Fee per unit of gas (``denom``); Structs proofs run on a free gas meter."""

    gas_adjustment: float = Field(1.5, ge=1, le=5)
    """Gas limit = simulated gas × this."""

    poll_interval: float = Field(1.0, gt=0, le=60)
    """Seconds between ``/status`` polls while the WebSocket is down, and between transaction
    checks."""

    websocket: bool = True
    """Follow heads through the ``NewBlock`` subscription (polling covers any gap)."""

    keys: dict[str, Path] = {}
    """Signer names → secp256k1 key files (64 hex characters, mode 0600; ``shiftboss structs
    keys new`` makes one). ``pow.structs`` jobs name their ``signer`` from these."""

    tx_timeout: float = Field(120.0, gt=0)
    """Seconds a job waits for its transaction to be included before the attempt fails (and is
    retried; the transaction keeps being followed)."""

    @field_validator("keys")
    @classmethod
    def _key_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        for name in value:
            if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"{name!r}: signer names are 1-64 letters, digits, '-' or '_'")
        return value


def _chain_kind(value: Any) -> str:
    """A chain section's ``kind``; sections written before there were several kinds are EVM."""
    kind = value.get("kind", "evm") if isinstance(value, dict) else getattr(value, "kind", "evm")
    return str(kind)


ChainSettings = Annotated[Annotated[EvmChainSettings, Tag("evm")] | Annotated[SorobanChainSettings, Tag("soroban")]
                          | Annotated[SolanaChainSettings, Tag("solana")] | Annotated[CometChainSettings, Tag("cometbft")],
                          Discriminator(_chain_kind)]


class KaleFarmerSettings(_Section):
    address: str = Field(pattern=r"^G[A-Z2-7]{55}$")
    """The farmer's Stellar account (``G…``)."""

    secret_file: Path
    """File (mode 0600) holding the farmer's secret seed (``S…``); it must match ``address``.
    Read at start, sealed into the store, never logged."""

    stake: int | None = Field(None, ge=0)
    """KALE (stroops) staked per block; empty: ``kale.stake``."""


class CloudMeshSettings(_Section):
    chain: str = Field(min_length=1, max_length=64)
    """The ``[chains.<name>]`` (``kind = "solana"``) the CloudMesh program runs on."""

    keypair: Path | None = None
    """The worker's key (solana-keygen's JSON format). Made on first run (0600) if missing, never
    overwritten. Empty: ``<data_dir>/cloudmesh-worker.json``."""

    poll_interval: float = Field(10.0, gt=0, le=3600)
    """Seconds between scans for pending jobs (each scan is a ``cloudmesh.scan`` job)."""

    ipfs_api: str | None = None
    """A Kubo RPC API (``http://127.0.0.1:5001``): code is fetched from it first, results added to it."""

    ipfs_gateways: list[str] = []
    """Path gateways (``https://ipfs.io``) tried after the API; every file is checked against its CID."""

    pinata_url: str | None = None
    """Pinata's API (``https://api.pinata.cloud``) for results when no ``ipfs_api`` is set."""

    pinata_jwt_file: Path | None = None
    """The Pinata JWT (a file, 0600), or ``SHIFTBOSS_PINATA_JWT`` in the environment."""

    code_max_bytes: int = Field(1_048_576, ge=1, le=100 * 2**20)
    """The largest job code fetched (bigger: refused, the job left pending with the reason)."""

    timeout: float = Field(60.0, gt=0, le=3600)
    """Wall-clock seconds a job's code may run (the seed's 60)."""

    cost_base: int = Field(1_000_000, ge=1)
    """Lamports charged per job (the seed's README: 1,000,000) …"""

    cost_per_kb: int = Field(0, ge=0)
    """… plus this per KiB of code and result …"""

    cost_per_cpu_second: int = Field(0, ge=0)
    """… plus this per CPU second the run used."""

    work_dir: Path | None = None
    """A private folder for each run's stdout and stderr and for results not yet stored (a run's
    code and files live in the sandbox's own tmpfs). Empty: ``<data_dir>/cloudmesh-runs``."""

    sandbox: Literal["bwrap", "none"] = "bwrap"
    """How job code runs: ``bwrap`` — in bubblewrap, each run in its own namespaces and uid (no
    network, no view of the engine's files, every process killed at its end); the engine refuses
    to run CloudMesh code where it cannot isolate. ``none`` — UNISOLATED, as the engine's user:
    only for code you trust (logged and shown as such)."""

    sandbox_uids: str = "2000000000-2000065535"
    """The range each run's uid comes from (real uids when the engine is root; shared safely by
    the engines and workers of one host)."""

    memory_mb: int = Field(512, ge=16, le=1 << 20)
    """Memory for a run's processes together, MiB."""

    disk_mb: int = Field(256, ge=1, le=1 << 20)
    """Writable space of a run (its folder and ``/tmp``, tmpfs), MiB each."""

    @field_validator("sandbox_uids")
    @classmethod
    def _uid_range(cls, value: str) -> str:
        parse_range(value)
        return value


class KaleSettings(_Section):
    chain: str = Field(min_length=1, max_length=64)
    """The ``[chains.<name>]`` (``kind = "soroban"``) the farm contract lives on."""

    contract: str = Field(pattern=r"^C[A-Z2-7]{55}$")
    """The KALE farm contract (mainnet ``CDL74RF5BLYR2YBLCCI7F5FB6TPSCLKEJUBSD2RSVWZ4YHF3VMFAIGWA``)."""

    stake: int = Field(0, ge=0)
    """KALE (stroops) each farmer stakes per block unless the farmer says otherwise."""

    work_delay: float = Field(240.0, ge=0, le=3600)
    """Seconds after a block opens when work is submitted with the best hash found so far (more
    time hashing: more zeros; more ledgers since the plant: a larger gap)."""

    work_margin: float = Field(15.0, ge=0, le=600)
    """No work is sent later than this many seconds before the block's end (a plant may open the
    next block at any ledger after it)."""

    min_zeros: int = Field(1, ge=0, le=64)
    """Work waits for at least this many leading zero hex digits (past ``work_delay`` if need
    be, never past the block's end)."""

    work_attempts: int = Field(3, ge=1, le=20)
    """Attempts per farmer and block before the work counts as failed (and is compensated)."""

    harvest_lookback: int = Field(12, ge=1, le=17_000)
    """Unharvested pails up to this many blocks back are harvested."""

    block_interval: int = Field(300, ge=1, le=86_400)
    """The contract's block interval in seconds (300 on mainnet; a devnet may run faster)."""

    plant_window: float = Field(120.0, ge=0)
    """A block someone else opened is still planted into while it is younger than this."""

    farmers: list[KaleFarmerSettings] = []
    """The farmers this engine farms for (more can be added with ``shiftboss kale farmers add``)."""

    key_file: Path | None = None
    """Key (32 random bytes, mode 0600) that seals custodial secrets in the store; created on
    first use. Empty: ``<data_dir>/kale.key``."""

    pooler_token_file: Path | None = None
    """File with the token a KALE Backend must send to the Pooler API (or ``POOLER_AUTH_TOKEN``);
    without one the Pooler API is off."""

    backend_url: str | None = Field(None, pattern=r"^https?://")
    """The Backend that gets ``/pooler/block-discovered`` and ``/pooler/work-completed`` reports."""

    backend_token_file: Path | None = None
    """File with the bearer token for the Backend (or ``BACKEND_AUTH_TOKEN``)."""

    pooler_id: str = Field("shiftboss", min_length=1, max_length=64)
    """How this pooler names itself in reports."""


class ConsoleSettings(_Section):
    keymap: dict[str, str] = {}
    """Keys for console actions by action id, e.g. ``estop = "ctrl+e"`` or ``jobs = "j,f2"``.
    The console's help (``?``) lists every id; an unknown id stops the console with its name."""

    read_only: bool = False
    """Open the console read-only (every action that changes the engine hidden) by default."""


class Settings(_Section):
    """Everything ``config.toml`` can set."""

    engine: EngineSettings = EngineSettings()
    store: StoreSettings = StoreSettings()
    api: ApiSettings = ApiSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    pools: dict[str, PoolSettings] = {
        "default": PoolSettings(),
        "pow": PoolSettings(concurrency=16, kinds=["pow.kale", "pow.structs", "pow.hashcash"]),
        "kale": PoolSettings(concurrency=1024, kinds=["kale.plant", "kale.work", "kale.harvest"]),
    }
    demo: DemoSettings = DemoSettings()
    console: ConsoleSettings = ConsoleSettings()
    chains: dict[str, ChainSettings] = {}
    kale: KaleSettings | None = None
    cloudmesh: CloudMeshSettings | None = None

    # Derived paths -----------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return (self.engine.data_dir or Path(platformdirs.user_data_dir("shiftboss"))).expanduser()

    @property
    def db_path(self) -> Path:
        return self.store.path or self.data_dir / "shiftboss.db"

    @property
    def store_target(self) -> Path | str:
        """Where the store lives: the PostgreSQL URL, else the SQLite file."""
        return self.store.url or self.db_path

    def store_password(self) -> str | None:
        return read_secret_file(self.store.password_file, self.store.password_env or "SHIFTBOSS_PG_PASSWORD")

    @property
    def socket_path(self) -> Path:
        return self.api.socket or self.data_dir / "engine.sock"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "engine.pid"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "engine.log"

    @property
    def cloudmesh_key_path(self) -> Path:
        key = self.cloudmesh.keypair if self.cloudmesh and self.cloudmesh.keypair else None
        return (key or self.data_dir / "cloudmesh-worker.json").expanduser()

    @property
    def kale_key_path(self) -> Path:
        return (self.kale.key_file if self.kale and self.kale.key_file else self.data_dir / "kale.key").expanduser()


def default_config_path() -> Path | None:
    """``SHIFTBOSS_CONFIG`` if set, else ``./config.toml`` if it exists."""
    env = os.environ.get("SHIFTBOSS_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.exists() else None


def load_settings(
    path: Path | None, *, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read, merge and validate the configuration; raise :class:`ConfigError` listing every problem."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError([("(file)", f"{path} does not exist")], source) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([("(syntax)", str(exc))], source) from None
        except OSError as exc:
            raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")], source) from None
    from_env = _env_overrides(os.environ if environ is None else environ)
    for section in ("pools", "chains"):  # an override of one entry merges into the defaults, not replaces them
        if section not in data and any(k.startswith(f"{section}.") for k in [*from_env, *(overrides or {})]):
            data[section] = {name: entry.model_dump(exclude_unset=True)
                             for name, entry in getattr(Settings(), section).items()}
    for key, value in from_env.items():
        _set_path(data, key.split("."), value)
    for key, value in (overrides or {}).items():
        _set_path(data, key.split("."), value)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        env_keys = {k: f"{ENV_PREFIX}{k.upper().replace('.', '__')}" for k in from_env}
        raise ConfigError(_problems(exc, env_keys), source) from None
    problems = _cross_checks(settings, environ if environ is not None else os.environ)
    if problems:
        raise ConfigError(problems, source)
    return settings


def read_tokens(settings: Settings, environ: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """The (full, read-only) API tokens from their files or env; never from the TOML."""
    env = os.environ if environ is None else environ
    return (
        _read_secret(settings.api.token_file, env.get(TOKEN_ENV)),
        _read_secret(settings.api.read_only_token_file, env.get(READ_ONLY_TOKEN_ENV)),
    )


def check_kinds(settings: Settings, known: set[str]) -> None:
    """Every kind a pool names must exist; a kind may belong to one pool only."""
    problems: list[tuple[str, str]] = []
    owner: dict[str, str] = {}
    for name, pool in settings.pools.items():
        for i, kind in enumerate(pool.kinds):
            key = f"pools.{name}.kinds[{i}]"
            if kind != "*" and kind not in known:
                problems.append((key, f"unknown job kind {kind!r} (known: {', '.join(sorted(known))})"))
            elif kind in owner:
                problems.append((key, f"{kind!r} is already served by pool {owner[kind]!r}"))
            else:
                owner[kind] = name
    if problems:
        raise ConfigError(problems)


# --------------------------------------------------------------------------------------------


def _env_overrides(environ: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NOT_OVERRIDES or "__" not in name:
            continue
        key = name[len(ENV_PREFIX) :].lower().replace("__", ".")
        out[key] = value
    return out


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        node = data.setdefault(part, {})
        if not isinstance(node, dict):
            node = data[part] = {}
        data = node
    if isinstance(value, str) and value.startswith("["):
        value = [v.strip().strip("'\"") for v in value.strip("[]").split(",") if v.strip()]
    data[parts[-1]] = value


def _problems(exc: ValidationError, env_keys: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        key = ""
        for part in err["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
            if key.split(".")[-1] in {"token", "read_only_token", "password", "secret"}:
                reason += f"; secrets are never read from the TOML: use api.token_file or {TOKEN_ENV}"
        elif key == "store.url":  # it may hold the password it is refused for: never echoed
            reason = err["msg"]
        else:
            reason = f"{err['msg']} (got {err['input']!r})"
        if key in env_keys:
            reason += f" [from {env_keys[key]}]"
        out.append((key, reason))
    return out


def _cross_checks(settings: Settings, environ: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, path in (("api.token_file", settings.api.token_file), ("api.read_only_token_file", settings.api.read_only_token_file)):
        if path is not None and not Path(path).expanduser().is_file():
            problems.append((key, f"{path} is not a readable file"))
    if settings.api.tcp and not problems:
        token, _ = read_tokens(settings, environ)
        if not token:
            problems.append(("api.tcp", f"TCP needs a bearer token: set api.token_file or {TOKEN_ENV}"))
    if not settings.pools:
        problems.append(("pools", "at least one pool is needed"))
    if settings.kale is not None:
        problems += _kale_checks(settings.kale, settings)
    if settings.cloudmesh is not None:
        problems += _cloudmesh_checks(settings.cloudmesh, settings)
    for name, pool in settings.pools.items():
        if pool.remote and not pool.workers and pool.workers_file is None:
            problems.append((f"pools.{name}.workers", "a remote pool needs its allowlist: [[pools.<name>.workers]] "
                                                      "or workers_file"))
        for other in pool.hash_on:
            if not (other in settings.pools and settings.pools[other].remote):
                problems.append((f"pools.{name}.hash_on", f"{other!r} is not a pool with remote = true"))
        if pool.workers_file is not None and not Path(pool.workers_file).expanduser().is_file():
            problems.append((f"pools.{name}.workers_file", f"{pool.workers_file} is not a readable file"))
    if len(str(settings.socket_path)) > 100:
        problems.append(("api.socket", f"Unix socket path is too long ({len(str(settings.socket_path))} > 100 chars)"))
    return problems


def _cloudmesh_checks(mesh: CloudMeshSettings, settings: Settings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not isinstance(settings.chains.get(mesh.chain), SolanaChainSettings):
        problems.append(("cloudmesh.chain", f"{mesh.chain!r} is not a [chains.<name>] with kind = \"solana\""))
    if not mesh.ipfs_api and not mesh.ipfs_gateways:
        problems.append(("cloudmesh.ipfs_api", "set ipfs_api or ipfs_gateways: job code is fetched from IPFS"))
    if not mesh.ipfs_api and not mesh.pinata_url:
        problems.append(("cloudmesh.ipfs_api", "set ipfs_api or pinata_url: results are stored on IPFS"))
    if mesh.pinata_jwt_file is not None and not Path(mesh.pinata_jwt_file).expanduser().is_file():
        problems.append(("cloudmesh.pinata_jwt_file", f"{mesh.pinata_jwt_file} is not a readable file"))
    return problems


def _kale_checks(kale: KaleSettings, settings: Settings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    chain = settings.chains.get(kale.chain)
    if not isinstance(chain, SorobanChainSettings):
        problems.append(("kale.chain", f"{kale.chain!r} is not a [chains.<name>] with kind = \"soroban\""))
    if kale.work_delay + kale.work_margin >= kale.block_interval:
        problems.append(("kale.work_delay", f"work_delay + work_margin must be below block_interval "
                                            f"({kale.work_delay:g} + {kale.work_margin:g} >= {kale.block_interval})"))
    for i, farmer in enumerate(kale.farmers):
        if not Path(farmer.secret_file).expanduser().is_file():
            problems.append((f"kale.farmers[{i}].secret_file", f"{farmer.secret_file} is not a readable file"))
    for key in ("pooler_token_file", "backend_token_file"):
        path = getattr(kale, key)
        if path is not None and not Path(path).expanduser().is_file():
            problems.append((f"kale.{key}", f"{path} is not a readable file"))
    return problems


def read_secret_file(path: Path | None, env_name: str, environ: Any = None) -> str | None:
    """A secret from its file (stripped) or the environment variable; None if neither is set."""
    return _read_secret(path, (os.environ if environ is None else environ).get(env_name))


def _read_secret(path: Path | None, env_value: str | None) -> str | None:
    if path is not None:
        value = Path(path).expanduser().read_text().strip()
        return value or None
    return env_value or None
