"""Messages that carry engine data to the UI. Workers post them; screens handle them."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from engine.schema import Chain, Event, Pool, Status, Worker


@dataclass
class Snapshot(Message):
    """A fresh read of status, pools, workers and chains. Only the newest one matters."""

    status: Status
    pools: list[Pool]
    workers: list[Worker]
    chains: list[Chain]
    at: float  # time.monotonic() of the read

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Snapshot)


@dataclass
class EventsArrived(Message):
    """A batch of events from the stream (about 10 batches a second at most), in order."""

    events: list[Event]


@dataclass
class ConnectionChanged(Message):
    """The link to the engine went down (``ok`` false, with why) or came back."""

    ok: bool
    detail: str = ""


@dataclass
class Resync(Message):
    """The engine could not replay every missed event (or the console was frozen): re-read everything."""
