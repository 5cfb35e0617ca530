"""The live feed: the event stream (resumed by sequence number after any drop) and a slow poll of
status, workers and chains. Both run as Textual workers of the app and reach the UI only as
messages (:mod:`console.messages`); the UI never waits on the network.

- Events are buffered and flushed about ten times a second as one :class:`EventsArrived`.
- A dropped stream posts ``ConnectionChanged(ok=False)``, then retries with backoff (0.25 s →
  5 s) from the last sequence number it delivered; ``stream.reset`` (too far behind) posts
  :class:`Resync`.
- The poll re-arms itself with ``set_timer`` after each read finishes (never two at once), runs
  early when events suggest the figures moved, and skips while frozen or under a modal.
"""

from __future__ import annotations

import asyncio
import time

from textual import work
from textual.app import App, ScreenStackError
from textual.screen import ModalScreen
from textual.timer import Timer

from console.api import EngineApi
from console.errors import ApiError, ConsoleError, Unreachable
from console.messages import ConnectionChanged, EventsArrived, Resync, Snapshot
from engine.schema import Event

POLL_S = 2.0  # fallback poll; events pull it forward
FLUSH_S = 0.1
MIN_POLL_GAP_S = 0.5


class LiveFeed(App[None]):
    """The part of the app that keeps it live. ``api`` and ``frozen`` are set by the app."""

    api: EngineApi
    frozen: bool
    connected: bool
    last_seq: int | None
    database_id: str | None = None  # the engine's database, as its status named it

    def start_feed(self, since: int | None = None) -> None:
        """Follow events after ``since`` (None: from the engine's present, once it answers)."""
        self.last_seq = since
        self.events_received = 0
        self.gaps = 0
        self._buffer: list[Event] = []
        self._poll_due = False
        self._last_poll = 0.0
        self._poll_timer: Timer | None = None
        self.set_interval(FLUSH_S, self._flush_events)
        self._stream()
        self.poll_now()

    # --- events -----------------------------------------------------------------------------

    @work(exclusive=True, group="events")
    async def _stream(self) -> None:
        delay = 0.25
        while True:
            try:
                if self.last_seq is None:  # not attached yet: start from the engine's present
                    status = await self.api.status()
                    self.last_seq, self.database_id = status.last_seq, status.database_id or None
                    self.post_message(Resync())
                async for event in self.api.events(self.last_seq, self.database_id):
                    if not self.connected:
                        self.connected = True
                        delay = 0.25
                        self.post_message(ConnectionChanged(True))
                        self.poll_now()
                    if event.type == "stream.heartbeat":
                        continue
                    if event.type == "stream.reset":  # too far behind, ahead, or another database
                        self.last_seq = event.seq
                        self.database_id = event.data.get("database") or self.database_id
                        self.post_message(Resync())
                        continue
                    if event.seq != self.last_seq + 1:
                        self.gaps += 1  # the engine's seqs have no gaps: something was lost, re-read
                        self.post_message(Resync())
                    self.last_seq = event.seq
                    self.events_received += 1
                    self._buffer.append(event)
            except Unreachable as exc:
                detail = str(exc)
            except ApiError as exc:
                detail = f"event stream refused: {exc}"
            if self.connected:
                self.connected = False
                self.post_message(ConnectionChanged(False, detail))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _flush_events(self) -> None:
        if not self._buffer:
            return
        events, self._buffer = self._buffer, []
        self._poll_due = True
        if not self.frozen:
            self.post_message(EventsArrived(events))
        if time.monotonic() - self._last_poll > MIN_POLL_GAP_S:
            self.poll_now()

    # --- the poll ---------------------------------------------------------------------------

    def _under_modal(self) -> bool:
        try:
            return isinstance(self.screen, ModalScreen)
        except ScreenStackError:
            return True  # no screen to show it on: skip this round

    def poll_now(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self._poll()

    @work(exclusive=True, group="poll-status")
    async def _poll(self) -> None:
        if not (self.frozen or self._under_modal()):
            self._last_poll = time.monotonic()
            try:
                status, workers, chains = await asyncio.gather(self.api.status(), self.api.workers(),
                                                               self.api.chains())
                self.post_message(Snapshot(status, status.pools, workers.workers, chains.chains, time.monotonic()))
            except ConsoleError:
                pass  # the stream reports the connection; the next poll tries again
        # Not in a finally: a poll cancelled by poll_now() leaves the re-arming to its successor.
        self._poll_timer = self.set_timer(POLL_S, self._poll)
