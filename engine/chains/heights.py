"""The one heights book: the head of every chain the engine follows, for jobs gated on a height
(``pow.structs`` waits for a block age).

Chain adapters' head watchers feed it (:meth:`Heights.observe`); an operator or a test can set a
height by hand through the manual source (:class:`~engine.chains.manual.ManualHeights`).
Every new height is persisted (it survives a restart), published as a ``chain.head`` event,
queues the waiting jobs whose gate it meets, and wakes handlers waiting for a new block — all
in one commit. Hand-set heights are audited too.

Engines sharing a PostgreSQL store each watch their chains (their own senders need the head),
but one at a time records a chain's heads — the holder of the lease ``chain.head:<chain>``,
taken at the first head after it lapses; the others learn the heights from its ``chain.head``
events, as they learn hand-set ones.
"""

from __future__ import annotations

from typing import Any

import trio

from engine.errors import Invalid
from engine.schema import Chain, Event
from engine.store import Store, ops

LEASE_S = 10.0  # a head recorder that stopped is replaced within this (by the next engine to see a head)


class Heights:
    def __init__(self, store: Store, controls: dict[str, dict[str, Any]], *, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.lease_s = lease_s
        self._heights: dict[str, dict[str, Any]] = {
            value["chain"]: value for key, value in controls.items() if key.startswith("height:")
        }
        self._changed = trio.Event()
        store.writer.on_commit(self._on_commit)

    def _on_commit(self, events: list[Event]) -> None:
        """Heights other engines recorded (and our own, again)."""
        for e in events:
            if e.type == "chain.head" and e.data.get("chain"):
                known = self._heights.get(e.data["chain"])
                if known is None or known.get("height") != e.data.get("height"):
                    self._note(dict(e.data))

    def leads(self, chain: str) -> bool:
        """Whether this engine records ``chain``'s heads (and runs what goes with them: scans)."""
        return self.store.leads(f"chain.head:{chain}")

    def get(self, chain: str) -> int | None:
        entry = self._heights.get(chain)
        return None if entry is None else int(entry["height"])

    def current(self) -> dict[str, int]:
        return {chain: int(entry["height"]) for chain, entry in self._heights.items()}

    async def observe(self, chain: str, height: int, *, source: str, **detail: Any) -> list[str]:
        """A head watcher saw ``chain`` at ``height`` (``detail``: ``hash``, ``lag_s`` …, carried in
        the ``chain.head`` event). Returns the ids of waiting jobs it queued. An engine that does
        not hold the chain's head lease only notes the height for its own jobs."""
        if not await self.store.lead(f"chain.head:{chain}", self.lease_s):
            self._note({"chain": chain, "height": height, "since": self.store.clock(), "source": source, **detail})
            return []
        return await self._record(chain, height, source, None, "", detail)

    async def set(self, chain: str, height: int, actor: str, reason: str = "") -> list[str]:
        """Set a height by hand (audited). Returns the ids of waiting jobs it queued."""
        if not chain or len(chain) > 64:
            raise Invalid("chain: 1 to 64 characters", field="chain")
        if height < 0:
            raise Invalid("height: must not be negative", field="height")
        return await self._record(chain, height, "manual", actor, reason, {})

    async def reorg(self, chain: str, depth: int, fork_block: int) -> None:
        """A watcher found that ``chain`` reorganised: publish ``chain.reorg`` (the engine that
        records the chain's heads does)."""
        if not self.leads(chain):
            return
        await self.store.write(ops.emit_only, "chain.reorg", chain=chain, depth=depth, fork_block=fork_block)

    async def _record(self, chain: str, height: int, source: str, actor: str | None, reason: str,
                      detail: dict[str, Any]) -> list[str]:
        value = {"chain": chain, "height": height, "since": self.store.clock(), "source": source, **detail}
        queued = await self.store.write(ops.record_height, value, actor, reason)
        self._note(value)
        return queued

    def _note(self, value: dict[str, Any]) -> None:
        self._heights[value["chain"]] = value
        self._changed, changed = trio.Event(), self._changed
        changed.set()

    async def wait_change(self) -> None:
        """Return at the next height change of any chain."""
        await self._changed.wait()

    def chains(self, source: str | None = None) -> list[Chain]:
        """The book's entries (only those from ``source``, if given), by chain name."""
        return [Chain(name=chain, kind=entry.get("source", "manual"), head=int(entry["height"]),
                      detail={"updated_at": entry.get("since")})
                for chain, entry in sorted(self._heights.items())
                if source is None or entry.get("source", "manual") == source]
