"""Wire types of the Shiftboss control API, version 1.

This is the one engine module the console may import. It is a leaf: it imports only the
standard library and msgspec, so importing it never loads trio or any other engine code.

Every request, response and event body of ``/v1`` is one of the Structs below. Times are Unix
epoch seconds (float). Errors always come in an :class:`ErrorEnvelope`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "ACTIVE_STATES",
    "API_VERSION",
    "JOB_SORTS",
    "JOB_STATES",
    "TERMINAL_STATES",
    "ActionRequest",
    "ChainList",
    "CloudMeshJob",
    "CloudMeshRun",
    "CloudMeshStatus",
    "EstopResult",
    "FileUpload",
    "HeightRequest",
    "JobActionResult",
    "JobDetail",
    "KindList",
    "PoolList",
    "PoolResult",
    "ReloadResult",
    "ShutdownResult",
    "WorkerList",
    "encode",
    "Attempt",
    "AuditPage",
    "AuditRecord",
    "BulkRequest",
    "BulkResult",
    "Chain",
    "ErrorBody",
    "ErrorEnvelope",
    "Estop",
    "EstopRequest",
    "Event",
    "Job",
    "JobError",
    "JobFilter",
    "JobPage",
    "JobState",
    "JobSubmit",
    "JobSubmitBatch",
    "KindInfo",
    "Pool",
    "PoolState",
    "ResumeRequest",
    "RetryRequest",
    "Status",
    "StoreHealth",
    "SubmitResponse",
    "SubmitResult",
    "Worker",
]

API_VERSION = 1

JobState = Literal[
    "queued",
    "waiting",
    "running",
    "retrying",
    "completed",
    "failed",
    "cancelling",
    "cancelled",
    "expired",
]
JOB_STATES: tuple[str, ...] = JobState.__args__  # type: ignore[attr-defined]
TERMINAL_STATES = frozenset({"completed", "failed", "cancelled", "expired"})
ACTIVE_STATES = frozenset({"running", "cancelling"})

# ``sort`` values of ``GET /v1/jobs`` ("-" = descending); every order breaks ties newest first.
JOB_SORTS: tuple[str, ...] = (
    "-created", "created", "-priority", "priority", "-updated", "updated", "state", "kind", "pool",
)

PoolState = Literal["active", "paused", "draining", "drained", "stopped"]

Priority = Annotated[int, Meta(ge=0, le=9, description="0–9, higher runs first")]
_TEN_YEARS = 10 * 365 * 86400
Seconds = Annotated[float, Meta(ge=0, le=_TEN_YEARS, description="seconds, at most ten years")]
Epoch = Annotated[float, Meta(ge=0, le=4_102_444_800, description="unix time in seconds (before 2100)")]
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # audit records are one line each: no newlines, no NULs
Reason = Annotated[str, Meta(max_length=1000, pattern=_NO_CONTROL, description="why (one line, no control characters)")]


class JobError(Struct, kw_only=True):
    """Why an attempt or a job failed."""

    code: str
    message: str
    retryable: bool = False
    details: dict[str, Any] | None = None


class Attempt(Struct, kw_only=True):
    """One attempt of a job: when it ran, on which worker, how it ended."""

    n: int
    started_at: float
    finished_at: float | None = None
    outcome: str = "running"
    worker: str = ""
    error: JobError | None = None


class Job(Struct, kw_only=True):
    """A job as the API shows it. ``history`` is filled only by ``GET /v1/jobs/{id}``."""

    id: str
    kind: str
    pool: str
    state: JobState
    priority: int
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    timeout: float
    backoff: float | None = None
    created_at: float
    updated_at: float
    not_before: float | None = None
    deadline: float | None = None
    idempotency_key: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    progress: dict[str, Any] | None = None
    result: Any = None
    error: JobError | None = None
    history: list[Attempt] | None = None


class JobSubmit(Struct, kw_only=True, forbid_unknown_fields=True):
    """A job to submit. ``delay`` and ``not_before`` are alternatives, as are ``ttl`` and ``deadline``."""

    kind: Annotated[str, Meta(min_length=1, max_length=100)]
    payload: dict[str, Any] = {}
    pool: str | None = None
    priority: Priority = 5
    max_attempts: Annotated[int, Meta(ge=1, le=1000)] | None = None
    timeout: Annotated[float, Meta(gt=0, le=7 * 86400)] | None = None
    backoff: Annotated[float, Meta(gt=0, le=86400, description="first retry delay in seconds; doubles per attempt")] | None = None
    delay: Seconds | None = None
    not_before: Epoch | None = None
    ttl: Annotated[float, Meta(gt=0, le=_TEN_YEARS)] | None = None
    deadline: Epoch | None = None
    idempotency_key: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class JobSubmitBatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """Several jobs in one durable transaction (all or nothing)."""

    jobs: Annotated[list[JobSubmit], Meta(min_length=1, max_length=10_000)]


class SubmitResult(Struct, kw_only=True):
    """``created`` is false when an idempotency key matched an existing job."""

    id: str
    state: JobState
    created: bool


class FileUpload(Struct, kw_only=True):
    """``POST /v1/files`` (the body: a ``compute.run`` job's tarball): what its ``files`` names."""

    sha256: str
    bytes: int


class SubmitResponse(Struct, kw_only=True):
    jobs: list[SubmitResult]


class JobPage(Struct, kw_only=True):
    """One page of jobs, newest first; pass ``next_cursor`` back as ``cursor`` for the next."""

    jobs: list[Job]
    next_cursor: str | None = None
    total: int = 0


class JobFilter(Struct, kw_only=True, forbid_unknown_fields=True):
    """Which jobs a list or bulk action covers. Empty fields match everything."""

    state: list[JobState] | None = None
    kind: str | None = None
    pool: str | None = None
    text: str | None = None


class ActionRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of an operator action; the reason lands in the audit log."""

    reason: Reason = ""


class RetryRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Retry with a fresh attempt budget. A new ``deadline`` replaces one that has passed."""

    reason: Reason = ""
    deadline: Epoch | None = None


class BulkRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Retry or cancel every job matching ``filter``; ``dry_run`` only counts them."""

    filter: JobFilter
    dry_run: bool = False
    reason: Reason = ""


class BulkResult(Struct, kw_only=True):
    """``matched``: jobs the filter selects that the action applies to; ``changed``: done now."""

    action: str
    matched: int
    changed: int
    dry_run: bool


class HeightRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Set a chain's height by hand (a manual height source, until a watcher feeds it)."""

    height: Annotated[int, Meta(ge=0)]
    reason: Reason = ""


class EstopRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Engage the emergency stop, globally or for one pool. A reason is required."""

    reason: Annotated[str, Meta(min_length=1, max_length=1000, pattern=_NO_CONTROL)]
    pool: str | None = None


class ResumeRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """Release the emergency stop, globally or for one pool."""

    reason: Reason = ""
    pool: str | None = None


class Estop(Struct, kw_only=True):
    active: bool
    actor: str | None = None
    reason: str | None = None
    since: float | None = None
    persisted: bool = True  # false: in force, but the store could not record it yet


class Pool(Struct, kw_only=True):
    """A pool: what it serves, its cap, whether it takes work, and what it holds."""

    name: str
    kinds: list[str]
    concurrency: int
    state: PoolState
    reason: str | None = None
    actor: str | None = None
    since: float | None = None
    persisted: bool = True  # false: a pool e-stop in force that the store could not record yet
    stopped_by: Literal["engine", "pool"] | None = None  # which e-stop holds a stopped pool
    running: int = 0
    queued: int = 0
    waiting: int = 0
    retrying: int = 0
    completed: int = 0  # since the engine started
    failed: int = 0  # since the engine started
    completed_per_s: float = 0.0  # over the last minute
    failed_per_s: float = 0.0  # over the last minute


class Worker(Struct, kw_only=True):
    """A unit that executes jobs: a pool dispatcher now, PoW threads later."""

    id: str
    pool: str
    state: str
    health: Literal["ok", "degraded", "down"] = "ok"
    reason: str | None = None  # why it is not ok
    running: int = 0
    jobs: list[str] = []
    heartbeat_at: float | None = None
    detail: dict[str, Any] = {}


class Chain(Struct, kw_only=True):
    name: str
    kind: str
    head: int | None = None
    head_hash: str | None = None
    lag_s: float | None = None
    detail: dict[str, Any] = {}


class KindInfo(Struct, kw_only=True):
    """A job kind: the pool it runs in, its defaults, and the JSON schema of its payload."""

    name: str
    pool: str
    description: str
    max_attempts: int
    timeout: float
    payload_schema: dict[str, Any]


class AuditRecord(Struct, kw_only=True):
    id: int
    ts: float
    actor: str
    action: str
    target: str
    reason: str = ""
    details: dict[str, Any] | None = None


class AuditPage(Struct, kw_only=True):
    records: list[AuditRecord]
    next_cursor: str | None = None


class Event(Struct, kw_only=True):
    """A change in the engine. ``seq`` grows by one per event and survives restarts.

    Types: ``job.submitted``, ``job.state`` (``data.from``/``data.to``), ``job.progress``,
    ``pool.state``, ``estop``, ``audit``, ``chain.head`` (``chain``, ``height``, ``hash``,
    ``lag_s``), ``chain.reorg`` (``chain``, ``depth``, ``fork_block``), ``evm.tx`` (``id``,
    ``state``, ``nonce``, ``hash``); on the stream also ``stream.reset`` (the requested
    ``since`` is older than what is retained: re-read state) and ``stream.heartbeat``.
    """

    seq: int
    ts: float
    type: str
    job_id: str | None = None
    pool: str | None = None
    data: dict[str, Any] = {}


class StoreHealth(Struct, kw_only=True):
    """Whether the store can write. While it cannot (disk full, a lock held too long) the engine
    runs degraded: nothing is claimed, reads are served, every loop retries with backoff."""

    writable: bool = True
    error: str | None = None
    since: float | None = None  # when writes started failing
    write_failures: int = 0  # failed commits since the engine started


class Status(Struct, kw_only=True):
    api_version: int
    version: str
    pid: int
    started_at: float
    data_dir: str
    database: str
    synchronous: str
    estop: Estop
    pools: list[Pool]
    counts: dict[str, int]
    last_seq: int
    shutting_down: bool = False
    access: Literal["read-write", "read-only"] = "read-write"  # what this caller's credentials allow
    store: StoreHealth = msgspec.field(default_factory=StoreHealth)
    database_id: str = ""  # changes only with another database file: the event stream carries it


class ErrorBody(Struct, kw_only=True):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(Struct, kw_only=True):
    error: ErrorBody


class JobDetail(Struct, kw_only=True):
    """``GET /v1/jobs/{id}``: the job with its attempt history, and the audit records about it."""

    job: Job
    audit: list[AuditRecord]


class JobActionResult(Struct, kw_only=True):
    """``POST /v1/jobs/{id}/retry|cancel``: the job's state after the action."""

    id: str
    state: JobState


class EstopResult(Struct, kw_only=True):
    """``POST /v1/estop|resume``: the switch, every pool, and how many attempts were interrupted."""

    estop: Estop
    pools: list[Pool]
    interrupted: int = 0


class PoolResult(Struct, kw_only=True):
    pool: Pool


class PoolList(Struct, kw_only=True):
    pools: list[Pool]


class WorkerList(Struct, kw_only=True):
    workers: list[Worker]


class KindList(Struct, kw_only=True):
    kinds: list[KindInfo]


class ChainList(Struct, kw_only=True):
    chains: list[Chain]


class KalePail(Struct, kw_only=True):
    """One farmer's progress in one KALE block (extra fields the farm records pass through)."""

    farmer: str
    block: int
    stake: str = "0"
    state: str
    zeros: int | None = None
    best_zeros: int | None = None
    gap: int | None = None
    hashes: int | None = None
    reward: str | None = None
    error: str | None = None
    job: str | None = None
    updated_at: float | None = None


class KaleFarmer(Struct, kw_only=True):
    address: str
    stake: str
    origin: str
    active: bool
    added_at: float
    pail: KalePail | None = None  # in the current block


class KaleBlock(Struct, kw_only=True):
    index: int
    timestamp: int
    entropy: str
    age_s: int | None = None
    min_zeros: int = 0
    max_zeros: int = 0
    staked_total: str = "0"


class KaleStatus(Struct, kw_only=True):
    """``GET /v1/kale``: the farm's current block, its farmers' pails in it, and what comes next."""

    chain: str
    contract: str
    error: str = ""
    ledger: int | None = None
    paused: bool | None = None
    block: KaleBlock | None = None
    next_work_at: float | None = None
    block_ends_at: float | None = None
    farmers: list[KaleFarmer] = []
    compensations: int = 0
    hashes_per_s: float | None = None  # the farm's PoW pool, last 10 s
    reports: dict[str, int] = {}
    settings: dict[str, Any] = {}


class CloudMeshRun(Struct, kw_only=True):
    """The engine's ``cloudmesh.run`` job for a Job account."""

    job_id: str
    state: JobState
    attempts: int
    error: str | None = None
    result_cid: str | None = None


class CloudMeshJob(Struct, kw_only=True):
    """A CloudMesh Job account as the program holds it, with this engine's run of it."""

    account: str
    owner: str
    title: str
    code_cid: str
    state: Literal["pending", "completed", "cancelled"]
    result_cid: str | None = None
    cost: int = 0
    cost_paid: bool = False
    authority: str | None = None
    started_at: int = 0
    ended_at: int = 0
    run: CloudMeshRun | None = None


class CloudMeshStatus(Struct, kw_only=True):
    """``GET /v1/cloudmesh``: the worker (key, balance) and every Job account of the program."""

    chain: str
    program: str
    address: str
    balance: int | None = None
    low_balance: bool = False
    authority: str | None = None
    error: str = ""
    jobs: list[CloudMeshJob] = []
    not_jobs: dict[str, str] = {}  # program accounts with the Job discriminator that do not decode


class ReloadResult(Struct, kw_only=True):
    """``POST /v1/reload``: config keys now in effect, and changed keys that need a restart."""

    applied: list[str]
    restart_needed: list[str]


class ShutdownResult(Struct, kw_only=True):
    shutting_down: bool


def encode(obj: Any) -> bytes:
    """JSON-encode any wire value."""
    return msgspec.json.encode(obj)
