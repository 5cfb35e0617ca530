"""Messages: engine data going to the UI (workers post them, screens handle them), and the
requests screens send up to the app (open a job, run an engine action, redraw the bar)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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


# --- requests from screens up to the app ------------------------------------------------------


@dataclass
class OpenJob(Message):
    """Show this job's detail screen."""

    job_id: str


@dataclass
class ActionRequested(Message):
    """Run one engine call off the UI path and report how it went (``then`` gets its result)."""

    what: str
    call: Callable[[], Awaitable[Any]]
    then: Callable[[Any], Any] | None = None
    quiet: bool = False


@dataclass
class JobActionRequested(Message):
    """Retry or cancel one job (a cancel asks for confirmation first); ``then`` runs after it."""

    job_id: str
    action: str
    then: Callable[[], Any] | None = None


class BarStale(Message):
    """The status bar should show the app's current state (a screen came up)."""
