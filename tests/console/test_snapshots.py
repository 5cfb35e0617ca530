"""Snapshots of the main screens at fixed sizes, fed from fixed data (``fixed_engine``) with the
console's clock pinned, so they only change when the screens do. After a deliberate change:
``pytest tests/console/test_snapshots.py --snapshot-update``, then look at the SVGs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Select

from console import format as console_format
from console import live, make_app
from console.api import Target
from console.screens import dashboard
from tests.console import fixed_engine
from tests.console.conftest import eventually


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(console_format, "clock", lambda: fixed_engine.NOW)
    monkeypatch.setattr(live, "POLL_S", 3600.0)  # one snapshot: sparklines don't grow mid-test
    monkeypatch.setattr(dashboard, "ATTENTION_S", 3600.0)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fixed_app(**kwargs: Any):  # type: ignore[no-untyped-def]
    return make_app(Target("/run/shiftboss/engine.sock"), actor="snap", transport=fixed_engine.transport(**kwargs))


async def settled(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await eventually(lambda: app.snapshot is not None and app.snapshot.workers)
    await pilot.pause(0.2)


async def on_jobs(pilot) -> None:  # type: ignore[no-untyped-def]
    await settled(pilot)
    await pilot.press("j")
    await eventually(lambda: getattr(pilot.app.screen, "table", None) is not None
                     and pilot.app.screen.table.window.counted)
    await pilot.press("down")
    await pilot.pause(0.2)


class TestDashboard:
    def test_dashboard(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await eventually(lambda: len(pilot.app.screen.query_one("#attention").rows) > 2)
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(), terminal_size=(120, 32), run_before=run_before)

    def test_dashboard_at_80x24_with_an_estop(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await eventually(lambda: len(pilot.app.screen.query_one("#attention").rows) > 2)
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(estop=True), terminal_size=(80, 24), run_before=run_before)


class TestJobs:
    def test_jobs_table(self, snap_compare: Any) -> None:
        assert snap_compare(fixed_app(), terminal_size=(120, 32), run_before=on_jobs)

    def test_job_detail(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await on_jobs(pilot)
            await pilot.press("enter")
            await eventually(lambda: getattr(pilot.app.screen, "detail", None) is not None)
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(), terminal_size=(100, 40), run_before=run_before)


class TestActions:
    def test_trigger_form(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("t")
            screen = await eventually(lambda: getattr(pilot.app.screen, "kinds", None) and pilot.app.screen)
            screen.query_one("#kind", Select).value = "sleep"
            await eventually(lambda: screen.query("#field-seconds"))
            await pilot.press("enter")  # empty required field → inline error
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(), terminal_size=(100, 30), run_before=run_before)

    def test_estop_dialog(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("ctrl+s", *"bad payout", "enter")
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(), terminal_size=(100, 30), run_before=run_before)

    def test_help(self, snap_compare: Any) -> None:
        async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
            await settled(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.2)
        assert snap_compare(fixed_app(), terminal_size=(120, 50), run_before=run_before)
