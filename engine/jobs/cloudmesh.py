"""CloudMesh compute jobs (seed 004): find the program's pending Job accounts, fetch each job's
code from IPFS by its CID (checked against the CID), run it in the trusted pool's sandbox, store
the result on IPFS and call ``complete_job`` — once per account.

* ``cloudmesh.scan`` (queued every ``poll_interval`` by :class:`CloudMesh`): ``getProgramAccounts``
  filtered by the Job discriminator; each pending job this worker may run gets a ``cloudmesh.run``
  (idempotency key ``cloudmesh.run:<account>``: a repeated scan queues nothing twice). Accounts
  that do not decode are skipped and listed in the scan's result.
* ``cloudmesh.run`` {account}: if its ``complete_job`` was sent already (a retry after a crash),
  only follows it; otherwise reads the account (completed or cancelled meanwhile: skipped),
  fetches and verifies the code, runs it (``timeout``, rlimits, no network where available),
  stores ``{stdout, stderr, returncode, executed_at, duration_s, limit, …}`` and completes the
  job with its CID and the configured cost. ``JobAlreadyCompleted`` (another worker won) is done,
  not failed. A run that hits a limit is still a completed job: its result says which limit.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from solders.pubkey import Pubkey

from engine.chains.solana import TxFailed
from engine.chains.solana import _txledger as txledger
from engine.chains.solana import cloudmesh as cm
from engine.errors import JobFailure, PermanentFailure
from engine.ipfs import IpfsError
from engine.jobs._cloudmesh import CloudMesh, load_or_create_key
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.remote._sandbox import Manifest, run
from engine.schema import JobSubmit

log = logging.getLogger("shiftboss.cloudmesh")


def _mesh(ctx: JobContext) -> CloudMesh:
    mesh = ctx.services.cloudmesh
    if mesh is None:
        raise PermanentFailure("no [cloudmesh] is configured", code="no_cloudmesh")
    return mesh


# --- cloudmesh.scan -------------------------------------------------------------------------

class ScanPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Find pending Job accounts and queue a run for each (queued by the engine every poll_interval)."""


async def scan(ctx: JobContext, _p: ScanPayload) -> dict[str, Any]:
    mesh = _mesh(ctx)
    jobs, skipped = await cm.read_jobs(mesh.chain.rpc, mesh.program)
    pending, others = [], 0
    for address, job in jobs:
        if job.status != cm.JobStatus.PENDING:
            continue
        if not mesh.may_run(job):
            others += 1
            continue
        pending.append(address)
    if skipped:
        log.warning("cloudmesh: %d account(s) are not Jobs: %s", len(skipped), skipped)
    queued = 0
    if pending:
        answer = await mesh.submit([JobSubmit(kind="cloudmesh.run", payload={"account": a}, priority=5,
                                              idempotency_key=f"cloudmesh.run:{a}") for a in pending],
                                   f"chain:{mesh.chain.name}")
        queued = sum(1 for j in answer.jobs if j.created)
    return {"accounts": len(jobs) + len(skipped), "pending": len(pending), "queued": queued, "skipped": skipped,
            "for_other_authorities": others}


# --- cloudmesh.run --------------------------------------------------------------------------

class RunPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Run one CloudMesh job: fetch its code by CID, run it sandboxed, complete it on chain."""

    account: str

    def __post_init__(self) -> None:
        try:
            Pubkey.from_string(self.account)
        except ValueError:
            raise ValueError("account: a base-58 Job account address") from None


async def run_job(ctx: JobContext, p: RunPayload) -> dict[str, Any]:
    mesh = _mesh(ctx)
    account = Pubkey.from_string(p.account)
    intent = f"cloudmesh.complete:{p.account}"
    sent = await mesh.chain.txs.store.read(txledger.by_intent, intent)
    if sent is not None:  # the code ran and complete_job went out before (a retry after a crash)
        return await _finish(ctx, mesh, sent.id, {"resumed": True})
    info = await mesh.chain.rpc.account(account)
    if info is None:
        return {"account": p.account, "skipped": "the account is gone"}
    try:
        job = cm.JobAccount.decode(info.bytes())
    except cm.LayoutError as exc:
        raise PermanentFailure(f"{p.account} is not a Job account: {exc}", code="not_a_job") from None
    if job.status != cm.JobStatus.PENDING:
        return {"account": p.account, "skipped": f"the job is {job.status.name.lower()}"}
    if not mesh.may_run(job):
        return {"account": p.account, "skipped": "the job names another authority"}
    ctx.progress(status="fetching", code_cid=job.code_cid)
    try:
        code = await mesh.ipfs.fetch(job.code_cid)
    except IpfsError as exc:
        failure = PermanentFailure if exc.refused else JobFailure
        raise failure(f"code {job.code_cid}: {exc}", code="code_unverified" if exc.refused else "ipfs") from None
    ctx.progress(status="running", code_bytes=len(code))
    began = time.time()
    outcome = await _run_code(mesh, ctx.job_id, code)
    result = {"stdout": outcome.stdout, "stderr": outcome.stderr, "returncode": outcome.exit_code,
              "executed_at": datetime.fromtimestamp(began, UTC).isoformat().replace("+00:00", "Z"),
              "duration_s": round(outcome.wall_seconds, 3), "cpu_seconds": round(outcome.cpu_seconds, 3),
              "status": outcome.state, "signal": outcome.signal, "limit": outcome.limit,
              "isolation": outcome.isolation, "job": p.account, "title": job.title, "code_cid": job.code_cid,
              "worker": mesh.address}
    document = json.dumps(result, separators=(",", ":")).encode()
    ctx.progress(status="storing result")
    try:
        result_cid = await mesh.ipfs.add(document, f"result-{p.account}.json") if mesh.settings.ipfs_api else \
            await mesh.ipfs.pin_json(result, f"result-{p.account}")
    except IpfsError as exc:
        raise JobFailure(f"storing the result: {exc}", code="ipfs") from None
    s = mesh.settings
    cost = s.cost_base + s.cost_per_kb * ((len(code) + len(document)) // 1024) + \
        int(s.cost_per_cpu_second * outcome.cpu_seconds)
    ctx.progress(status="completing", result_cid=result_cid, cost=cost)
    tx = await mesh.chain.txs.send(intent, mesh.address, [cm.complete_job(account, mesh.key.pubkey(), result_cid,
                                                                         cost, program=mesh.program)],
                                   label="complete_job", job_id=ctx.job_id)
    return await _finish(ctx, mesh, tx.id, {"title": job.title, "code_cid": job.code_cid, "result_cid": result_cid,
                                            "cost": cost, "run": {k: result[k] for k in (
                                                "status", "returncode", "duration_s", "cpu_seconds", "limit",
                                                "signal", "isolation")}})


async def _run_code(mesh: CloudMesh, job_id: str, code: bytes) -> Any:
    base = mesh.work_dir / job_id.replace("/", "_")
    (base / "work").mkdir(parents=True, exist_ok=True)
    (base / "out").mkdir(exist_ok=True)
    (base / "work" / "job.py").write_bytes(code)
    try:
        return await run(base / "work", base / "out", Manifest(entrypoint="job.py", timeout=mesh.settings.timeout),
                         mesh.limits, await mesh.isolation())
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def _finish(ctx: JobContext, mesh: CloudMesh, tx_id: str, report: dict[str, Any]) -> dict[str, Any]:
    try:
        done = await mesh.chain.txs.wait(tx_id)
    except TxFailed as exc:
        if exc.record.error_code in (cm.ALREADY_COMPLETED, cm.JOB_CANCELLED):  # another worker won, or the owner cancelled
            return {**report, "skipped": exc.record.error, "tx": exc.record.public()}
        raise
    return {**report, "tx": done.public(), "signature": done.signature, "slot": done.slot}


__all__ = ["KINDS", "CloudMesh", "load_or_create_key"]

KINDS = [
    Kind("cloudmesh.scan", ScanPayload, scan, "Find pending CloudMesh jobs and queue a run for each.",
         max_attempts=1, timeout=60),
    Kind("cloudmesh.run", RunPayload, run_job,
         "Run one CloudMesh job: its code by CID (verified), sandboxed, then complete_job on chain.",
         max_attempts=5, timeout=600, backoff_base=2.0),
]
