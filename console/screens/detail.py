"""One job: what it is, its payload, progress, attempt history, result or error, and the audit
records about it. Follows the job live."""

from __future__ import annotations

import json

from rich.console import Group
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console import actions, format
from console.errors import ConsoleError
from console.format import STATE_STYLE, ago, span, summary
from console.screens.base import LiveScreen
from engine.schema import Event, JobDetail


class JobDetailScreen(LiveScreen):
    SCOPE = "detail"
    BINDINGS = actions.bindings("detail")

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with VerticalScroll(id="detail"):
            yield Static(f"loading {self.job_id}…", id="detail-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.load()

    def resync(self) -> None:
        self.load()

    def show_events(self, events: list[Event]) -> None:
        if any(e.job_id == self.job_id for e in events):
            self.load()

    @work(exclusive=True, group="detail")
    async def load(self) -> None:
        try:
            self.detail = await self.shiftboss.api.job(self.job_id)
        except ConsoleError as exc:
            self.query_one("#detail-body", Static).update(Text(f"{self.job_id}: {exc}", "red"))
            return
        self.query_one("#detail-body", Static).update(render_detail(self.detail, format.clock()))

    def action_retry(self) -> None:
        self.job_action(self.job_id, "retry", then=self.load)

    def action_cancel(self) -> None:
        self.job_action(self.job_id, "cancel", then=self.load)


def render_detail(detail: JobDetail, now: float) -> Group:
    job = detail.job
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("job", Text(job.id, "bold"))
    head.add_row("state", Text(job.state, STATE_STYLE.get(job.state, "")))
    head.add_row("kind · pool", f"{job.kind} · {job.pool} · priority {job.priority}")
    head.add_row("attempts", f"{job.attempts} of {job.max_attempts} · timeout {span(job.timeout)}"
                 + (f" · backoff {job.backoff:g}s" if job.backoff else ""))
    head.add_row("created", f"{ago(job.created_at, now)} ago · updated {ago(job.updated_at, now)} ago")
    if job.not_before is not None:
        head.add_row("not before", span(job.not_before - now) if job.not_before > now else f"{ago(job.not_before, now)} ago")
    if job.deadline is not None:
        head.add_row("deadline", span(job.deadline - now) if job.deadline > now else f"passed {ago(job.deadline, now)} ago")
    if job.idempotency_key:
        head.add_row("idempotency", job.idempotency_key)
    parts: list = [head, Text("\npayload", "bold underline"), JSON.from_data(job.payload, indent=2)]
    if job.progress:
        parts += [Text("\nprogress", "bold underline"), Text(summary(job) or ""), JSON.from_data(job.progress, indent=2)]
    if job.error is not None:
        parts += [Text("\nerror", "bold underline"),
                  Text(f"{job.error.code}: {job.error.message}" + ("" if job.error.retryable else " (not retryable)"),
                       "red")]
    if job.result is not None:
        parts += [Text("\nresult", "bold underline"), Text(json.dumps(job.result, indent=2)[:4000])]
    # "#" counts every attempt ever made; "try" is its number within its budget (an operator's
    # retry starts a fresh budget, so two attempts can both be try 1)
    history = Table("#", "try", "started", "took", "outcome", "worker", "error", box=None, header_style="bold")
    for i, a in enumerate(job.history or [], start=1):
        took = span((a.finished_at or now) - a.started_at)
        history.add_row(str(i), str(a.n), f"{ago(a.started_at, now)} ago", took,
                        Text(a.outcome, STATE_STYLE.get(a.outcome, "")), a.worker,
                        "" if a.error is None else f"{a.error.code}: {a.error.message}")
    parts += [Text("\nattempts", "bold underline"), history if job.history else Text("none yet", "dim")]
    audit = Table("when", "actor", "action", "reason", box=None, header_style="bold")
    for r in detail.audit:
        audit.add_row(f"{ago(r.ts, now)} ago", r.actor, r.action, r.reason)
    parts += [Text("\naudit", "bold underline"), audit if detail.audit else Text("no operator action", "dim")]
    return Group(*parts)
