"""The audit log: every operator action, newest first, live."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from console import actions, format
from console.errors import ConsoleError
from console.format import ago
from console.screens.base import LiveScreen
from console.widgets.tables import sync_rows
from engine.schema import AuditRecord, Event

PAGE = 500


class AuditScreen(LiveScreen):
    SCOPE = "audit"
    AUTO_FOCUS = "#audit"
    BINDINGS = actions.bindings("audit")

    def __init__(self) -> None:
        super().__init__()
        self.operator_only = True  # what operators did stays findable among automatic records
        self.pages = 1

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        yield Label(self._title(), id="audit-title", classes="section")
        yield DataTable(id="audit", cursor_type="row")
        yield from self.compose_footer()

    def _title(self) -> str:
        who = "operator actions" if self.operator_only else "every record"
        return f"Audit log: {who}, newest {PAGE * self.pages} (o: {'show all' if self.operator_only else 'operators only'}, m: more)"

    def on_mount(self) -> None:
        self.query_one("#audit", DataTable).add_columns("#", "WHEN", "ACTOR", "ACTION", "TARGET", "REASON")

    def action_toggle_operator(self) -> None:
        self.operator_only = not self.operator_only
        self.pages = 1
        self.load()

    def action_more(self) -> None:
        self.pages += 1
        self.load()

    def resync(self) -> None:
        self.load()

    def show_events(self, events: list[Event]) -> None:
        if any(e.type in ("audit", "estop", "pool.state") for e in events):
            self.load()

    @work(exclusive=True, group="audit")
    async def load(self) -> None:
        records: list[AuditRecord] = []
        cursor: str | None = None
        try:
            for _ in range(self.pages):
                page = await self.shiftboss.api.audit(limit=PAGE, cursor=cursor, operator=self.operator_only)
                records += page.records
                cursor = page.next_cursor
                if cursor is None:
                    break
        except ConsoleError as exc:
            self.notify(f"audit: {exc}", severity="error")
            return
        now = format.clock()
        self.query_one("#audit-title", Label).update(self._title())
        sync_rows(self.query_one("#audit", DataTable), {str(r.id): _row(r, now) for r in records},
                  order=lambda cells: int(cells[0]), reverse=True)


def _row(r: AuditRecord, now: float) -> list[str]:
    return [str(r.id), time.strftime("%m-%d %H:%M:%S", time.localtime(r.ts)) + f" ({ago(r.ts, now)})",
            r.actor, r.action, r.target, r.reason]
