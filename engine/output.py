"""Printing for the CLI: aligned tables for people, one JSON document for scripts."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def percentiles(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """p50 and p99 of ``values`` (and how many there were)."""
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), digits),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], digits), "samples": len(ordered)}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str = "(none)") -> None:
    if not rows:
        click.echo(empty)
        return
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(click.style(h.upper().ljust(w), bold=True) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def ago(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "-"
    delta = (now or time.time()) - ts
    future = delta < 0
    delta = abs(delta)
    if delta < 1:
        text = "now" if not future else "<1s"
    elif delta < 90:
        text = f"{delta:.0f}s"
    elif delta < 5400:
        text = f"{delta / 60:.0f}m"
    elif delta < 172800:
        text = f"{delta / 3600:.0f}h"
    else:
        text = f"{delta / 86400:.0f}d"
    if text in ("now", "<1s"):
        return text
    return f"in {text}" if future else f"{text} ago"


STATE_COLORS = {
    "queued": "cyan", "waiting": "blue", "running": "yellow", "retrying": "magenta", "completed": "green",
    "failed": "red", "cancelling": "yellow", "cancelled": "white", "expired": "white",
}


def state(value: str) -> str:
    return click.style(value, fg=STATE_COLORS.get(value)) if sys.stdout.isatty() else value


def fail(message: str, code: int = 1) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    raise SystemExit(code)
