"""The KALE farm service: watches the farm contract's blocks and queues, per farmer and block,
``kale.plant`` → ``kale.work`` → ``kale.harvest`` jobs (their handlers are in
:mod:`engine.jobs.kale`), and delivers the Pooler's reports to a KALE Backend.

Every ledger (the chain's poll interval) it reads ``FarmIndex``, ``FarmBlock`` and
``Block(FarmIndex)``:

* a block seen for the first time is recorded (``kale.block`` event, the Backend's
  ``/pooler/block-discovered``), the results of every block of the last ``harvest_lookback``
  not reported yet are (``/pooler/work-completed``, the Backend's ``farmerId`` echoed; blocks
  the engine missed while it was down included), and every unharvested pail of those blocks
  gets a harvest job;
* once the current block is ``block_interval`` old, the next plant opens the next block: every
  farmer of this engine gets a plant job for it (a block someone else opened is planted into
  while it is younger than ``plant_window``).

Idempotency keys (``kale.plant:<farmer>:<block>`` …) make every submission safe to repeat:
after a restart, a kill -9 or a second look at the same block, nothing is queued twice.

Resource handling: one httpx client for the Backend, closed by :meth:`aclose`. Error handling:
an unreachable RPC is shown in ``error`` and retried every ledger; the engine keeps running.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

import httpx
import trio

from engine.chains.soroban import _farmstore as farmstore
from engine.chains.soroban._chain import SorobanChain
from engine.chains.soroban._kale import FarmView, KaleReader
from engine.chains.soroban._vault import SecretMismatch, Vault, keypair_for
from engine.config import KaleSettings, read_secret_file
from engine.errors import ChainError, ConfigError, StoreError
from engine.schema import JobSubmit, SubmitResponse
from engine.store import Store

log = logging.getLogger("shiftboss.kale")
LEASE_S = 15.0  # a farming engine that stopped is replaced within this
BACKEND_TOKEN_ENV = "BACKEND_AUTH_TOKEN"
POOLER_TOKEN_ENV = "POOLER_AUTH_TOKEN"


class KaleFarm:
    kind = "kale"

    def __init__(self, settings: KaleSettings, chain: SorobanChain, store: Store, vault: Vault, submit: Any, *,
                 estop: Any = lambda: False) -> None:
        self.settings, self.chain, self.store, self.vault = settings, chain, store, vault
        self.lease = f"kale.farm:{chain.name}"  # engines sharing a store farm one at a time
        self.submit = submit  # (specs, actor) -> SubmitResponse
        self.estop = estop
        self.contract = settings.contract
        self.reader = KaleReader(chain.rpc, settings.contract)
        self.txs = chain.txs
        self.view: FarmView | None = None
        self.error = ""
        self._queued: set[str] = set()  # idempotency keys submitted by this process (saves the round trip)
        self._seen_block: int | None = None
        self._http = httpx.AsyncClient(timeout=10.0)
        self.pooler_token = read_secret_file(settings.pooler_token_file, POOLER_TOKEN_ENV)
        self._backend_token = read_secret_file(settings.backend_token_file, BACKEND_TOKEN_ENV)

    # --- farmers ----------------------------------------------------------------------------

    async def load_farmers(self) -> None:
        """Configured farmers are sealed into the store; every active farmer's key is loaded."""
        for i, farmer in enumerate(self.settings.farmers):
            secret = farmer.secret_file.expanduser().read_text()
            try:
                keypair_for(farmer.address, secret)
            except SecretMismatch as exc:
                raise ConfigError([(f"kale.farmers[{i}].secret_file", str(exc))]) from None
            await self.store.write(farmstore.put_farmer, farmer.address, self.vault.seal(secret.strip()),
                                   self.settings.stake if farmer.stake is None else farmer.stake, "config", "config")
        for row in await self.store.read(farmstore.farmers):
            try:
                self.txs.add_signer(keypair_for(row.address, self.vault.open(row.sealed)))
            except SecretMismatch as exc:
                log.error("kale: farmer %s cannot sign: %s", row.address, exc)

    async def add_farmer(self, address: str, secret: str, stake: int | None, origin: str, actor: str) -> bool:
        """Farm for ``address`` (its secret checked, sealed, loaded); True if it is new.
        :class:`SecretMismatch` if the secret is not the address's."""
        key = keypair_for(address, secret)
        known = await self.store.read(farmstore.farmer, address)
        try:
            changed = known is None or self.vault.open(known.sealed) != secret.strip()
        except SecretMismatch:  # sealed with another vault key: taken in again
            changed = True
        new = await self.store.write(farmstore.put_farmer, address, self.vault.seal(secret.strip()),
                                     self.settings.stake if stake is None else stake, origin, actor,
                                     key_changed=changed)
        self.txs.add_signer(key)
        return new

    async def remove_farmer(self, address: str, actor: str, reason: str) -> bool:
        removed = await self.store.write(farmstore.remove_farmer, address, actor, reason)
        if removed:
            self.txs.remove_signer(address)
        return removed

    # --- the watcher ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        await self.load_farmers()
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._deliver_reports)
            while True:
                try:
                    await self.tick()
                    self.error = ""
                except ChainError as exc:
                    self.error = str(exc)
                    log.warning("kale: reading the farm: %s", exc)
                except StoreError as exc:
                    log.warning("kale: %s", exc)
                await trio.sleep(self.chain.settings.poll_interval)

    def network_time(self) -> float:
        """Now by the network's clock as far as we know it (the last ledger's close time, or ours)."""
        return max(time.time(), self.chain.head_time or 0.0)

    async def tick(self) -> None:
        if self.chain.passphrase is None:
            return  # not connected yet: the chain shows why
        view = await self.reader.farm()
        self.view = view
        if not await self.store.lead(self.lease, LEASE_S):
            return  # another engine on the store farms now; this one shows the farm
        if view.block is not None and view.block.index != self._seen_block:
            await self._on_block(view)
            self._seen_block = view.block.index
        if view.paused or self.estop():
            return
        target = self.plant_target(view, self.network_time())
        if target is not None:
            await self._plant_all(target)

    def plant_target(self, view: FarmView, now: float) -> int | None:
        """The block a plant now would land in, if this engine should plant now: the next one
        once the current block has run its interval, the current one while it is young."""
        if view.farm_timestamp is None:
            return None
        if now >= view.farm_timestamp + self.settings.block_interval:
            return view.index + 1
        if view.block is None:  # before the first plant (block 0), or the block was evicted
            return view.index if view.index == 0 else view.index + 1
        if now - view.block.timestamp < self.settings.plant_window:
            return view.index
        return None

    async def _plant_all(self, target: int) -> None:
        farmers = [f for f in await self.store.read(farmstore.farmers) if f.origin != "pooler"]
        specs = [JobSubmit(kind="kale.plant", priority=7, idempotency_key=f"kale.plant:{f.address}:{target}",
                           payload={"farmer": f.address, "block": target, "stake": f.stake})
                 for f in farmers if f"kale.plant:{f.address}:{target}" not in self._queued]
        await self._submit(specs)

    async def _on_block(self, view: FarmView) -> None:
        block = view.block
        assert block is not None
        data = {**block.public(), "ledger": view.ledger}
        if await self.store.write(farmstore.record_block, block.index, block.timestamp, block.entropy.hex(), data):
            log.info("kale: block %d opened (entropy %s…)", block.index, block.entropy.hex()[:12])
        # seen before or not (a restart), the reports and harvests below are queued once each (by id and key)
        await self._report(f"block-discovered:{block.index}", "/pooler/block-discovered", {
            "poolerId": self.settings.pooler_id, "blockIndex": block.index,
            "blockData": {"index": block.index, "timestamp": block.timestamp, "entropy": block.entropy.hex(),
                          "blockAge": max(0, int(self.network_time()) - block.timestamp),
                          "plantable": True, "min_stake": str(block.min_stake), "max_stake": str(block.max_stake),
                          "min_zeros": block.min_zeros, "max_zeros": block.max_zeros, "min_gap": block.min_gap,
                          "max_gap": block.max_gap},
            "metadata": {"ledger": view.ledger}})
        lookback = range(max(0, block.index - self.settings.harvest_lookback), block.index)
        for index in lookback:  # every block that is over, not only the last: the engine may have missed some
            await self._report_work(index)
        specs = []
        for index in lookback:
            for pail in await self.store.read(farmstore.pails, index=index):
                if pail["state"] in ("harvested", "skipped"):
                    continue
                key = f"kale.harvest:{pail['farmer']}:{index}"
                if key not in self._queued:
                    specs.append(JobSubmit(kind="kale.harvest", priority=4, idempotency_key=key,
                                           payload={"farmer": pail["farmer"], "block": index}))
        await self._submit(specs)

    async def _submit(self, specs: list[JobSubmit]) -> SubmitResponse | None:
        if not specs:
            return None
        response: SubmitResponse = await self.submit(specs, "kale")
        self._queued.update(s.idempotency_key for s in specs if s.idempotency_key)
        return response

    async def queue_work(self, farmer: str, index: int, entropy: str, timestamp: int, stake: int) -> bool:
        """Queue ``kale.work`` for a planted farmer; False if it was queued before."""
        key = f"kale.work:{farmer}:{index}"
        s = self.settings
        response = await self._submit([JobSubmit(
            kind="kale.work", priority=6, idempotency_key=key, max_attempts=s.work_attempts,
            timeout=float(s.block_interval + 60),
            payload={"farmer": farmer, "block": index, "entropy": entropy, "timestamp": timestamp, "stake": stake})])
        return bool(response and response.jobs[0].created)

    # --- reports to the Backend -------------------------------------------------------------

    async def _report_work(self, index: int) -> None:
        results = []
        for pail in await self.store.read(farmstore.pails, index=index):
            worked = pail["state"] in ("worked", "harvested")
            results.append({"farmerId": pail.get("farmer_id") or pail["farmer"], "custodialWallet": pail["farmer"],
                            "status": "success" if worked else "failed", "nonce": pail.get("nonce"),
                            "hash": pail.get("hash"), "zeros": pail.get("zeros"), "gap": pail.get("gap"),
                            "workTime": pail.get("work_seconds"), "attempts": pail.get("attempts"),
                            "error": pail.get("error"), "compensationRequired": pail["state"] == "failed"})
        if not results:
            return
        ok = sum(1 for r in results if r["status"] == "success")
        await self._report(f"work-completed:{index}", "/pooler/work-completed", {
            "blockIndex": index, "poolerId": self.settings.pooler_id, "workResults": results,
            "summary": {"totalFarmers": len(results), "successfulWork": ok, "failedWork": len(results) - ok,
                        "totalWorkTime": sum(r["workTime"] or 0 for r in results), "timestamp": int(time.time())}})

    async def _report(self, id_: str, path: str, body: dict[str, Any]) -> None:
        if self.settings.backend_url:
            await self.store.write(farmstore.enqueue, id_, path, body)

    async def _deliver_reports(self) -> NoReturn:
        """At least once, in order of due time, with backoff (an ``Idempotency-Key`` header lets
        the Backend drop a repeat)."""
        while True:
            if self.settings.backend_url and self.store.leads(self.lease):
                try:
                    for id_, path, body, attempts in await self.store.read(farmstore.due, time.time()):
                        await self._deliver(id_, path, body, attempts)
                except StoreError as exc:
                    log.warning("kale: reports: %s", exc)
            await trio.sleep(1.0)

    async def _deliver(self, id_: str, path: str, body: dict[str, Any], attempts: int) -> None:
        url = str(self.settings.backend_url).rstrip("/") + path
        headers = {"Idempotency-Key": id_, "X-Pooler-ID": self.settings.pooler_id}
        if self._backend_token:
            headers["Authorization"] = f"Bearer {self._backend_token}"
        try:
            response = await self._http.post(url, json=body, headers=headers)
            failed = None if response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            failed = f"{type(exc).__name__}: {exc}"
        if failed is None:
            await self.store.write(farmstore.delivered, id_)
        else:
            delay = min(300.0, 2.0 * 2**attempts)
            log.info("kale: report %s to %s failed (%s); again in %.0f s", id_, url, failed, delay)
            await self.store.write(farmstore.retry_later, id_, delay, failed)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- status -----------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        view = self.view
        block = view.block if view else None
        pails = await self.store.read(farmstore.pails, index=block.index) if block else []
        farmers = await self.store.read(farmstore.farmers)
        interval = self.settings.block_interval
        return {
            "chain": self.chain.name, "contract": self.contract, "error": self.error or self.chain.error,
            "ledger": view.ledger if view else None, "paused": view.paused if view else None,
            "block": None if block is None else {**block.public(), "age_s": int(self.network_time()) - block.timestamp},
            "next_work_at": None if block is None else block.timestamp + min(
                self.settings.work_delay, interval - self.settings.work_margin),
            "block_ends_at": None if block is None else block.timestamp + interval,
            "farmers": [{**f.public(), "pail": next((p for p in pails if p["farmer"] == f.address), None)}
                        for f in farmers],
            "compensations": len(await self.store.read(farmstore.compensations)),
            "reports": await self.store.read(farmstore.outbox_counts),
            "settings": {"work_delay": self.settings.work_delay, "work_margin": self.settings.work_margin,
                         "min_zeros": self.settings.min_zeros, "harvest_lookback": self.settings.harvest_lookback,
                         "block_interval": interval, "stake": str(self.settings.stake)},
        }

