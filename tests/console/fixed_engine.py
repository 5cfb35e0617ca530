"""A fixed engine for snapshot tests: an ``httpx.MockTransport`` answering the API with the same
data every time (all times relative to ``NOW``, which the tests pin the console's clock to)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from engine.schema import (
    Attempt,
    AuditPage,
    AuditRecord,
    Chain,
    ChainList,
    Estop,
    Job,
    JobDetail,
    JobError,
    JobPage,
    KindInfo,
    KindList,
    Pool,
    Status,
    Worker,
    WorkerList,
)

NOW = 1_790_000_000.0
_enc = msgspec.json.encode

POOLS = [
    Pool(name="default", kinds=["*"], concurrency=64, state="active", running=3, queued=1204, waiting=2, retrying=1,
         completed=9120, failed=12, completed_per_s=41.5, failed_per_s=0.2),
    Pool(name="pow", kinds=["pow.kale", "pow.structs"], concurrency=16, state="paused", reason="rotating farmer keys",
         actor="alice@ops", since=NOW - 310, running=1, queued=7),
]
WORKERS = [
    Worker(id="default/dispatcher", pool="default", state="busy", running=3, jobs=["a", "b", "c"], heartbeat_at=NOW - 1),
    Worker(id="pow/threads", pool="pow", state="hashing", running=1, jobs=["pow.kale_01JF00000000000000000KALE1"],
           heartbeat_at=NOW - 1, detail={"hashrate": {"10s": 7.1e7, "60s": 7.0e7, "15m": 6.9e7}}),
    Worker(id="pow/thread-0", pool="pow", state="compiling", health="degraded", heartbeat_at=NOW - 40),
]


def _job(n: int, kind: str, state: str, **kw: Any) -> Job:
    base = {"priority": 5, "payload": {"n": n}, "attempts": 1, "max_attempts": 3, "timeout": 300.0,
            "created_at": NOW - 600 + n, "updated_at": NOW - 60 + n}
    return Job(id=f"{kind}_01JF{n:022d}", kind=kind, pool="pow" if kind.startswith("pow.") else "default",
               state=state, **{**base, **kw})  # type: ignore[arg-type]


JOBS = [
    _job(40, "pow.kale", "running", progress={"best_zeros": 6, "target_zeros": 8, "hashrate": {"10s": 7.1e7},
                                              "eta_s": 95.0}, deadline=NOW + 80),
    _job(39, "demo.flaky", "retrying", attempts=2, not_before=NOW + 12,
         error=JobError(code="flaky", message="flaky failure 2 of 3", retryable=True)),
    _job(38, "demo.flaky", "failed", attempts=3, error=JobError(code="flaky", message="failed for good")),
    _job(37, "sleep", "waiting", not_before=NOW - 45, progress={"waiting_info": {"chain": "structs", "height": 120}}),
    *[_job(n, "noop", "completed", result={"ok": True}) for n in range(36, 20, -1)],
    *[_job(n, "noop", "queued", attempts=0) for n in range(20, 0, -1)],
]
DETAIL = JobDetail(job=Job(**{**msgspec.structs.asdict(JOBS[1]), "history": [
    Attempt(n=1, started_at=NOW - 50, finished_at=NOW - 49, outcome="failed", worker="default/dispatcher",
            error=JobError(code="flaky", message="flaky failure 1 of 3", retryable=True)),
    Attempt(n=2, started_at=NOW - 30, finished_at=NOW - 29, outcome="failed", worker="default/dispatcher",
            error=JobError(code="flaky", message="flaky failure 2 of 3", retryable=True)),
]}), audit=[AuditRecord(id=3, ts=NOW - 100, actor="bob@ops", action="submit", target=JOBS[1].id, reason="smoke test")])
AUDIT = [AuditRecord(id=4, ts=NOW - 310, actor="alice@ops", action="pause", target="pool pow",
                     reason="rotating farmer keys"),
         AuditRecord(id=3, ts=NOW - 100 - 300, actor="bob@ops", action="submit", target=JOBS[1].id,
                     reason="smoke test")]
KINDS = [KindInfo(name="sleep", pool="default", description="Sleeps, reporting progress every second.",
                  max_attempts=3, timeout=300.0, payload_schema={
                      "type": "object", "required": ["seconds"],
                      "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 86400,
                                                 "description": "how long to sleep"}}}),
         KindInfo(name="noop", pool="default", description="Does nothing.", max_attempts=3, timeout=60.0,
                  payload_schema={"type": "object", "properties": {}})]


def status(estop: bool = False) -> Status:
    return Status(api_version=1, version="0.1.0", pid=4242, started_at=NOW - 3725, data_dir="/var/lib/shiftboss",
                  database="/var/lib/shiftboss/shiftboss.db", synchronous="FULL",
                  estop=Estop(active=estop, actor="alice@ops" if estop else None,
                              reason="payout contract paused" if estop else None, since=NOW - 20 if estop else None),
                  pools=POOLS, counts={"queued": 1211, "running": 4}, last_seq=88_123)


def _jobs(params: httpx.QueryParams) -> JobPage:
    states = [s for s in params.get("state", "").split(",") if s]
    rows = [j for j in JOBS if (not states or j.state in states) and (not params.get("kind") or
                                                                        j.kind == params["kind"])]
    offset, limit = int(params.get("offset", 0)), int(params.get("limit", 50))
    return JobPage(jobs=rows[offset:offset + limit], total=len(rows))


async def _silence() -> AsyncIterator[bytes]:
    yield b'{"seq": 88123, "ts": 0, "type": "stream.heartbeat"}\n'
    await asyncio.Event().wait()  # an idle, open stream


def transport(*, estop: bool = False, access: str = "read-write") -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        st = status(estop)
        st.access = access  # type: ignore[assignment]
        answers: dict[str, Any] = {
            "/v1/status": st, "/v1/workers": WorkerList(workers=WORKERS),
            "/v1/chains": ChainList(chains=[
                Chain(name="devnet", kind="evm", head=18_204, lag_s=0.8, detail={"signer": {
                    "address": "0x53456F6735F6781D000EE5524D80380357d8B882", "balance_eth": 0.0421,
                    "min_balance_eth": 0.1, "low_balance": True, "chain_pending_nonce": 41, "ledger_next_nonce": 41,
                    "txs": {"confirmed": 38, "sent": 2, "failed": 1}}}),
                Chain(name="structs", kind="manual", head=120)]),
            "/v1/kinds": KindList(kinds=KINDS), "/v1/audit": AuditPage(records=AUDIT),
            f"/v1/jobs/{JOBS[1].id}": DETAIL,
        }
        if path == "/v1/events":
            return httpx.Response(200, content=_silence())
        if path == "/v1/jobs":
            return httpx.Response(200, content=_enc(_jobs(request.url.params)))
        if path in answers:
            return httpx.Response(200, content=_enc(answers[path]))
        return httpx.Response(404, json={"error": {"code": "not_found", "message": f"no {path}"}})

    return httpx.MockTransport(handle)
