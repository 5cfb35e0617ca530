"""The jobs screen: every job in the store through the virtual table, with filters (state, kind,
pool, text), an order, and the actions on one job or on everything the filter shows."""

from __future__ import annotations

import dataclasses

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from console import actions
from console.api import JobQuery
from console.screens.base import LiveScreen
from console.screens.dialogs import AskReason
from console.widgets.job_table import WIDE, JobTable, header_line
from engine.schema import JOB_SORTS, Event

STATE_FILTERS: tuple[tuple[str, ...], ...] = (
    (), ("queued",), ("waiting",), ("running", "cancelling"), ("retrying",), ("failed",), ("completed",),
    ("cancelled", "expired"), ("queued", "waiting", "running", "retrying", "cancelling"),
)
SORT_NAMES = {"-created": "newest", "created": "oldest", "-priority": "priority", "priority": "priority ↑",
              "-updated": "updated", "updated": "updated ↑", "state": "state", "kind": "kind", "pool": "pool"}


def _next(options: list[str] | tuple[str, ...], current: str) -> str:
    items = list(options)
    return items[(items.index(current) + 1) % len(items)] if current in items else items[0]


class JobsScreen(LiveScreen):
    SCOPE = "jobs"
    BINDINGS = actions.bindings("jobs")
    AUTO_FOCUS = "JobTable"

    def __init__(self) -> None:
        super().__init__()
        self.query_state = JobQuery()
        self._kinds: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with Horizontal(id="filter-bar"):
            yield Static("", id="filters")
            yield Input(placeholder="/ search id, kind, payload, error", id="search")
        yield Static("", id="jobs-header")
        yield JobTable(self.shiftboss.api, id="jobs-table")
        yield from self.compose_footer()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def on_mount(self) -> None:
        self.table.set_query(self.query_state)
        self._render_filters()
        self._load_kinds()

    def on_resize(self) -> None:
        outer = self.table.outer_size.width or self.size.width
        self.query_one("#jobs-header", Static).update(header_line(self.table.scrollable_content_region.width or
                                                                  self.size.width, outer >= WIDE))

    def _load_kinds(self) -> None:
        async def load() -> None:
            try:
                self._kinds = [k.name for k in (await self.shiftboss.api.kinds()).kinds]
            except Exception:  # noqa: BLE001 - the kind filter just stays empty
                self._kinds = []
        self.run_worker(load(), group="kinds", exclusive=True)

    # --- live -------------------------------------------------------------------------------

    def _live_table(self) -> JobTable | None:
        """The table, unless the screen is not composed yet or is being torn down (events can
        arrive in both moments: seen as a NoMatches when a test's app closed)."""
        tables = self.query(JobTable) if self.is_mounted else None
        return tables.first() if tables else None

    def show_events(self, events: list[Event]) -> None:
        if (table := self._live_table()) is not None:
            table.apply_events(events)

    def resync(self) -> None:
        if (table := self._live_table()) is not None:
            table.reload()

    @on(JobTable.Changed)
    def _count_changed(self) -> None:
        self._render_filters()

    @on(JobTable.Opened)
    def _open(self, event: JobTable.Opened) -> None:
        self.open_job(event.job_id)

    # --- filters ----------------------------------------------------------------------------

    def set_query(self, query: JobQuery) -> None:
        self.query_state = query
        self.table.set_query(query)
        self._render_filters()

    def _render_filters(self) -> None:
        q = self.query_state
        window = self.table.window
        count = f"{window.total:,} jobs" if window.counted else "counting…"
        self.query_one("#filters", Static).update(
            f"[b]state[/] {','.join(q.state) or 'all'} (s)  [b]kind[/] {q.kind or 'all'} (k)  "
            f"[b]pool[/] {q.pool or 'all'} (l)  [b]sort[/] {SORT_NAMES[q.sort]} (o)  [b]{count}[/]"
        )
        self.on_resize()

    def action_cycle_state(self) -> None:
        current = self.query_state.state
        index = STATE_FILTERS.index(current) if current in STATE_FILTERS else -1
        self.set_query(dataclasses.replace(self.query_state, state=STATE_FILTERS[(index + 1) % len(STATE_FILTERS)]))

    def action_cycle_kind(self) -> None:
        self.set_query(dataclasses.replace(self.query_state, kind=_next(["", *self._kinds], self.query_state.kind)))

    def action_cycle_pool(self) -> None:
        pools = [p.name for p in self.shiftboss.snapshot.pools] if self.shiftboss.snapshot else []
        self.set_query(dataclasses.replace(self.query_state, pool=_next(["", *pools], self.query_state.pool)))

    def action_cycle_sort(self) -> None:
        self.set_query(dataclasses.replace(self.query_state, sort=_next(JOB_SORTS, self.query_state.sort)))

    def action_clear_filter(self) -> None:
        self.query_one("#search", Input).value = ""
        self.set_query(JobQuery(sort=self.query_state.sort))

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.set_query(dataclasses.replace(self.query_state, text=event.value.strip()))
        self.table.focus()

    def key_escape(self) -> None:
        if self.query_one("#search", Input).has_focus:
            self.table.focus()

    # --- actions ----------------------------------------------------------------------------

    def action_open_job(self) -> None:
        self.table.action_open()

    def action_retry(self) -> None:
        job = self.table.current
        if job is not None:
            self.job_action(job.id, "retry")

    def action_cancel(self) -> None:
        job = self.table.current
        if job is not None:
            self.job_action(job.id, "cancel")

    def action_bulk(self, action: str) -> None:
        query = self.query_state
        api = self.shiftboss.api
        verb = "retry" if action == "retry" else "cancel"

        async def preview() -> None:
            result = await api.bulk(verb, query, dry_run=True)  # type: ignore[arg-type]
            if result.matched == 0:
                self.notify(f"bulk {verb}: no job in this filter can be {'cancelled' if verb == 'cancel' else 'retried'}")
                return
            described = _describe(query)

            def done(reason: str | None) -> None:
                if reason is not None:
                    self.request(f"bulk {verb}", lambda: api.bulk(verb, query, dry_run=False, reason=reason),  # type: ignore[arg-type]
                                 then=lambda r: self.notify(f"bulk {verb}: {r.changed:,} of {r.matched:,} jobs"))

            self.app.push_screen(AskReason(
                f"Bulk {verb}: {result.matched:,} jobs",
                f"{result.matched:,} jobs match {described} and can be {'cancelled' if verb == 'cancel' else 'retried'}.\n"
                "Give a reason and press Enter to go ahead.", yes=f"{verb.capitalize()} {result.matched:,} jobs",
                danger=True), done)

        self.request(f"bulk {verb} preview", preview, quiet=True)


def _describe(query: JobQuery) -> str:
    parts = [f"state {','.join(query.state)}" if query.state else "", f"kind {query.kind}" if query.kind else "",
             f"pool {query.pool}" if query.pool else "", f"text {query.text!r}" if query.text else ""]
    return "the filter " + " · ".join(p for p in parts if p) if any(parts) else "no filter (every job)"

