"""Small live tables (pools, workers, chains, attention, audit): rows are diffed by key, never
cleared and rebuilt, so the cursor and scroll position survive every update."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text


def sync_rows(table: DataTable[Any], rows: Mapping[str, Sequence[Cell]],
              order: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
    """Make ``table`` hold exactly ``rows`` (key → cells, in column order). New rows are placed
    by sorting on the first column (or ``order`` over the row's cells)."""
    columns = list(table.columns)
    added = False
    with table.app.batch_update():
        for gone in [k for k in table.rows if k.value not in rows]:
            table.remove_row(gone)
        for key, cells in rows.items():
            if key not in table.rows:
                table.add_row(*cells, key=key)
                added = True
                continue
            for col, old, new in zip(columns, table.get_row(key), cells, strict=False):
                if old != new:
                    table.update_cell(key, col, new, update_width=True)
        if added and len(table.rows) > 1:
            if order is None:
                table.sort(columns[0], key=lambda cell: str(cell), reverse=reverse)
            else:
                table.sort(key=order, reverse=reverse)
