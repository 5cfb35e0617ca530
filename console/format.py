"""How figures read on screen: ages, rates, hash rates, sparklines, and a job's one-line summary."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from engine.schema import Job

STATE_STYLE = {
    "queued": "cyan", "waiting": "blue", "running": "bold green", "retrying": "yellow", "completed": "green",
    "failed": "bold red", "cancelling": "magenta", "cancelled": "magenta", "expired": "red",
}
POOL_STYLE = {"active": "green", "paused": "yellow", "draining": "yellow", "drained": "dim", "stopped": "bold red"}
_BARS = "▁▂▃▄▅▆▇█"
#: The wall clock every age on screen is measured against (snapshot tests pin it).
clock = time.time


def ago(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "—"
    return span((now if now is not None else clock()) - ts)


def span(seconds: float) -> str:
    """3s · 4m05s · 2h10m · 3d4h (negative spans read as "in …")."""
    if seconds < 0:
        return "in " + span(-seconds)
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


def si(value: float, unit: str = "") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.1f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip() if value == int(value) else f"{value:.1f} {unit}".rstrip()


def rate(per_s: float) -> str:
    return "0" if per_s <= 0 else (f"{per_s:.2f}/s" if per_s < 10 else si(per_s, "/s").replace(" ", ""))


def hashrate(value: Any) -> float:
    """A hash rate as the engine reports it (a number, or rates by window: 10s, 60s, 15m)."""
    if isinstance(value, dict):
        return float(value.get("10s") or value.get("60s") or 0.0)
    return float(value or 0.0)


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters, scaled to their own maximum."""
    tail = list(values)[-width:]
    top = max(tail, default=0)
    if top <= 0:
        return _BARS[0] * len(tail)
    return "".join(_BARS[min(7, int(v / top * 7.999))] for v in tail)


def summary(job: Job) -> str:
    """What to read about a job at a glance: its error, its gate, or its progress."""
    if job.error is not None and job.state in ("failed", "retrying", "expired"):
        return f"{job.error.code}: {job.error.message}"
    progress: dict[str, Any] = job.progress or {}
    if job.kind == "pow.structs":
        return structs_summary(job, progress)
    waiting = progress.get("waiting_info")
    if job.state == "waiting" and isinstance(waiting, dict):
        return "waiting: " + ", ".join(f"{k}={v}" for k, v in waiting.items())
    parts = _hashing(progress)
    if not parts and progress:
        parts = [f"{k}={v}" for k, v in list(progress.items())[:3]]
    if job.state == "completed" and not parts and job.result is not None:
        parts.append(f"result {str(job.result)[:60]}")
    return " · ".join(parts)


def _hashing(progress: dict[str, Any]) -> list[str]:
    parts = []
    if "best_zeros" in progress:
        target = progress.get("target_zeros")
        parts.append(f"best {progress['best_zeros']}" + (f"/{target}" if target else "") + " zeros")
    if "hashrate" in progress:
        parts.append(si(hashrate(progress["hashrate"]), "H/s"))
    if "hashes" in progress:
        parts.append(si(float(progress["hashes"]), "H"))
    if "eta_s" in progress and progress["eta_s"] is not None:
        parts.append(f"eta {span(float(progress['eta_s']))}")
    return parts


def structs_summary(job: Job, progress: dict[str, Any]) -> str:
    """A Structs proof: the struct's age and the difficulty now while it waits and hashes, the
    best zeros so far, then its transaction."""
    waiting = progress.get("waiting_info")
    if job.state == "waiting" and isinstance(waiting, dict):
        parts = [f"age {_or_dash(waiting.get('current_age'))}/{_or_dash(waiting.get('target_age'))}"]
        if waiting.get("difficulty_now") is not None:
            parts.append(f"difficulty now {waiting['difficulty_now']}")
        parts.append(f"{_or_dash(waiting.get('blocks_remaining'))} blocks to wait")
        return "waiting: " + " · ".join(parts)
    result: dict[str, Any] = job.result if isinstance(job.result, dict) else {}
    if job.state == "completed" and result:
        proof = result.get("proof_of_work") or {}
        text = f"proof {_or_dash(proof.get('zeros'))}/{_or_dash(proof.get('difficulty'))} zeros"
        tx = result.get("transaction")
        if isinstance(tx, dict):
            text += f" · tx {_short_hash(tx.get('hash'))} {tx.get('status')}"
            text += f" at {tx['height']}" if tx.get("height") else ""
        return text
    parts = []
    if "age" in progress:
        parts.append(f"age {progress['age']} · difficulty now {_or_dash(progress.get('difficulty'))}")
    if progress.get("phase") in ("submitting", "following"):
        return " · ".join([*parts, f"tx {_short_hash(progress.get('tx'))} {progress.get('tx_state', 'signing')}"])
    return " · ".join(parts + _hashing(progress))


def _or_dash(value: Any) -> str:
    return "—" if value is None else str(value)


def _short_hash(value: Any) -> str:
    return f"{value[:10]}…" if isinstance(value, str) and value else "—"
