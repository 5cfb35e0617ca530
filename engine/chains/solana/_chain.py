"""A Solana cluster's JSON-RPC as a chain adapter (the shape of :mod:`engine.chains._adapter`):
connect (``getVersion``), then watch heads — each new slot goes into the heights book
(``chain.head`` events, persisted heights, height gates) — and run the chain's transaction
sender (:mod:`engine.chains.solana._txs`) and its tracker. Heads are followed at ``processed``;
transactions are done at the configured ``commitment``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, NoReturn

import trio

from engine.chains._watch import connect_until, watch_heads
from engine.chains.heights import Heights
from engine.chains.solana import _cloudmesh as cloudmesh
from engine.chains.solana import _txledger as txledger
from engine.chains.solana._rpc import SolanaRpc
from engine.chains.solana._txs import SolanaTxs
from engine.config import SolanaChainSettings
from engine.errors import ChainError
from engine.schema import Chain
from engine.store import Store


class SolanaChain:
    kind = "solana"

    def __init__(self, name: str, settings: SolanaChainSettings, store: Store, heights: Heights, *,
                 estop: Callable[[], bool] = lambda: False, rpc: SolanaRpc | None = None) -> None:
        self.name, self.settings, self.heights = name, settings, heights
        self.rpc = rpc or SolanaRpc(settings.rpc)
        self.txs = SolanaTxs(name, self.rpc, store, estop=estop, commitment=settings.commitment,
                             error_name=cloudmesh.error_name)
        self.version: str | None = None
        self.head: int | None = None
        self.head_time: float | None = None
        self.error = ""
        self.reporters: dict[str, Callable[[], dict[str, Any]]] = {}  # more in /v1/chains' detail (cloudmesh)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Ready after the first connection attempt (an unreachable RPC does not stop the start:
        the chain shows the error and keeps trying)."""
        await connect_until(self, self._connect, self.settings.poll_interval, task_status)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(self.txs.run, interval=self.settings.poll_interval))
            await watch_heads(self, self.settings.poll_interval)

    async def _connect(self) -> str | None:
        try:
            answer = await self.rpc.request("getVersion")
        except ChainError as exc:
            self.error = str(exc)
            return None
        version = answer.get("solana-core") if isinstance(answer, dict) else None
        if not isinstance(version, str):
            self.error = f"getVersion returned no solana-core: {str(answer)[:80]}"
            return None
        self.version, self.error = version, ""
        return version

    async def poll_head(self) -> None:
        slot = await self.rpc.slot()
        if slot == self.head:
            return
        self.head, self.head_time = slot, time.time()
        await self.heights.observe(self.name, slot, source=self.kind, hash=None, lag_s=0.0)

    async def aclose(self) -> None:
        await self.rpc.aclose()

    async def status(self) -> list[Chain]:
        detail: dict[str, Any] = {"version": self.version, "endpoints": self.rpc.stats(), "error": self.error,
                                  "commitment": self.settings.commitment, "block_height": self.txs.block_height,
                                  "transactions": await self.txs.store.read(txledger.counts, self.name),
                                  "signers": len(self.txs.signers())}
        detail.update({name: report() for name, report in self.reporters.items()})
        lag = None if self.head_time is None else round(max(0.0, time.time() - self.head_time), 2)
        return [Chain(name=self.name, kind=self.kind, head=self.head, head_hash=None, lag_s=lag, detail=detail)]
