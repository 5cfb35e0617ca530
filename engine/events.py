"""Fan-out of committed events to live subscribers, and the resumable stream built on it.

The writer publishes each commit's events here after they are durable. A subscriber that
falls behind (its bounded buffer fills) is dropped rather than slowing the engine; the
stream then catches up from the database, so a client never misses an event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import trio

from engine.schema import Event
from engine.store import Store, queries

_BUFFER = 1024  # commits buffered per subscriber
_PAGE = 2000
HEARTBEAT_S = 15.0


class Subscription:
    def __init__(self) -> None:
        self.send, self.recv = trio.open_memory_channel[list[Event]](_BUFFER)
        self.overflowed = False


class Broker:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def publish(self, events: list[Event]) -> None:
        for sub in list(self._subs):
            try:
                sub.send.send_nowait(events)
            except trio.WouldBlock:
                sub.overflowed = True
                self._subs.discard(sub)
                sub.send.close()

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        sub.send.close()

    def __len__(self) -> int:
        return len(self._subs)


async def stream(store: Store, broker: Broker, since: int, heartbeat: float = HEARTBEAT_S,
                 job: str | None = None, database: str | None = None) -> AsyncGenerator[Event, None]:
    """Every event after ``since`` (only ``job``'s, if given), in order and without gaps, then
    live ones as they commit.

    A ``stream.reset`` event comes first — re-read the state you show; the stream continues
    after the reset's ``seq`` — when ``since`` is older than the oldest retained event (it
    continues from there), when it lies beyond the newest event, or when ``database`` (the id
    the client saw before) is not this database's (both: from the present). Every reset and
    ``stream.heartbeat`` (carrying the last seq sent; it keeps idle connections alive) names
    the ``database`` id.
    """
    ident = {"database": store.database_id}

    def reset(seq: int, reason: str, **more: Any) -> Event:
        return Event(seq=seq, ts=time.time(), type="stream.reset",
                     data={**ident, "reason": reason, **more, "requested": since})

    if database is not None and database != store.database_id:
        yield reset(store.last_seq, "another database")
        since = store.last_seq
    elif since > store.last_seq:
        yield reset(store.last_seq, "since is beyond the newest event")
        since = store.last_seq
    oldest = await store.read(queries.oldest_event)
    if oldest and since < oldest - 1:
        yield reset(oldest - 1, "older than the retained events", oldest=oldest)
        since = oldest - 1
    while True:
        sub = broker.subscribe()  # subscribe before reading the backlog: nothing falls between
        try:
            while True:
                page = await store.read(queries.events_since, since, _PAGE, job)
                for event in page:
                    yield event
                    since = event.seq
                if len(page) < _PAGE:
                    break
            while True:
                with trio.move_on_after(heartbeat) as idle:
                    try:
                        batch = await sub.recv.receive()
                    except trio.EndOfChannel:
                        break  # we overflowed: catch up from the database
                if idle.cancelled_caught:
                    yield Event(seq=since, ts=time.time(), type="stream.heartbeat", data=ident)
                    continue
                if job is not None:
                    batch = [e for e in batch if e.job_id == job]
                elif batch and batch[0].seq > since + 1 and batch[-1].seq > since:
                    page = await store.read(queries.events_since, since, batch[0].seq - since - 1)
                    for event in page:
                        yield event
                        since = event.seq
                for event in batch:
                    if event.seq > since:
                        yield event
                        since = event.seq
        finally:
            broker.unsubscribe(sub)
