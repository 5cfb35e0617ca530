"""One batch at a time: the items that tasks hand in while a batch is being processed gather into
the next one, which goes as soon as that one is done — no timer, and the busier it is the larger
the batches. The store's keyed lookups, the EVM signer's sends and the Cosmos signer's sends are
batched this way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import trio

T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    def __init__(self) -> None:
        self.items: list[T] = []
        self.results: list[R | Exception] = []
        self.error: Exception | None = None
        self.done = trio.Event()


class Gathered(Generic[T, R]):
    """``await add(item)`` → ``item``'s result from ``process(items)``, which answers a batch with
    one result per item, in order (an exception in an item's place is raised to that item's
    caller; an exception from ``process`` to every caller of its batch). Batches run one after
    another in a system task, so a cancelled caller fails nobody else's; when the run ends,
    ``stopping()`` is raised to the callers still waiting."""

    def __init__(self, process: Callable[[list[T]], Awaitable[list[R | Exception]]],
                 stopping: Callable[[], Exception]) -> None:
        self.process, self.stopping = process, stopping
        self._gathering: _Batch[T, R] | None = None  # the batch new items join
        self._running = False

    async def add(self, item: T) -> R:
        batch = self._gathering
        if batch is None:
            batch = self._gathering = _Batch()
            if not self._running:
                self._running = True
                trio.lowlevel.spawn_system_task(self._run)
        place = len(batch.items)
        batch.items.append(item)
        await batch.done.wait()
        result = batch.error or batch.results[place]
        if isinstance(result, Exception):
            raise result
        return result

    async def _run(self) -> None:
        batch = None
        try:
            while self._gathering is not None:
                await trio.lowlevel.checkpoint()  # the tasks made ready with the first caller add theirs
                batch, self._gathering = self._gathering, None
                try:
                    batch.results = await self.process(batch.items)
                except Exception as exc:  # noqa: BLE001 - each caller of the batch raises it
                    batch.error = exc
                batch.done.set()
        finally:  # cancelled (the run is ending): nobody waits forever
            self._running = False
            for left in (batch, self._gathering):
                if left is not None and not left.done.is_set():
                    left.error = self.stopping()
                    left.done.set()
            self._gathering = None
