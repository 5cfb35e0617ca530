"""One configured EVM chain in the engine — a chain adapter (:mod:`engine.chains._adapter`): RPC
with failover, the head watcher feeding the heights book, the signer's transaction manager and
balance monitor, and the workflow contracts of a devnet state file.

The head watcher polls the latest block, walks every block it skipped so parents can be
checked, and when a new block's parent hash is not the hash it knew at that height it walks
back to the fork point: a **reorg**, reported with its depth (``chain.reorg`` event), after which
the transactions mined at or after the fork are re-checked. Every ``scan_every_blocks`` blocks it
submits an ``evm.workflow.scan`` job (one per block window, by idempotency key).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import trio

from engine.chains._watch import connect_until, watch_heads
from engine.chains.evm import _keys
from engine.chains.evm import _ledger as ledger
from engine.chains.evm._devnet import DevnetState
from engine.chains.evm._rpc import EvmRpc, to_int
from engine.chains.evm._txmanager import GWEI, FeePolicy, TxManager
from engine.chains.heights import Heights
from engine.config import EvmChainSettings
from engine.errors import ChainError, WrongChain
from engine.schema import Chain, JobSubmit
from engine.store import Store

log = logging.getLogger("shiftboss.evm")
WINDOW = 128  # block hashes kept for reorg detection
ETH = 10**18


class EvmChain:
    kind = "evm"

    def __init__(self, name: str, settings: EvmChainSettings, store: Store, heights: Heights, *,
                 estop: Callable[[], bool] = lambda: False,
                 submit: Callable[[list[JobSubmit]], Awaitable[Any]] | None = None) -> None:
        self.name, self.settings, self.store, self.heights = name, settings, store, heights
        self.estop, self._submit = estop, submit
        self.rpc = EvmRpc(settings.rpc, chain_id=settings.chain_id)
        self.account = None
        if settings.key_file is not None:
            password = None
            if settings.password_file or settings.password_env:
                password = _keys.password_from(settings.password_file, settings.password_env)
            self.account = _keys.load(settings.key_file, password)
            self.sign_backend = _keys.signing_backend()
            log.log(logging.INFO if self.sign_backend == "coincurve" else logging.WARNING,
                    "chain %s: %s signs with the %s secp256k1 backend%s", name, self.account.address,
                    self.sign_backend, "" if self.sign_backend == "coincurve" else " (slow: pip install coincurve)")
        self.devnet = DevnetState.read(settings.state_file) if settings.state_file else None
        #: workflow id → the run this engine last queued an execute job for: a scan queues only new runs
        self.queued_runs: dict[int, int] = {}
        self.tx: TxManager | None = None
        self.head: int | None = None
        self.head_hash: str | None = None
        self.head_time: float | None = None
        self.hashes: dict[int, str] = {}
        self.reorgs: list[dict[str, Any]] = []  # the last ten
        self.reorg_count = 0
        self.balance: int | None = None
        self.error = ""
        self._new_head = trio.Event()
        self._scan_owed, self._scanned_at = False, -math.inf

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Ready once the chain id is checked (a wrong one stops the engine's start with a clear
        error; an unreachable RPC does not: the chain shows the error and keeps trying)."""
        chain_id = await connect_until(self, self._connect, self.settings.poll_interval, task_status)
        async with trio.open_nursery() as nursery:
            if self.account is not None:
                s = self.settings
                policy = FeePolicy(max_fee=int(s.max_fee_gwei * GWEI), max_priority_fee=int(s.max_priority_fee_gwei * GWEI),
                                   bump_after=s.bump_after, confirmations=s.confirmations,
                                   receipt_timeout=s.receipt_timeout)
                self.tx = TxManager(self.name, chain_id, self.rpc, self.store, self.account, policy, estop=self.estop,
                                    head=lambda: self.head)
                await nursery.start(functools.partial(self.tx.run, interval=self.settings.poll_interval))
                nursery.start_soon(self._watch_balance)
            nursery.start_soon(watch_heads, self, self.settings.poll_interval)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self) -> int | None:
        """The checked chain id, or None while no endpoint answers (why is in ``error``). A wrong
        chain id raises :class:`WrongChain`."""
        try:
            chain_id = await self.rpc.check_chain()
        except WrongChain:
            raise
        except ChainError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        return chain_id

    async def aclose(self) -> None:
        await self.rpc.aclose()

    # --- heads ------------------------------------------------------------------------------

    async def poll_head(self) -> None:
        await self._scan_if_owed()  # one held back by scan_min_interval
        latest = await self.rpc.get_block("latest")
        number = to_int(latest["number"])
        if self.head is not None and number == self.head and latest["hash"] == self.head_hash:
            return
        first = number if self.head is None else max(min(self.head + 1, number), number - WINDOW + 1)
        blocks = [latest] if first == number else [*await self.rpc.blocks(range(first, number)), latest]
        for block in blocks:
            await self._accept(block)
        await self.heights.observe(self.name, number, source=self.kind, hash=latest["hash"],
                                   lag_s=round(max(0.0, time.time() - (self.head_time or time.time())), 2))
        self._new_head.set()
        self._new_head = trio.Event()

    async def _accept(self, block: dict[str, Any]) -> None:
        number = to_int(block["number"])
        known_parent = self.hashes.get(number - 1)
        known_here = self.hashes.get(number)
        if (known_parent is not None and known_parent != block["parentHash"]) or (
                known_here is not None and known_here != block["hash"]):
            await self._reorg(number)
        self.hashes[number] = block["hash"]
        for old in [n for n in self.hashes if n <= number - WINDOW]:
            del self.hashes[old]
        for stale in [n for n in self.hashes if n > number]:
            del self.hashes[stale]  # the chain got shorter
        before = self.head
        self.head, self.head_hash, self.head_time = number, block["hash"], float(to_int(block["timestamp"]))
        every = self.settings.scan_every_blocks
        if before is None or number // every > before // every:
            self._scan_owed = True
        await self._scan_if_owed()

    async def _scan_if_owed(self) -> None:
        """Queue ``evm.workflow.scan`` for the head, if a scan window was crossed and the last
        scan is ``scan_min_interval`` old (engines sharing a store: the head recorder does)."""
        if not self._scan_owed or self.devnet is None or self._submit is None or not self.heights.leads(self.name):
            return
        if time.monotonic() - self._scanned_at < self.settings.scan_min_interval:
            return
        self._scan_owed, self._scanned_at = False, time.monotonic()
        await self._submit([JobSubmit(kind="evm.workflow.scan", payload={"chain": self.name},
                                      idempotency_key=f"scan:{self.name}:{self.head}", priority=6)])

    async def _reorg(self, number: int) -> None:
        """The block at ``number`` does not extend what we knew: find the fork point."""
        fork = number
        while fork - 1 in self.hashes:
            canonical = await self.rpc.get_block(fork - 1)
            if canonical["hash"] == self.hashes[fork - 1]:
                break
            fork -= 1
        depth = (self.head or number) - fork + 1
        record = {"fork_block": fork, "depth": depth, "at": time.time(), "head": self.head}
        self.reorgs = [*self.reorgs[-9:], record]
        self.reorg_count += 1
        log.warning("chain %s: reorg of depth %d (fork at block %d)", self.name, depth, fork)
        for n in [n for n in self.hashes if n >= fork]:
            del self.hashes[n]
        await self.heights.reorg(self.name, depth, fork)
        if self.tx is not None:
            await self.tx.recheck(fork)

    async def wait_block(self) -> None:
        await self._new_head.wait()

    # --- balance ----------------------------------------------------------------------------

    async def _watch_balance(self) -> NoReturn:
        assert self.account is not None
        while True:
            try:
                self.balance = await self.rpc.balance(self.account.address)
            except ChainError as exc:
                log.warning("chain %s: balance: %s", self.name, exc)
            await trio.sleep(max(5.0, self.settings.poll_interval))

    @property
    def low_balance(self) -> bool:
        return self.balance is not None and self.balance < self.settings.min_balance_eth * ETH

    # --- the API's view ---------------------------------------------------------------------

    async def status(self) -> list[Chain]:
        detail: dict[str, Any] = {"chain_id": self.rpc.chain_id, "endpoints": self.rpc.stats(),
                                  "reorgs": self.reorgs, "reorg_count": self.reorg_count, "error": self.error,
                                  "rpc": {"calls": self.rpc.calls, "http_requests": self.rpc.posts}}
        if self.account is not None:
            signer: dict[str, Any] = {"address": self.account.address, "sign_backend": self.sign_backend,
                                      "balance_eth": None if self.balance is None else self.balance / ETH,
                                      "low_balance": self.low_balance,
                                      "min_balance_eth": self.settings.min_balance_eth}
            if self.tx is not None:
                signer.update(self.tx.last_seen)
                signer["txs"] = await self.store.read(ledger.counts, self.name, self.account.address)
            detail["signer"] = signer
        if self.devnet is not None:
            detail["contracts"] = {"registry": self.devnet.registry, "executor": self.devnet.executor,
                                   "escrow": self.devnet.escrow}
        return [Chain(name=self.name, kind=self.kind, head=self.head, head_hash=self.head_hash,
                      lag_s=None if self.head_time is None else round(max(0.0, time.time() - self.head_time), 1),
                      detail=detail)]
