"""CloudMesh: the worker's key, balance and authority, and every Job account of the program —
title, state, code and result CIDs, cost — beside this engine's run of it (state, attempts, why
it failed). Refreshed every two seconds and on every run or transaction event; ``enter`` opens
the run."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from console import actions
from console.errors import ApiError, ConsoleError
from console.screens.base import LiveScreen
from console.widgets.tables import sync_rows
from engine.schema import CloudMeshJob, CloudMeshStatus, Event

LAMPORTS = 10**9


class CloudMeshScreen(LiveScreen):
    SCOPE = "cloudmesh"
    AUTO_FOCUS = "#cloudmesh-jobs"
    BINDINGS = actions.bindings("cloudmesh")

    def __init__(self) -> None:
        super().__init__()
        self.status: CloudMeshStatus | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        yield Label("CloudMesh: reading …", id="cloudmesh-worker", classes="section")
        yield Label("", id="cloudmesh-summary")
        yield DataTable(id="cloudmesh-jobs", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#cloudmesh-jobs", DataTable).add_columns(
            "ACCOUNT", "TITLE", "STATE", "CODE", "RESULT", "COST", "RUN", "TRIES", "NOTE")
        self.set_interval(2.0, self.load)
        self.load()

    def resync(self) -> None:
        self.load()

    def show_events(self, events: list[Event]) -> None:
        if any(e.type == "solana.tx" or (e.type.startswith("job.") and str(e.data.get("kind", "")).startswith(
                "cloudmesh.")) for e in events):
            self.load()

    @work(exclusive=True, group="cloudmesh")
    async def load(self) -> None:
        if self.shiftboss.frozen:
            return
        try:
            status = await self.shiftboss.api.cloudmesh()
        except ApiError as exc:
            self.query_one("#cloudmesh-worker", Label).update(f"CloudMesh: {exc}")
            return
        except ConsoleError as exc:
            self.query_one("#cloudmesh-worker", Label).update(f"CloudMesh: the engine is not answering ({exc})")
            return
        self.status = status
        self.show(status)

    def show(self, s: CloudMeshStatus) -> None:
        balance = "balance unknown" if s.balance is None else f"{s.balance / LAMPORTS:,.4f} SOL"
        head = f"CloudMesh worker {s.address} on {s.chain}  {balance}"
        if s.low_balance:
            head += "  LOW BALANCE: fund it or complete_job stops"
        if s.authority:
            head += f"  only jobs for {s.authority[:8]}…"
        if s.error:
            head += f"  ! {s.error}"
        self.query_one("#cloudmesh-worker", Label).update(head)
        counts = {state: sum(1 for j in s.jobs if j.state == state) for state in ("pending", "completed", "cancelled")}
        summary = "  ·  ".join(f"{n} {state}" for state, n in counts.items())
        if s.not_jobs:
            summary += f"  ·  {len(s.not_jobs)} account(s) that are not Jobs"
        self.query_one("#cloudmesh-summary", Label).update(summary)
        sync_rows(self.query_one("#cloudmesh-jobs", DataTable), {j.account: _row(j) for j in s.jobs})

    def _job(self) -> CloudMeshJob | None:
        table = self.query_one("#cloudmesh-jobs", DataTable)
        if self.status is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((j for j in self.status.jobs if j.account == key), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def action_open_job(self) -> None:
        job = self._job()
        if job and job.run:
            self.open_job(job.run.job_id)
        elif job:
            self.notify("this engine has not run this job", severity="warning")


def _row(j: CloudMeshJob) -> list[str]:
    run = j.run
    note = (run.error if run and run.error else "") or (f"only {j.authority[:8]}… may complete it" if j.authority else "")
    return [_short(j.account), j.title[:24], j.state, _short(j.code_cid), _short(j.result_cid or "") or "-",
            f"{j.cost / LAMPORTS:.4f}" if j.cost else "-", run.state if run else "-", str(run.attempts) if run else "-",
            note[:60]]


def _short(value: str) -> str:
    return f"{value[:6]}…{value[-4:]}" if len(value) > 12 else value
