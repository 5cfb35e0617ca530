"""Chain heights the engine knows, for jobs gated on them (``pow.structs`` waits for a block age).

For now heights are set by an operator or a test through the API/CLI (``shiftboss chains
set-height``) — a manual source; the chain watchers of later issues will feed the same book.
Every change is persisted (it survives a restart), audited, published as a ``chain.head``
event, queues the waiting jobs whose gate it meets, and wakes handlers waiting for a new block.
"""

from __future__ import annotations

import time
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

    async def set(self, chain: str, height: int, actor: str, reason: str = "") -> list[str]:
        """Record a new height; returns the ids of waiting jobs it queued."""
        if not chain or len(chain) > 64:
            raise Invalid("chain: 1 to 64 characters", field="chain")
        if height < 0:
            raise Invalid("height: must not be negative", field="height")
        value = {"chain": chain, "height": height, "since": time.time(), "source": "manual"}
        await self.store.write(ops.set_control, f"height:{chain}", value, "chain.head", actor, "set-height",
                               f"chain:{chain}", reason)
        self._heights[chain] = value
        queued = await self.store.write(ops.advance_gates, chain, height)
        self._changed, changed = trio.Event(), self._changed
        changed.set()
        return queued

    async def wait_change(self) -> None:
        """Return at the next height change of any chain."""
        await self._changed.wait()

    def chains(self) -> list[Chain]:
        return [Chain(name=chain, kind=entry.get("source", "manual"), head=int(entry["height"]),
                      detail={"updated_at": entry.get("since")}) for chain, entry in sorted(self._heights.items())]
