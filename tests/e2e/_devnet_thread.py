"""Devnets served from their own Trio thread for tests that drive engine processes from
synchronous code (kill -9, restart), and a polling wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import trio


class DevnetThread:
    """Runs each of ``parts`` (devnets with an ``async run(*, task_status)``) in one Trio run on a
    thread; ``urls`` holds what each reported; ``call`` runs a function on that thread."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts
        self.urls: list[Any] = []
        self.ready = threading.Event()
        self.token: Any = None
        self._stop: Any = None
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        async with trio.open_nursery() as nursery:
            self.urls = [await nursery.start(part.run) for part in self.parts]
            self.token, self._stop = trio.lowlevel.current_trio_token(), nursery.cancel_scope.cancel
            self.ready.set()

    def call(self, fn: Any, *args: Any) -> Any:
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)

    def __enter__(self) -> DevnetThread:
        self.thread.start()
        assert self.ready.wait(20), "the devnets did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self._stop)
        self.thread.join(10)


def wait_until(check: Callable[[], Any], within: float, what: str) -> Any:
    """``check()``'s first truthy value, polled every 50 ms; fails after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")
