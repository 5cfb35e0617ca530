"""What every chain adapter's ``run`` does the same way: connect, retrying while no endpoint
answers (the engine starts anyway: the adapter shows why), then poll heads forever, showing a
failed poll and trying again (a head the store could not record is seen again next poll)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, Protocol, TypeVar

import trio

from engine.errors import ChainError, StoreError

log = logging.getLogger("shiftboss.chains")
T = TypeVar("T")


class Watched(Protocol):
    name: str
    error: str  # why the adapter is not following its chain right now ("" when it is)

    async def poll_head(self) -> None: ...


async def connect_until(adapter: Watched, connect: Callable[[], Awaitable[T | None]], interval: float,
                        task_status: trio.TaskStatus[None]) -> T:
    """``connect()``'s first answer that is not None. Reports the adapter started after the first
    try either way; ``connect`` sets ``adapter.error`` when it gets no answer, and what it raises
    (a wrong chain) stops the start."""
    found = await connect()
    if found is None:
        log.warning("chain %s: %s (retrying)", adapter.name, adapter.error)
    task_status.started()
    while found is None:
        await trio.sleep(interval)
        found = await connect()
    return found


async def watch_heads(adapter: Watched, interval: float) -> NoReturn:
    while True:
        try:
            await adapter.poll_head()
            adapter.error = ""
        except ChainError as exc:
            adapter.error = str(exc)
            log.warning("chain %s: head watcher: %s", adapter.name, exc)
        except StoreError as exc:
            log.warning("chain %s: head not recorded: %s", adapter.name, exc)
        await trio.sleep(interval)
