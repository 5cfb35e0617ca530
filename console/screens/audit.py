"""The audit log: every operator action, newest first, live."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from console import format
from console.errors import ConsoleError
from console.format import ago
from console.screens.base import LiveScreen
from console.widgets.tables import sync_rows
from engine.schema import AuditRecord, Event

SHOWN = 500


class AuditScreen(LiveScreen):
    SCOPE = "audit"
    AUTO_FOCUS = "#audit"

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        yield Label(f"Audit log (newest {SHOWN})", classes="section")
        yield DataTable(id="audit", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#audit", DataTable).add_columns("#", "WHEN", "ACTOR", "ACTION", "TARGET", "REASON")

    def resync(self) -> None:
        self.load()

    def show_events(self, events: list[Event]) -> None:
        if any(e.type in ("audit", "estop", "pool.state") for e in events):
            self.load()

    @work(exclusive=True, group="audit")
    async def load(self) -> None:
        try:
            page = await self.shiftboss.api.audit(limit=SHOWN)
        except ConsoleError as exc:
            self.notify(f"audit: {exc}", severity="error")
            return
        now = format.clock()
        sync_rows(self.query_one("#audit", DataTable), {str(r.id): _row(r, now) for r in page.records},
                  order=lambda cells: int(cells[0]), reverse=True)


def _row(r: AuditRecord, now: float) -> list[str]:
    return [str(r.id), time.strftime("%m-%d %H:%M:%S", time.localtime(r.ts)) + f" ({ago(r.ts, now)})",
            r.actor, r.action, r.target, r.reason]
