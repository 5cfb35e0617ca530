"""A virtual jobs table on Textual's Line API: the scroll height is the job count, and only the
rows on screen are formatted (``render_line``). Rows come from a :class:`JobWindow`, fetched a
page at a time by offset; a DataTable would hold every row (measured
with Textual 8.2 at 100k rows: a 12 s freeze at load, ~190 MB, page-down p99 ≈ 200 ms)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console import format
from console.api import EngineApi
from console.errors import ConsoleError
from console.format import STATE_STYLE, ago, summary
from console.jobs_window import PAGE, JobWindow
from engine.schema import Job


@dataclass(frozen=True)
class Column:
    title: str
    width: int  # 0: takes the rest


WIDE = 140  # from this outer width on, ids are shown whole


def columns(width: int, wide: bool | None = None) -> list[Column]:
    """Column widths for a table ``width`` wide: the full id only when there is room for it.
    ``wide`` is decided on the table's outer width, so a scrollbar coming and going does not
    flip the layout."""
    id_width = 32 if (width >= WIDE if wide is None else wide) else 12
    fixed = [Column("ID", id_width), Column("STATE", 10), Column("KIND", 14), Column("POOL", 8), Column("P", 1),
             Column("TRY", 5), Column("UPDATED", 7)]  # time since the job last changed
    return [*fixed, Column("INFO", 0)]


def header_line(width: int, wide: bool | None = None) -> str:
    return _join([c.title for c in columns(width, wide)], width, wide)


def _cells(job: Job, now: float, id_width: int) -> list[str]:
    return [job.id if len(job.id) <= id_width else "…" + job.id[-(id_width - 1):], job.state, job.kind, job.pool, str(job.priority), f"{job.attempts}/{job.max_attempts}",
            ago(job.updated_at, now), summary(job)]


def _join(cells: list[str], width: int, wide: bool | None = None) -> str:
    out = []
    for col, text in zip(columns(width, wide), cells, strict=True):
        if col.width == 0:
            out.append(text)
        else:
            out.append(text[: col.width].ljust(col.width))
    return " ".join(out)[:width].ljust(width)


_PLAIN = Style()
_DIM = Style(dim=True)
_CURSOR = Style(reverse=True, bold=True)
_STATE = {state: Style.parse(style) for state, style in STATE_STYLE.items()}


class JobTable(ScrollView, can_focus=True):
    """Every job matching the window's query, in its order. Enter opens the row under the cursor."""

    DEFAULT_CSS = """
    JobTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    class Opened(Message):
        def __init__(self, job_id: str) -> None:
            super().__init__()
            self.job_id = job_id

    def __init__(self, api: EngineApi, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.window = JobWindow()
        # monotonic time of the last render whose visible rows were all fresh (current epoch): what
        # `shiftboss bench console` times a key press against
        self.fresh_frame_at = 0.0
        # the job under the cursor when the rows last moved: the cursor follows it, not its index
        self._anchor: str | None = None

    # --- what is shown ----------------------------------------------------------------------

    @property
    def current(self) -> Job | None:
        return self.window.row(self.cursor)

    def render_lines(self, crop):  # type: ignore[no-untyped-def]
        lines = super().render_lines(crop)
        top = int(self.scroll_offset.y)
        if self.window.is_current(top, top + self.size.height - 1):
            self.fresh_frame_at = time.monotonic()
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        if index >= self.window.total:
            if index == 0 and not self.window.counted:
                return Strip([Segment("loading…".ljust(width), _DIM)])
            text = "no jobs match" if index == 0 else ""
            return Strip([Segment(text.ljust(width), _DIM)])
        job = self.window.row(index)
        if job is None:
            return Strip([Segment("…".ljust(width), _DIM)], width)
        wide = self.outer_size.width >= WIDE
        cols = columns(width, wide)
        line = _join(_cells(job, format.clock(), cols[0].width), width, wide)
        if index == self.cursor and self.has_focus:
            return Strip([Segment(line, _CURSOR)], width)
        if index == self.cursor:
            return Strip([Segment(line, Style(underline=True))], width)
        state_at = cols[0].width + 1
        state_len = cols[1].width
        return Strip([Segment(line[:state_at], _PLAIN), Segment(line[state_at:state_at + state_len],
                      _STATE.get(job.state, _PLAIN)), Segment(line[state_at + state_len:], _PLAIN)], width)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- the cursor -------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self._anchor = None
        self.cursor = max(0, min(self.window.total - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self._anchor = None
        step = max(1, self.scrollable_content_region.height - 1)
        self.cursor = max(0, min(self.window.total - 1, self.cursor + direction * step))
        self.scroll_to(y=max(0, self.scroll_offset.y + direction * step), animate=False, immediate=True)

    def action_jump(self, where: int) -> None:
        self._anchor = None
        self.cursor = max(0, self.window.total - 1) if where < 0 else 0

    def watch_cursor(self, old: int, new: int) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()
        self.fetch_visible()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.fetch_visible()

    def on_resize(self) -> None:
        self.fetch_visible()

    def on_click(self, event) -> None:  # type: ignore[no-untyped-def]
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < self.window.total:
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self._anchor = None
            self.cursor = index

    def action_open(self) -> None:
        job = self.current
        if job is not None:
            self.post_message(self.Opened(job.id))

    # --- rows -------------------------------------------------------------------------------

    def set_query(self, query) -> None:  # type: ignore[no-untyped-def]
        self.window.reset(query)
        self._anchor = None
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._resize()
        self.fetch_visible()

    def reload(self) -> None:
        """Refetch what is on screen (the rows may have moved); old rows stay until then, and the
        cursor stays on its job wherever the job moves to (if it is still among the rows near)."""
        if self._anchor is None and (current := self.current) is not None:
            self._anchor = current.id
        self.window.stale()
        self.fetch_visible()

    def apply_events(self, events) -> None:  # type: ignore[no-untyped-def]
        changed, moved = self.window.apply(events)
        top = int(self.scroll_offset.y)
        if any(top <= i < top + self.size.height for i in changed):
            self.refresh()
        if moved:
            self.reload()

    def fetch_visible(self) -> None:
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        first, last = min(top, self.cursor), max(top + height, self.cursor + 1)
        # one page of look-ahead either way, so paging rarely waits on the engine
        wanted = self.window.wanted(max(0, first - PAGE // 2), last + PAGE // 2)
        if not self.window.counted and not wanted:
            wanted = self.window.wanted(first, first)
        for n, page in enumerate(wanted):
            self.window.loading(page)
            self._fetch(self.window.epoch, page, count=n == 0 and not self.window.counted)

    @work(group="job-pages")
    async def _fetch(self, epoch: int, page: int, count: bool) -> None:
        try:
            result = await self.api.jobs(self.window.query, offset=page * PAGE, limit=PAGE, count=count)
        except ConsoleError as exc:
            self.window.failed(epoch, page)
            self.notify(f"jobs: {exc}", severity="error", timeout=4)
            return
        if self.window.store(epoch, page, result.jobs, result.total if count else None, self.cursor):
            if count:
                self._resize()
                self.cursor = max(0, min(self.cursor, self.window.total - 1))
            if self._anchor is not None:
                self._follow_anchor()
            self.refresh()
            self.post_message(self.Changed(self))

    def _follow_anchor(self) -> None:
        assert self._anchor is not None
        index = self.window.index_of(self._anchor, current=True)
        if index is not None:
            self._anchor = None
            self.cursor = index
        elif self.window.is_current(self.cursor, self.cursor):  # it left the rows near: stay put
            self._anchor = None

    def _resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.window.total)

    class Changed(Message):
        """The rows or their count changed (for the screen's title bar)."""

        def __init__(self, table: JobTable) -> None:
            super().__init__()
            self.table = table
