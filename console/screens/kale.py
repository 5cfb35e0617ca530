"""The KALE farm: the current block (index, age, entropy, deadlines), the pool's hash rate, and
one row per farmer — stake and where its pail is (planted, hashing, worked with zeros and gap,
harvested with the reward, failed with its compensation). Refreshed every second and on every
``kale.*`` event; the e-stop works from here as everywhere."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from console import actions, format
from console.errors import ApiError, ConsoleError
from console.screens.base import LiveScreen
from console.widgets.tables import sync_rows
from engine.schema import Event, KaleFarmer, KaleStatus


def kale(stroops: str | None) -> str:
    """Stroops as KALE (7 decimals), trimmed."""
    if not stroops:
        return "-"
    return f"{int(stroops) / 10**7:,.7f}".rstrip("0").rstrip(".")


class KaleScreen(LiveScreen):
    SCOPE = "kale"
    AUTO_FOCUS = "#kale-farmers"
    BINDINGS = actions.bindings("kale")

    def __init__(self) -> None:
        super().__init__()
        self.status: KaleStatus | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        yield Label("KALE farm: reading …", id="kale-block", classes="section")
        yield Label("", id="kale-next")
        yield DataTable(id="kale-farmers", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#kale-farmers", DataTable).add_columns(
            "FARMER", "STAKE", "STATE", "ZEROS", "GAP", "HASHES", "REWARD", "NOTE")
        self.set_interval(1.0, self.load)
        self.load()

    def resync(self) -> None:
        self.load()

    def show_events(self, events: list[Event]) -> None:
        if any(e.type.startswith("kale.") for e in events):
            self.load()

    @work(exclusive=True, group="kale")
    async def load(self) -> None:
        if self.shiftboss.frozen:
            return
        try:
            status = await self.shiftboss.api.kale()
        except ApiError as exc:
            self.query_one("#kale-block", Label).update(f"KALE farm: {exc}")
            return
        except ConsoleError as exc:
            self.query_one("#kale-block", Label).update(f"KALE farm: the engine is not answering ({exc})")
            return
        self.status = status
        self.show(status)

    def show(self, s: KaleStatus) -> None:
        now = format.clock()
        rate = f"{format.si(s.hashes_per_s, 'H/s')}" if s.hashes_per_s else "idle"
        if s.block is None:
            head = f"KALE farm on {s.chain}: no block yet (the first plant opens one)"
        else:
            b = s.block
            head = (f"KALE block {b.index}  age {format.span(max(0, now - b.timestamp))}  entropy {b.entropy[:16]}…  "
                    f"zeros {b.min_zeros}–{b.max_zeros}  staked {kale(b.staked_total)}  pool {rate}")
        if s.paused:
            head += "  FARM PAUSED"
        if s.error:
            head += f"  ! {s.error}"
        self.query_one("#kale-block", Label).update(head)
        nxt = []
        if s.next_work_at:
            nxt.append(f"work goes out {format.ago(s.next_work_at, now)}")
        if s.block_ends_at:
            nxt.append(f"block may end {format.ago(s.block_ends_at, now)}")
        nxt.append(f"{len(s.farmers)} farmer(s), {s.compensations} compensation(s)")
        self.query_one("#kale-next", Label).update("  ·  ".join(nxt))
        sync_rows(self.query_one("#kale-farmers", DataTable), {f.address: _row(f) for f in s.farmers})

    def _farmer(self) -> KaleFarmer | None:
        table = self.query_one("#kale-farmers", DataTable)
        if self.status is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((f for f in self.status.farmers if f.address == key), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def action_open_job(self) -> None:
        farmer = self._farmer()
        if farmer and farmer.pail and farmer.pail.job:
            self.open_job(farmer.pail.job)

    def action_retry_work(self) -> None:
        farmer = self._farmer()
        if farmer is None or farmer.pail is None or not farmer.pail.job:
            self.notify("no job for this farmer in this block", severity="warning")
            return
        if farmer.pail.state != "failed":
            self.notify(f"its pail is {farmer.pail.state}: nothing to retry", severity="warning")
            return
        self.job_action(farmer.pail.job, "retry", then=self.load)


def _row(f: KaleFarmer) -> list[str]:
    p = f.pail
    if p is None:
        return [_short(f.address), kale(f.stake), "not planted" if f.active else "removed", "-", "-", "-", "-", f.origin]
    zeros = p.zeros if p.zeros is not None else p.best_zeros
    note = p.error or ("compensation" if p.state == "failed" else f.origin)
    return [_short(f.address), kale(p.stake), p.state, "-" if zeros is None else str(zeros),
            "-" if p.gap is None else str(p.gap), "-" if p.hashes is None else format.si(p.hashes),
            kale(p.reward), note[:60]]


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"
