"""What every live screen shares: the status bar, the footer, its slice of the action table, and
read-only mode hiding every mutating action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen

from console import actions
from console.host import ConsoleHost, host
from console.messages import ActionRequested, BarStale, JobActionRequested, OpenJob, Snapshot
from console.widgets.footer import KeyFooter
from console.widgets.status_bar import StatusBar
from engine.schema import Event


class LiveScreen(Screen[None]):
    SCOPE = "app"

    @property
    def shiftboss(self) -> ConsoleHost:
        return host(self.app)

    def compose_bar(self) -> ComposeResult:
        yield StatusBar(id="status-bar")

    def compose_footer(self) -> ComposeResult:
        yield KeyFooter(self.SCOPE)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.shiftboss.read_only and action in actions.MUTATING:
            return False
        return True

    def on_screen_resume(self) -> None:
        self.post_message(BarStale())
        if self.shiftboss.snapshot is not None:
            self.show_snapshot(self.shiftboss.snapshot)
        self.resync()

    # what the app pushes to the screen on top ----------------------------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Fresh status, pools, workers and chains."""

    def show_events(self, events: list[Event]) -> None:
        """A batch of events, in order."""

    def resync(self) -> None:
        """Re-read everything this screen shows (events may have been missed)."""

    # what the screen asks of the app ---------------------------------------------------------

    def request(self, what: str, call: Callable[[], Awaitable[Any]], then: Callable[[Any], Any] | None = None,
                quiet: bool = False) -> None:
        """Run an engine call off the UI path; the app reports how it went."""
        self.post_message(ActionRequested(what, call, then, quiet))

    def open_job(self, job_id: str) -> None:
        self.post_message(OpenJob(job_id))

    def job_action(self, job_id: str, action: str, then: Callable[[], Any] | None = None) -> None:
        self.post_message(JobActionRequested(job_id, action, then))
