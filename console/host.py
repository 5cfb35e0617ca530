"""What screens may read of the app that hosts them — attributes down. Requests go up as messages
(:mod:`console.messages`: ``OpenJob``, ``JobActionRequested``, ``ActionRequested``,
``BarStale``); no screen or widget imports :mod:`console.app`."""

from __future__ import annotations

from typing import Protocol, cast

from textual.app import App

from console.api import EngineApi
from console.messages import Snapshot


class ConsoleHost(Protocol):
    #: the engine's API client (one per app)
    api: EngineApi
    #: hide every action that changes the engine
    read_only: bool
    #: the operator froze the live views
    frozen: bool
    #: the newest status/pools/workers/chains read, once there is one
    snapshot: Snapshot | None


def host(app: App[object]) -> ConsoleHost:
    """The app as the state screens read (the console's one app class provides every field)."""
    return cast(ConsoleHost, app)
