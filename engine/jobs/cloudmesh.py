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
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import base58
import msgspec
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.chains.solana import SolanaChain, TxFailed
from engine.chains.solana import _txledger as txledger
from engine.chains.solana import cloudmesh as cm
from engine.config import CloudMeshSettings, read_secret_file
from engine.errors import ChainError, JobFailure, PermanentFailure
from engine.ipfs import IpfsClient, IpfsError
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.jobs._services import Submitter
from engine.remote._sandbox import Isolation, Limits, Manifest, run
from engine.schema import JobSubmit

log = logging.getLogger("shiftboss.cloudmesh")
BALANCE_EVERY = 30.0


def load_or_create_key(path: Path) -> tuple[Keypair, bool]:
    """The worker's key from ``path`` (solana-keygen's JSON array of 64 bytes); made there (0600)
    when there is none — never overwritten. (key, made now)."""
    try:
        raw = json.loads(path.read_text())
        return Keypair.from_bytes(bytes(raw)), False
    except FileNotFoundError:
        pass
    except (ValueError, TypeError) as exc:
        raise PermanentFailure(f"{path}: not a Solana keypair file ({exc})", code="bad_keypair") from None
    key = Keypair()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing file
    with os.fdopen(fd, "w") as f:
        json.dump(list(bytes(key)), f)
    return key, True


class CloudMesh:
    """The worker's standing parts: its key, the IPFS client, the sandbox, the scan timer."""

    def __init__(self, settings: CloudMeshSettings, chain: SolanaChain, key: Keypair, submit: Submitter, *,
                 pinata_jwt: str | None = None) -> None:
        self.settings, self.chain, self.key, self.submit = settings, chain, key, submit
        self.address = str(key.pubkey())
        self.program = Pubkey.from_string(chain.settings.cloudmesh_program)
        self.authority = chain.settings.cloudmesh_authority
        self.ipfs = IpfsClient(api=settings.ipfs_api, gateways=settings.ipfs_gateways, pinata=settings.pinata_url,
                               pinata_jwt=pinata_jwt, max_bytes=settings.code_max_bytes)
        self.limits = Limits(wall_seconds=settings.timeout)
        self._isolation: Isolation | None = None
        self.work_dir = settings.work_dir or Path(tempfile.gettempdir()) / f"shiftboss-cloudmesh-{os.getuid()}"
        self.balance: int | None = None
        chain.txs.add_signer(key)

    @staticmethod
    def build(settings: CloudMeshSettings, chain: SolanaChain, key_path: Path, submit: Submitter) -> CloudMesh:
        key, made = load_or_create_key(key_path)
        if made:
            log.warning("cloudmesh: made the worker key %s — its address %s needs SOL for fees "
                        "(devnet: `shiftboss solana airdrop %s`)", key_path, key.pubkey(), key.pubkey())
        jwt = read_secret_file(settings.pinata_jwt_file, "SHIFTBOSS_PINATA_JWT")
        return CloudMesh(settings, chain, key, submit, pinata_jwt=jwt)

    async def isolation(self) -> Isolation:
        if self._isolation is None:
            self._isolation = await trio.to_thread.run_sync(Isolation.probe)
        return self._isolation

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Queue a scan every ``poll_interval`` (one per window) and watch the key's balance."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.chmod(0o711)
        task_status.started()
        last_balance = 0.0
        while True:
            window = int(time.time() // self.settings.poll_interval)
            try:
                await self.submit([JobSubmit(kind="cloudmesh.scan", payload={}, priority=6,
                                             idempotency_key=f"cloudmesh.scan:{self.chain.name}:{window}")],
                                  f"chain:{self.chain.name}")
            except Exception as exc:  # noqa: BLE001 — a refused scan (e-stop, store) is tried next window
                log.info("cloudmesh: scan not queued: %s", exc)
            if time.monotonic() - last_balance >= BALANCE_EVERY:
                try:
                    self.balance = await self.chain.rpc.balance(self.key.pubkey())
                    last_balance = time.monotonic()
                except ChainError as exc:
                    log.info("cloudmesh: balance of %s: %s", self.address, exc)
            await trio.sleep(self.settings.poll_interval - time.time() % self.settings.poll_interval)

    def may_run(self, job: cm.JobAccount) -> bool:
        if self.authority is not None:
            return job.authority is not None and str(job.authority) == self.authority
        return job.authority is None or str(job.authority) == self.address

    def status(self) -> dict[str, Any]:
        low = self.balance is not None and self.balance < self.chain.settings.low_balance
        return {"address": self.address, "balance": self.balance, "low_balance": low, "program": str(self.program),
                "authority": self.authority}

    async def aclose(self) -> None:
        await self.ipfs.aclose()


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
    by_discriminator = {"memcmp": {"offset": 0, "bytes": base58.b58encode(cm.JOB_DISCRIMINATOR).decode()}}
    accounts = await mesh.chain.rpc.program_accounts(mesh.program, [by_discriminator])
    pending, skipped, others = [], {}, 0
    for keyed in accounts:
        try:
            job = cm.JobAccount.decode(keyed.account.bytes())
        except cm.LayoutError as exc:
            skipped[keyed.pubkey] = str(exc)
            continue
        if job.status != cm.JobStatus.PENDING:
            continue
        if not mesh.may_run(job):
            others += 1
            continue
        pending.append(keyed.pubkey)
    if skipped:
        log.warning("cloudmesh: %d account(s) are not Jobs: %s", len(skipped), skipped)
    queued = 0
    if pending:
        answer = await mesh.submit([JobSubmit(kind="cloudmesh.run", payload={"account": a}, priority=5,
                                              idempotency_key=f"cloudmesh.run:{a}") for a in pending],
                                   f"chain:{mesh.chain.name}")
        queued = sum(1 for j in answer.jobs if j.created)
    return {"accounts": len(accounts), "pending": len(pending), "queued": queued, "skipped": skipped,
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
        refused = "refused" in str(exc) or "limit" in str(exc)
        failure = PermanentFailure if refused else JobFailure
        raise failure(f"code {job.code_cid}: {exc}", code="code_unverified" if refused else "ipfs") from None
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
        import shutil

        shutil.rmtree(base, ignore_errors=True)


async def _finish(ctx: JobContext, mesh: CloudMesh, tx_id: str, report: dict[str, Any]) -> dict[str, Any]:
    try:
        done = await mesh.chain.txs.wait(tx_id)
    except TxFailed as exc:
        if exc.record.error_code in (cm.ALREADY_COMPLETED, 6004):  # another worker won, or the owner cancelled
            return {**report, "skipped": exc.record.error, "tx": exc.record.public()}
        raise
    return {**report, "tx": done.public(), "signature": done.signature, "slot": done.slot}


KINDS = [
    Kind("cloudmesh.scan", ScanPayload, scan, "Find pending CloudMesh jobs and queue a run for each.",
         max_attempts=1, timeout=60),
    Kind("cloudmesh.run", RunPayload, run_job,
         "Run one CloudMesh job: its code by CID (verified), sandboxed, then complete_job on chain.",
         max_attempts=5, timeout=600, backoff_base=2.0),
]
