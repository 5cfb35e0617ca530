"""What every chain's transaction sender shares: waiting until a transaction is final (woken by
the tracker whenever it changed something), and the tracker's loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypeVar

import trio

from engine.errors import ChainError, JobFailure, StoreError
from engine.store import Store

R = TypeVar("R")
log = logging.getLogger("shiftboss.chains")


class TxWaiter(Generic[R]):
    """Mixed into a sender: it sets ``chain`` and ``store`` and implements :meth:`track`; its
    records have a ``state`` (``success`` and ``failed`` are final)."""

    chain: str
    store: Store
    #: the ledger's ``by_id(conn, tx_id)``
    by_id: Callable[[Any, str], R | None]
    #: the exception for a failed record
    failure: Callable[[R], Exception]

    def __init__(self) -> None:
        self._changed = trio.Event()

    async def wait(self, tx_id: str, within: float = 120.0) -> R:
        """Until the transaction succeeded (returned) or failed (``failure`` raised). Not within
        ``within`` seconds: a retryable failure — the transaction stays tracked."""
        return await self.wait_final(tx_id, within)

    def final(self, record: R) -> R | None:
        state = getattr(record, "state", None)
        if state == "failed":
            raise type(self).failure(record)
        return record if state == "success" else None

    async def track(self) -> None:
        raise NotImplementedError

    async def wait_final(self, tx_id: str, within: float, *, code: str = "tx_timeout", what: str = "final") -> R:
        """Until :meth:`final` says so. Not within ``within`` seconds: a retryable failure — the
        transaction stays tracked."""
        with trio.move_on_after(within):
            while True:
                record = await self.store.read(type(self).by_id, tx_id)
                if record is None:
                    raise ChainError(f"no transaction {tx_id}")
                done = self.final(record)
                if done is not None:
                    return done
                event = self._changed
                with trio.move_on_after(1.0):
                    await event.wait()
        raise JobFailure(f"{tx_id} not {what} within {within:g} s; it is still tracked", code=code)

    def _poke(self) -> None:
        """Wake every waiter: something changed."""
        self._changed.set()
        self._changed = trio.Event()

    async def run(self, *, interval: float = 1.0,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        task_status.started()
        while True:
            try:
                await self.track()
            except (ChainError, StoreError) as exc:  # both retried on the next tick
                log.warning("%s: tracking transactions: %s", self.chain, exc)
            await trio.sleep(interval)
