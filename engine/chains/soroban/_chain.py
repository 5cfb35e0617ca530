"""A Stellar network's Soroban RPC as a chain adapter (the shape of :mod:`engine.chains._adapter`):
connect (checking the network passphrase), then watch heads — each new ledger goes into the
heights book (``chain.head`` events, persisted heights, height gates) — and runs the chain's
transaction sender (:mod:`engine.chains.soroban._txs`) and its tracker. Stellar ledgers are final
when they close (SCP), so there are no reorgs to follow.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, NoReturn

import trio

from engine.chains._watch import connect_until, watch_heads
from engine.chains.heights import Heights
from engine.chains.soroban import _txledger as txledger
from engine.chains.soroban._kale import error_name
from engine.chains.soroban._rpc import SorobanRpc
from engine.chains.soroban._txs import SorobanTxs
from engine.config import SorobanChainSettings
from engine.errors import ChainError, WrongChain
from engine.schema import Chain
from engine.store import Store


class SorobanChain:
    kind = "soroban"

    def __init__(self, name: str, settings: SorobanChainSettings, store: Store, heights: Heights, *,
                 estop: Callable[[], bool] = lambda: False, rpc: SorobanRpc | None = None) -> None:
        self.name, self.settings, self.heights = name, settings, heights
        self.rpc = rpc or SorobanRpc(settings.rpc)
        self.txs = SorobanTxs(name, self.rpc, store, passphrase=lambda: self.passphrase, estop=estop,
                              base_fee=settings.base_fee, tx_timeout=settings.tx_timeout, error_name=error_name,
                              head=lambda: self.head)
        self.passphrase: str | None = None
        self.protocol: int | None = None
        self.head: int | None = None
        self.head_hash: str | None = None
        self.head_time: float | None = None
        self.error = ""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Ready once the network is checked (the wrong network stops the engine's start with a
        clear error; an unreachable RPC does not: the chain shows the error and keeps trying)."""
        await connect_until(self, self._connect, self.settings.poll_interval, task_status)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(self.txs.run, interval=self.settings.poll_interval))
            await watch_heads(self, self.settings.poll_interval)

    async def _connect(self) -> str | None:
        """The checked network passphrase, or None while no endpoint answers (why is in
        ``error``). The wrong network raises :class:`WrongChain`."""
        try:
            network = await self.rpc.request("getNetwork", named={})
        except ChainError as exc:
            self.error = str(exc)
            return None
        passphrase = network.get("passphrase") if isinstance(network, dict) else None
        if not isinstance(passphrase, str):
            self.error = f"getNetwork returned no passphrase: {str(network)[:80]}"
            return None
        wanted = self.settings.network_passphrase
        if wanted is not None and passphrase != wanted:
            raise WrongChain(f"chain {self.name}: the RPC serves the network {passphrase!r}, but {wanted!r} is configured")
        self.passphrase, self.protocol, self.error = passphrase, network.get("protocolVersion"), ""
        return passphrase

    async def poll_head(self) -> None:
        latest = await self.rpc.latest_ledger()
        if latest.sequence == self.head:
            return
        self.head, self.head_hash = latest.sequence, latest.id
        self.head_time = float(latest.close_time) if latest.close_time else time.time()
        await self.heights.observe(self.name, latest.sequence, source=self.kind, hash=latest.id,
                                   lag_s=round(max(0.0, time.time() - self.head_time), 2))

    async def aclose(self) -> None:
        await self.rpc.aclose()

    async def status(self) -> list[Chain]:
        detail: dict[str, Any] = {"network_passphrase": self.passphrase, "protocol_version": self.protocol,
                                  "endpoints": self.rpc.stats(), "error": self.error,
                                  "transactions": await self.txs.store.read(txledger.counts, self.name),
                                  "signers": len(self.txs.signers())}
        lag = None if self.head_time is None else round(max(0.0, time.time() - self.head_time), 2)
        return [Chain(name=self.name, kind=self.kind, head=self.head, head_hash=self.head_hash, lag_s=lag,
                      detail=detail)]
