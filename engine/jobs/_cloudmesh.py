"""The CloudMesh worker's standing parts (``[cloudmesh]``): its key, the IPFS client, the sandbox
settings, the scan timer and the balance watch. The job kinds are in :mod:`engine.jobs.cloudmesh`."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.chains.solana import SolanaChain
from engine.chains.solana import cloudmesh as cm
from engine.config import CloudMeshSettings, read_secret_file
from engine.errors import ChainError, PermanentFailure
from engine.ipfs import IpfsClient
from engine.jobs._submit import Submitter
from engine.sandbox import Limits, Sandbox, Unavailable, parse_range
from engine.schema import JobSubmit

log = logging.getLogger("shiftboss.cloudmesh")
BALANCE_EVERY = 30.0
LEASE_S = 15.0  # a scanning engine that stopped is replaced within this


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
                 work_dir: Path | None = None, hide: tuple[Path, ...] = (), pinata_jwt: str | None = None) -> None:
        self.settings, self.chain, self.key, self.submit = settings, chain, key, submit
        self.address = str(key.pubkey())
        self.program = Pubkey.from_string(chain.settings.cloudmesh_program)
        self.authority = chain.settings.cloudmesh_authority
        self.ipfs = IpfsClient(api=settings.ipfs_api, gateways=settings.ipfs_gateways, pinata=settings.pinata_url,
                               pinata_jwt=pinata_jwt, max_bytes=settings.code_max_bytes)
        self.limits = Limits(wall_seconds=settings.timeout, memory_bytes=settings.memory_mb * 2**20,
                             disk_bytes=settings.disk_mb * 2**20)
        self.work_dir = settings.work_dir or work_dir or Path(tempfile.gettempdir()) / f"shiftboss-cloudmesh-{os.getuid()}"
        self._hide = hide
        self._sandbox: Sandbox | None = None
        self.sandbox_error: str | None = None
        self.balance: int | None = None
        chain.txs.add_signer(key)

    @staticmethod
    def build(settings: CloudMeshSettings, chain: SolanaChain, key_path: Path, submit: Submitter, *,
              work_dir: Path | None = None, hide: tuple[Path, ...] = ()) -> CloudMesh:
        key, made = load_or_create_key(key_path)
        if made:
            log.warning("cloudmesh: made the worker key %s — its address %s needs SOL for fees "
                        "(devnet: `shiftboss solana airdrop %s`)", key_path, key.pubkey(), key.pubkey())
        jwt = read_secret_file(settings.pinata_jwt_file, "SHIFTBOSS_PINATA_JWT")
        hidden = (key_path, *((settings.pinata_jwt_file,) if settings.pinata_jwt_file else ()), *hide)
        return CloudMesh(settings, chain, key, submit, work_dir=work_dir, hide=hidden, pinata_jwt=jwt)

    def probe(self) -> None:
        """Find how this host runs job code; a host that cannot isolate it leaves CloudMesh
        refusing every run (``sandbox_error``) unless ``sandbox = "none"``."""
        try:
            self._sandbox = Sandbox.probe(self.work_dir / "runs", mode=self.settings.sandbox,
                                          uid_range=parse_range(self.settings.sandbox_uids), hide=self._hide)
            self.sandbox_error = None
            log.info("cloudmesh: job code runs with %s", ", ".join(self._sandbox.names))
        except (Unavailable, OSError) as exc:
            self.sandbox_error = str(exc)
            log.error("cloudmesh: no job code will run: %s", exc)

    async def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            await trio.to_thread.run_sync(self.probe)
        if self._sandbox is None:
            raise Unavailable(self.sandbox_error or "no sandbox")
        return self._sandbox

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Queue a scan every ``poll_interval`` (one per window) and watch the key's balance."""
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.work_dir.chmod(0o700)
        await trio.to_thread.run_sync(self.probe)
        task_status.started()
        last_balance = 0.0
        while True:
            window = int(time.time() // self.settings.poll_interval)
            try:  # engines sharing a store scan one at a time (and a window's key is queued once)
                if await self.chain.txs.store.lead(f"cloudmesh.scan:{self.chain.name}",
                                                   max(LEASE_S, 3 * self.settings.poll_interval)):
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
                "authority": self.authority, "sandbox": self.settings.sandbox,
                "isolation": list(self._sandbox.names) if self._sandbox else [], "sandbox_error": self.sandbox_error}

    async def aclose(self) -> None:
        await self.ipfs.aclose()
