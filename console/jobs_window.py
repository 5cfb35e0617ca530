"""The rows behind the jobs table: fetched a page at a time around what is on screen, updated in
place by key from events. Plain Python (no Textual), so it is tested on its own.

Rows are addressed by their index in the engine's order (``offset``), so the table can jump to
any row of 100,000 without loading the others. Every fetch is tagged with an *epoch*: a new filter
or order starts a new epoch and drops every row (:meth:`reset`); a membership change seen in the
events (a job submitted, a state leaving the filter) only starts a new epoch (:meth:`stale`), so
the old rows stay on screen until the fresh ones replace them, without flicker.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.api import JobQuery
from engine.schema import Event, Job, JobError

PAGE = 100
KEEP_PAGES = 24  # pages kept around the view (~2,400 jobs): bounded memory at any store size
_ORDER_BY_STATE = ("state", "-updated", "updated")


class JobWindow:
    def __init__(self, query: JobQuery | None = None) -> None:
        self.query = query or JobQuery()
        self.total = 0
        self.epoch = 0
        self.counted = False  # whether ``total`` is from this epoch
        self._pages: dict[int, tuple[int, list[Job]]] = {}
        self._loading: set[tuple[int, int]] = set()  # (epoch, page)

    def reset(self, query: JobQuery) -> None:
        """A new filter or order: forget every row."""
        self.query = query
        self._pages.clear()
        self.total = 0
        self.stale()

    def stale(self) -> None:
        """The rows may have moved: refetch what is shown, keep showing the old rows until then."""
        self.epoch += 1
        self.counted = False

    def row(self, index: int) -> Job | None:
        entry = self._pages.get(index // PAGE)
        if entry is None:
            return None
        rows = entry[1]
        i = index % PAGE
        return rows[i] if i < len(rows) else None

    def wanted(self, first: int, last: int) -> list[int]:
        """Pages to fetch so rows ``first..last`` are current: missing or from an old epoch, not loading."""
        last = max(first, min(last, max(self.total, 1) - 1 if self.counted else last))
        pages = range(max(first, 0) // PAGE, last // PAGE + 1)
        return [p for p in pages if self._pages.get(p, (-1,))[0] != self.epoch and (self.epoch, p) not in self._loading]

    def is_current(self, first: int, last: int) -> bool:
        """Whether rows ``first..last`` (clipped to the total) are all answers to the current view."""
        if not self.counted:
            return False
        last = min(last, self.total - 1)
        return all(self._pages.get(p, (-1,))[0] == self.epoch for p in range(first // PAGE, last // PAGE + 1)) \
            if last >= first else True

    def loading(self, page: int) -> None:
        self._loading.add((self.epoch, page))

    def failed(self, epoch: int, page: int) -> None:
        """A fetch failed: the page may be asked for again."""
        self._loading.discard((epoch, page))

    def store(self, epoch: int, page: int, jobs: list[Job], total: int | None, near: int) -> bool:
        """A fetched page. Returns False (and drops it) if the query changed since it was asked for."""
        self._loading.discard((epoch, page))
        if epoch != self.epoch:
            return False
        self._pages[page] = (epoch, jobs)
        if total is not None:
            self.total, self.counted = total, True
        if len(self._pages) > KEEP_PAGES:  # forget the pages farthest from the view
            for far in sorted(self._pages, key=lambda p: abs(p - near // PAGE))[KEEP_PAGES:]:
                del self._pages[far]
        return True

    def index_of(self, job_id: str, *, current: bool = False) -> int | None:
        """Where ``job_id`` is among the cached rows (only the current epoch's if ``current``)."""
        for page, (epoch, rows) in self._pages.items():
            if current and epoch != self.epoch:
                continue
            for i, job in enumerate(rows):
                if job.id == job_id:
                    return page * PAGE + i
        return None

    def apply(self, events: Iterable[Event]) -> tuple[set[int], bool]:
        """Update cached rows in place from events. Returns (changed row indexes, whether the rows
        may have moved: a submit, or a state change the filter or the order depends on)."""
        where = {job.id: page * PAGE + i for page, (_e, rows) in self._pages.items() for i, job in enumerate(rows)}
        changed: set[int] = set()
        moved = False
        for event in events:
            if event.type == "job.submitted":
                moved = True
                continue
            if event.job_id is None or event.type not in ("job.state", "job.progress"):
                continue
            if event.type == "job.state":
                new = event.data.get("to")
                if self.query.state and new not in self.query.state or self.query.sort in _ORDER_BY_STATE:
                    moved = True
            index = where.get(event.job_id)
            if index is None:
                continue
            job = self.row(index)
            assert job is not None
            if event.type == "job.state":
                job.state = event.data.get("to", job.state)
                job.updated_at = event.ts
                if "attempt" in event.data:
                    job.attempts = int(event.data["attempt"])
                if isinstance(event.data.get("error"), dict):
                    job.error = JobError(**event.data["error"])
                elif job.state in ("queued", "running"):
                    job.error = None
            else:
                job.progress = {**(job.progress or {}), **event.data}
            changed.add(index)
        return changed, moved
