"""Console tests run on asyncio (Textual's loop): a real engine as a subprocess on a temp Unix
socket, the production ``make_app()`` driven by Pilot, and a sync client to set up and check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from engine.client import Client
from engine.lifecycle import EngineProcess

T = TypeVar("T")

ENGINE_CONFIG = """
[engine]
grace_period = 0.5
[pools.default]
concurrency = 4
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    proc = EngineProcess(tmp_path / "engine", ENGINE_CONFIG).start()
    try:
        yield proc
    finally:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.terminate(30)


@pytest.fixture
def client(engine: EngineProcess) -> Iterator[Client]:
    with engine.client() as c:
        yield c


async def eventually(check: Callable[[], T | Awaitable[T]], within: float = 10.0, what: str = "") -> T:
    """Poll ``check`` (sync or async, run on the app's loop) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what or check}")
        await asyncio.sleep(0.05)



async def open_trigger(app, pilot, kind: str):  # type: ignore[no-untyped-def]
    """From the dashboard, open the trigger form (``t``) and pick ``kind``; the form's screen."""
    from textual.widgets import Select

    from console.screens.dashboard import DashboardScreen
    from console.screens.trigger import TriggerScreen

    await eventually(lambda: isinstance(app.screen, DashboardScreen) and app.snapshot is not None)
    await pilot.press("t")
    screen = await eventually(lambda: isinstance(app.screen, TriggerScreen) and app.screen)
    await eventually(lambda: kind in screen.kinds, what="kinds listed")
    screen.query_one("#kind", Select).value = kind
    return screen
