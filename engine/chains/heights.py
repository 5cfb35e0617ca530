"""The one heights book: the head of every chain the engine follows, for jobs gated on a height
(``pow.structs`` waits for a block age).

Chain adapters' head watchers feed it (:meth:`Heights.observe`); an operator or a test can set a
height by hand through the manual source (:class:`~engine.chains.manual.ManualHeights`).
Every new height is persisted (it survives a restart), published as a ``chain.head`` event,
queues the waiting jobs whose gate it meets, and wakes handlers waiting for a new block — all
in one commit. Hand-set heights are audited too.
"""

from __future__ import annotations

from typing import Any

import trio

from engine.errors import Invalid
from engine.schema import Chain
from engine.store import Store, ops


class Heights:
    def __init__(self, store: Store, controls: dict[str, dict[str, Any]]) -> None:
        self.store = store
        self._heights: dict[str, dict[str, Any]] = {
            value["chain"]: value for key, value in controls.items() if key.startswith("height:")
        }
        self._changed = trio.Event()

    def get(self, chain: str) -> int | None:
        entry = self._heights.get(chain)
        return None if entry is None else int(entry["height"])

    def current(self) -> dict[str, int]:
        return {chain: int(entry["height"]) for chain, entry in self._heights.items()}

    async def observe(self, chain: str, height: int, *, source: str, **detail: Any) -> list[str]:
        """A head watcher saw ``chain`` at ``height`` (``detail``: ``hash``, ``lag_s`` …, carried in
        the ``chain.head`` event). Returns the ids of waiting jobs it queued."""
        return await self._record(chain, height, source, None, "", detail)

    async def set(self, chain: str, height: int, actor: str, reason: str = "") -> list[str]:
        """Set a height by hand (audited). Returns the ids of waiting jobs it queued."""
        if not chain or len(chain) > 64:
            raise Invalid("chain: 1 to 64 characters", field="chain")
        if height < 0:
            raise Invalid("height: must not be negative", field="height")
        return await self._record(chain, height, "manual", actor, reason, {})

    async def reorg(self, chain: str, depth: int, fork_block: int) -> None:
        """A watcher found that ``chain`` reorganised: publish ``chain.reorg``."""
        await self.store.write(ops.emit_only, "chain.reorg", chain=chain, depth=depth, fork_block=fork_block)

    async def _record(self, chain: str, height: int, source: str, actor: str | None, reason: str,
                      detail: dict[str, Any]) -> list[str]:
        value = {"chain": chain, "height": height, "since": self.store.clock(), "source": source, **detail}
        queued = await self.store.write(ops.record_height, value, actor, reason)
        self._heights[chain] = value
        self._changed, changed = trio.Event(), self._changed
        changed.set()
        return queued

    async def wait_change(self) -> None:
        """Return at the next height change of any chain."""
        await self._changed.wait()

    def chains(self, source: str | None = None) -> list[Chain]:
        """The book's entries (only those from ``source``, if given), by chain name."""
        return [Chain(name=chain, kind=entry.get("source", "manual"), head=int(entry["height"]),
                      detail={"updated_at": entry.get("since")})
                for chain, entry in sorted(self._heights.items())
                if source is None or entry.get("source", "manual") == source]
