"""CloudMesh compute jobs (seed 004): find the program's pending Job accounts, fetch each job's
code from IPFS by its CID (checked against the CID), run it in the trusted pool's sandbox, store
the result on IPFS and call ``complete_job`` — once per account.

* ``cloudmesh.scan`` (queued every ``poll_interval`` by :class:`CloudMesh`): ``getProgramAccounts``
  filtered by the Job discriminator; each pending job this worker may run gets a ``cloudmesh.run``
  (idempotency key ``cloudmesh.run:<account>``: a repeated scan queues nothing twice). Accounts
  that do not decode are skipped and listed in the scan's result.
* ``cloudmesh.run`` {account}: if its ``complete_job`` was sent already (a retry after a crash),
  only follows it; otherwise reads the account (completed or cancelled meanwhile: skipped),
  fetches and verifies the code, runs it in the sandbox (:mod:`engine.sandbox`: its own
  namespaces and uid, no network, ``timeout`` and the memory and disk limits), keeps the result
  document (``<work_dir>/results/<account>.json``), stores it on IPFS and completes the job with
  its CID and the configured cost. ``JobAlreadyCompleted`` (another worker won) is done, not
  failed. A run that hits a limit is still a completed job: its result says which limit. A run
  that could not start (no sandbox, bwrap failed) fails the attempt and completes nothing; an
  attempt whose code ran but whose result could not be stored keeps the result, and the next
  attempt only stores it — the code runs once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
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
from engine.sandbox import Manifest, SandboxError, Unavailable, run
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
    if mesh.sandbox_error is not None:  # nothing would run: queue nothing, say why
        return {"queued": 0, "refused": mesh.sandbox_error}
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
    kept = mesh.work_dir / "results" / f"{p.account}.json"
    try:  # an earlier attempt ran the code and could not store its result: only store it
        result = json.loads(kept.read_bytes())
        code_bytes = int(result.pop("code_bytes"))
        cpu_seconds = float(result["cpu_seconds"])
        ran = "an earlier attempt (its kept result stored now)"
        ctx.progress(status="storing the kept result", code_cid=job.code_cid)
    except (FileNotFoundError, ValueError, KeyError):
        result, code_bytes = await _run_once(ctx, mesh, p.account, job)
        ran = "this attempt"
        cpu_seconds = result["cpu_seconds"]
        _keep(kept, json.dumps({**result, "code_bytes": code_bytes}, separators=(",", ":")).encode())
    document = json.dumps(result, separators=(",", ":")).encode()
    ctx.progress(status="storing result")
    try:
        result_cid = await mesh.ipfs.add(document, f"result-{p.account}.json") if mesh.settings.ipfs_api else \
            await mesh.ipfs.pin_json(result, f"result-{p.account}")
    except IpfsError as exc:
        raise JobFailure(f"storing the result (kept; the next attempt stores it without running the code again): "
                         f"{exc}", code="ipfs") from None
    s = mesh.settings
    cost = s.cost_base + s.cost_per_kb * ((code_bytes + len(document)) // 1024) + int(s.cost_per_cpu_second * cpu_seconds)
    ctx.progress(status="completing", result_cid=result_cid, cost=cost)
    tx = await mesh.chain.txs.send(intent, mesh.address, [cm.complete_job(account, mesh.key.pubkey(), result_cid,
                                                                         cost, program=mesh.program)],
                                   label="complete_job", job_id=ctx.job_id)
    kept.unlink(missing_ok=True)  # the intent holds it now: a retry follows the transaction
    return await _finish(ctx, mesh, tx.id, {"title": job.title, "code_cid": job.code_cid, "result_cid": result_cid,
                                            "cost": cost, "code_ran": ran, "run": {k: result[k] for k in (
                                                "status", "returncode", "duration_s", "cpu_seconds", "limit",
                                                "signal", "isolation")}})


async def _run_once(ctx: JobContext, mesh: CloudMesh, account: str, job: cm.JobAccount) -> tuple[dict[str, Any], int]:
    """Fetch, verify and run the job's code; its result document and the code's size."""
    try:
        sandbox = await mesh.sandbox()
    except Unavailable as exc:
        raise PermanentFailure(f"no job code runs on this engine: {exc}", code="no_sandbox") from None
    ctx.progress(status="fetching", code_cid=job.code_cid)
    try:
        code = await mesh.ipfs.fetch(job.code_cid)
    except IpfsError as exc:
        failure = PermanentFailure if exc.refused else JobFailure
        raise failure(f"code {job.code_cid}: {exc}", code="code_unverified" if exc.refused else "ipfs") from None
    ctx.progress(status="running", code_bytes=len(code))
    began = time.time()
    results = mesh.work_dir / "outputs" / account
    try:
        outcome = await run(sandbox, lambda dest: _write(dest, code), Manifest(entrypoint="job.py", interpreter="python3",
                                                                               timeout=mesh.settings.timeout),
                            mesh.limits, results)
    except SandboxError as exc:  # the code did not run: nothing to complete
        raise JobFailure(f"the sandbox could not run the code: {exc}", code="sandbox") from None
    result = {"stdout": outcome.stdout, "stderr": outcome.stderr, "returncode": outcome.exit_code,
              "executed_at": datetime.fromtimestamp(began, UTC).isoformat().replace("+00:00", "Z"),
              "duration_s": round(outcome.wall_seconds, 3), "cpu_seconds": round(outcome.cpu_seconds, 3),
              "memory_peak_bytes": outcome.memory_peak_bytes, "status": outcome.state, "signal": outcome.signal,
              "limit": outcome.limit, "isolation": outcome.isolation, "job": account, "title": job.title,
              "code_cid": job.code_cid, "worker": mesh.address}
    return result, len(code)


def _write(dest: str, code: bytes) -> None:
    with open(os.path.join(dest, "job.py"), "wb") as f:
        f.write(code)


def _keep(path: Path, document: bytes) -> None:
    """Write the result document atomically (a crash leaves the old one or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(document)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
