"""What every chain's transaction sender shares: waiting until a transaction is final (woken by
the tracker whenever it changed something), and the tracker's loop."""

from __future__ import annotations

import logging
import time
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
    #: the ledger's ``by_ids(conn, tx_ids) → {tx_id: record}`` (for :meth:`Store.lookup`)
    by_ids: Callable[[Any, list[str]], dict[str, R]]
    #: the exception for a failed record
    failure: Callable[[R], Exception]
    #: the ledger's ``update(tx, record, **changes)``
    update: Callable[..., R]
    #: what the node raises when it refuses a transaction outright (handed to :meth:`_refused`)
    refusal: type[Exception] = Exception

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
                record = await self.store.lookup(type(self).by_ids, tx_id)
                if record is None:
                    raise ChainError(f"no transaction {tx_id}")
                done = self.final(record)
                if done is not None:
                    return done
                event = self._changed
                with trio.move_on_after(1.0):
                    await event.wait()
        raise JobFailure(f"{tx_id} not {what} within {within:g} s; it is still tracked", code=code)

    async def _submit(self, record: R) -> None:
        """Hand the record's signed bytes to a node (the chain's own call)."""
        raise NotImplementedError

    async def _refused(self, record: R, exc: Exception) -> None:
        raise NotImplementedError

    async def _broadcast(self, record: R) -> None:
        """Send ``record`` (again): ``sent`` once a node took it; refused → :meth:`_refused`; no
        node answering leaves it for the tracker to send again."""
        tries = getattr(record, "tries", 0) + 1
        try:
            await self._submit(record)
        except ChainError as exc:
            if isinstance(exc, type(self).refusal):
                await self._refused(record, exc)
            else:  # nobody answered: the tracker sends it again
                await self.store.write(type(self).update, record, tries=tries, sent_at=time.time(), error=str(exc))
        else:
            await self.store.write(type(self).update, record, state="sent", tries=tries, sent_at=time.time(), error=None)
        self._poke()

    def _poke(self) -> None:
        """Wake every waiter: something changed."""
        self._changed.set()
        self._changed = trio.Event()

    async def run(self, *, interval: float = 1.0,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """The tracker. Engines sharing a PostgreSQL store track a chain's transactions on one
        engine at a time (a lease, held for ``5 × interval`` and renewed every tick): two
        trackers would send again or re-sign the same transaction twice."""
        task_status.started()
        lease = f"{type(self).__name__}.tracker:{self.chain}"
        while True:
            try:
                if await self.store.lead(lease, max(5.0, 5 * interval)):
                    await self.track()
            except (ChainError, StoreError) as exc:  # both retried on the next tick
                log.warning("%s: tracking transactions: %s", self.chain, exc)
            await trio.sleep(interval)
