"""What every live screen shares: the status bar, the footer, its slice of the action table, and
read-only mode hiding every mutating action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from console import actions
from console.messages import Snapshot
from console.widgets.status_bar import StatusBar
from engine.schema import Event

if TYPE_CHECKING:
    from console.app import ShiftbossApp


class LiveScreen(Screen[None]):
    SCOPE = "app"

    @property
    def shiftboss(self) -> ShiftbossApp:
        return self.app  # type: ignore[return-value]

    def compose_bar(self) -> ComposeResult:
        yield StatusBar(id="status-bar")

    def compose_footer(self) -> ComposeResult:
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.shiftboss.read_only and action in actions.MUTATING:
            return False
        return True

    def on_screen_resume(self) -> None:
        self.shiftboss.refresh_bar()
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

    def request(self, *args: Any, **kwargs: Any) -> None:
        self.shiftboss.act(*args, **kwargs)
