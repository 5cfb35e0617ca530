"""``python -m console.bench --attach SOCKET``: the console measuring itself against a live engine
(``shiftboss bench console`` prepares that engine: 100,000 jobs in the store, events streaming).

It runs the production app headless and sends keys the way a terminal would (straight to the
driver, without Pilot's settle-waits), then times key → the first rendered frame whose visible rows
are all fresh answers to the new view. Prints one JSON object: p50/p99 per interaction, RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

from textual import events

from console.api import Target
from console.app import ShiftbossApp, make_app
from console.screens.jobs import JobsScreen
from console.widgets.job_table import JobTable

FRAME_TIMEOUT_S = 10.0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def key_to_fresh_frame(app: ShiftbossApp, key: str) -> float:
    """Seconds from a key press to a rendered frame showing fresh rows of the jobs table."""
    assert app._driver is not None
    began = time.perf_counter()
    stamp = time.monotonic()
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
    deadline = began + FRAME_TIMEOUT_S
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.0005)
        screen = app.screen
        if isinstance(screen, JobsScreen):
            tables = screen.query(JobTable)  # empty until the screen has composed (its first opening)
            if tables and tables.first().fresh_frame_at > stamp:
                return tables.first().fresh_frame_at - stamp
    raise TimeoutError(f"no fresh frame within {FRAME_TIMEOUT_S} s after {key!r}")


async def measure(target: Target, samples: int, size: tuple[int, int]) -> dict[str, Any]:
    app = make_app(target, actor="bench")
    out: dict[str, Any] = {}
    async with app.run_test(size=size) as pilot:
        while app.snapshot is None:  # noqa: ASYNC110 - polling UI state, which has no event to wait on
            await asyncio.sleep(0.05)
        await pilot.pause(0.5)
        for _ in range(100):  # as an operator reading the dashboard: the jobs screen gets built meanwhile
            try:
                if app.get_screen_stack("jobs")[0].is_mounted:
                    break
            except (KeyError, IndexError):
                pass
            await asyncio.sleep(0.05)
        open_jobs, page_down, filters = [], [], []
        first = await key_to_fresh_frame(app, "j")  # the first opening: the screen swaps in, its first page is re-read
        table = app.screen.query_one(JobTable)
        out["jobs_in_store"] = table.window.total
        for _ in range(samples):  # warm: back to the dashboard and in again (the view is re-read)
            app._driver.send_message(events.Key("d", "d"))  # type: ignore[union-attr]
            while isinstance(app.screen, JobsScreen):  # noqa: ASYNC110 - as above
                await asyncio.sleep(0.001)
            await pilot.pause(0.05)
            open_jobs.append(await key_to_fresh_frame(app, "j"))
        table = app.screen.query_one(JobTable)
        table.focus()
        for _ in range(samples * 2):
            page_down.append(await key_to_fresh_frame(app, "pagedown"))
            await asyncio.sleep(0.02)
        out["cursor_row"] = table.cursor
        for _ in range(samples):
            filters.append(await key_to_fresh_frame(app, "s"))
            await asyncio.sleep(0.02)
        out["rss_mb"] = rss_mb()
        out["events_received"] = app.events_received
    out["first_open_ms"] = first * 1000
    for name, values in (("open_jobs", open_jobs), ("page_down", page_down), ("filter", filters)):
        ms = [v * 1000 for v in values]
        out[name] = {"n": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
                     "max_ms": max(ms), "mean_ms": statistics.fmean(ms)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench", description=__doc__)
    parser.add_argument("--attach", required=True, help="engine Unix socket")
    parser.add_argument("--samples", type=int, default=30, help="key presses per interaction (page down: twice)")
    parser.add_argument("--size", default="120x40", help="terminal size, COLSxROWS")
    args = parser.parse_args(argv)
    cols, rows = (int(x) for x in args.size.split("x"))
    result = asyncio.run(measure(Target(args.attach), args.samples, (cols, rows)))
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
