"""A CometBFT chain (the Structs chain) as a chain adapter (the shape of
:mod:`engine.chains._adapter`): connect (``/status``, checking the chain id), then follow heads
through the ``NewBlock`` WebSocket subscription — reconnecting with backoff, and polling
``/status`` every ``poll_interval`` whenever the socket is down, so the heights book that gates
``pow.structs`` misses no height — and run the transaction sender (:mod:`._txs`) and its
tracker. Signer keys are loaded at start from ``keys`` (files of mode 0600).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any, NoReturn

import httpx
import trio
from trio_websocket import ConnectionClosed, HandshakeError, wrap_client_stream

from engine.chains._watch import connect_until, watch_heads
from engine.chains.cometbft import _tx as codec
from engine.chains.cometbft import _txledger as txledger
from engine.chains.cometbft._rpc import CometRpc, Status
from engine.chains.cometbft._txs import CosmosTxs
from engine.chains.heights import Heights
from engine.config import CometChainSettings
from engine.errors import ChainError, ConfigError, PermanentFailure, StoreError, WrongChain
from engine.schema import Chain
from engine.store import Store

log = logging.getLogger("shiftboss.cometbft")
NEW_BLOCK = "tm.event='NewBlock'"
WS_CHECK_EVERY = 15.0  # seconds between /status polls while the WebSocket is up (a safety net)
MAX_BACKOFF = 30.0


class CometChain:
    kind = "cometbft"

    def __init__(self, name: str, settings: CometChainSettings, store: Store, heights: Heights, *,
                 estop: Any = lambda: False, rpc: CometRpc | None = None) -> None:
        self.name, self.settings, self.heights = name, settings, heights
        self.rpc = rpc or CometRpc(settings.rpc, settings.rest)
        self.txs = CosmosTxs(name, self.rpc, store, chain_id=settings.chain_id or "", estop=estop,
                             gas_adjustment=settings.gas_adjustment, gas_price=settings.gas_price,
                             denom=settings.denom)
        self.addresses: dict[str, str] = {}  # signer name → address
        problems = []
        for signer, path in settings.keys.items():
            try:
                key = codec.load_key(path)
            except codec.TxCodecError as exc:
                problems.append((f"chains.{name}.keys.{signer}", str(exc)))
                continue
            self.addresses[signer] = codec.address(key.public_key, settings.prefix)
            self.txs.add_signer(self.addresses[signer], key)
        if problems:
            raise ConfigError(problems)
        self.network: str | None = None
        self.version = ""
        self.head: int | None = None
        self.head_time: float | None = None
        self.error = ""
        self.ws_connected = False
        self.ws_error = ""
        self.ws_reconnects = 0

    def signer(self, name: str) -> str:
        """The address of signer ``name``; an unknown one fails the job for good."""
        address = self.addresses.get(name)
        if address is None:
            raise PermanentFailure(f"chain {self.name} has no signer {name!r} (signers: "
                                   f"{', '.join(sorted(self.addresses)) or 'none: add [chains.' + self.name + '.keys]'})",
                                   code="unknown_signer")
        return address

    # --- following heads ----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """Ready after the first connection attempt (an unreachable node does not stop the
        start: the chain shows the error and keeps trying); a wrong chain id stops it."""
        await connect_until(self, self._connect, self.settings.poll_interval, task_status)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(self.txs.run, interval=self.settings.poll_interval))
            if self.settings.websocket:
                nursery.start_soon(self._follow_websocket)
            await watch_heads(self, self.settings.poll_interval)

    async def _connect(self) -> str | None:
        try:
            status = await self.rpc.status()
        except ChainError as exc:
            self.error = str(exc)
            return None
        if self.settings.chain_id and status.node_info.network != self.settings.chain_id:
            raise WrongChain(f"chain {self.name}: the node serves {status.node_info.network!r}, "
                             f"config says {self.settings.chain_id!r}")
        self.network, self.version, self.error = status.node_info.network, status.node_info.version, ""
        self.txs.chain_id = status.node_info.network
        await self._observe(status.height, "status")
        return status.node_info.network

    async def poll_head(self) -> None:
        """What ``watch_heads`` calls every ``poll_interval``: a ``/status`` poll while the
        WebSocket is down, and every ``WS_CHECK_EVERY`` seconds while it is up."""
        if self.ws_connected and self.head_time is not None and time.time() - self.head_time < WS_CHECK_EVERY:
            return
        await self.poll_head_now()

    async def _observe(self, height: int, via: str) -> None:
        if self.head is not None and height <= self.head:
            return
        self.head, self.head_time = height, time.time()
        await self.heights.observe(self.name, height, source=self.kind, hash=None, lag_s=0.0, via=via)

    async def _follow_websocket(self) -> NoReturn:
        backoff = 0.5
        while True:
            try:
                await self._subscribe(self.rpc.websocket_url())
            except* (OSError, HandshakeError, ConnectionClosed, trio.BrokenResourceError, ValueError, KeyError,
                     TypeError, ChainError, trio.TooSlowError) as group:  # raised through the reader's nursery
                exc = group.exceptions[0]
                self.ws_error = f"{type(exc).__name__}: {exc}"
            if self.ws_connected:
                backoff = 0.5
                log.warning("chain %s: the NewBlock subscription dropped (%s); polling /status until it is back",
                            self.name, self.ws_error)
                self.ws_reconnects += 1
            self.ws_connected = False
            await trio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def _subscribe(self, url: str) -> None:
        """Follow ``NewBlock`` events on ``url`` until the connection ends. The TCP stream is ours,
        closed however the handshake or the subscription ends (trio-websocket leaves a refused
        handshake's socket open)."""
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "wss" else 80)
        with trio.fail_after(10):
            stream: trio.abc.Stream = (await trio.open_ssl_over_tcp_stream(parsed.host, port, https_compatible=True)
                                       if parsed.scheme == "wss" else await trio.open_tcp_stream(parsed.host, port))
        try:
            async with trio.open_nursery() as nursery:
                with trio.fail_after(10):
                    ws = await wrap_client_stream(nursery, stream, f"{parsed.host}:{port}",  # type: ignore[arg-type]
                                                  parsed.raw_path.decode())
                    await ws.send_message(json.dumps({"jsonrpc": "2.0", "method": "subscribe", "id": 0,
                                                      "params": {"query": NEW_BLOCK}}))
                    ack = json.loads(await ws.get_message())
                if "error" in ack:
                    raise ValueError(f"subscribe refused: {ack['error']}")
                self.ws_connected, self.ws_error = True, ""
                await self.poll_head_now()  # what was missed while the socket was down
                try:
                    while True:
                        event = json.loads(await ws.get_message())
                        height = int(event["result"]["data"]["value"]["block"]["header"]["height"])
                        try:
                            await self._observe(height, "websocket")
                        except StoreError as exc:
                            log.warning("chain %s: head not recorded: %s", self.name, exc)
                finally:
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def poll_head_now(self) -> None:
        status: Status = await self.rpc.status()
        await self._observe(status.height, "status")

    async def aclose(self) -> None:
        await self.rpc.aclose()

    async def status(self) -> list[Chain]:
        detail: dict[str, Any] = {
            "network": self.network, "version": self.version, "endpoints": self.rpc.stats(), "error": self.error,
            "websocket": {"enabled": self.settings.websocket, "connected": self.ws_connected,
                          "error": self.ws_error, "reconnects": self.ws_reconnects},
            "transactions": await self.txs.store.read(txledger.counts, self.name),
            "signers": self.addresses}
        lag = None if self.head_time is None else round(max(0.0, time.time() - self.head_time), 2)
        return [Chain(name=self.name, kind=self.kind, head=self.head, head_hash=None, lag_s=lag, detail=detail)]
