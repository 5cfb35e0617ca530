"""The bar on top of every screen: which engine, how fresh, and the banners that must not be
missed — an active e-stop (who, why, since when) and a lost connection."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from console.format import ago
from engine.schema import Status


@dataclass
class BarState:
    where: str
    status: Status | None = None
    connected: bool = True
    detail: str = ""
    frozen: bool = False
    read_only: bool = False
    last_seq: int | None = None


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: auto; background: $panel; padding: 0 1; }
    """

    def show(self, state: BarState) -> None:
        self.update(render_bar(state))


def render_bar(state: BarState) -> Text:
    st = state.status
    line = Text.assemble(("SHIFTBOSS ", "bold"), (state.where, "dim"))
    if st is not None:
        line.append(f"  pid {st.pid} · up {ago(st.started_at).rstrip()} · event #{st.last_seq:,}")
        if st.shutting_down:
            line.append("  SHUTTING DOWN", "bold yellow")
    if state.frozen:
        line.append("  ❄ FROZEN (f)", "bold black on cyan")
    if state.read_only:
        line.append("  READ-ONLY", "bold black on yellow")
    if not state.connected:
        seq = "" if state.last_seq is None else f"; will resume after event #{state.last_seq:,}"
        line.append(f"\n⚡ CONNECTION LOST — {state.detail}. Reconnecting{seq}", "bold white on dark_orange3")
    if st is not None and not st.store.writable:
        line.append(f"\n⛁ STORE CANNOT WRITE since {ago(st.store.since)}: {st.store.error} — nothing new is claimed;"
                    " the engine retries", "bold white on dark_orange3")
    if st is not None and st.estop.active:
        line.append(f"\n■ E-STOP ACTIVE {ago(st.estop.since)} by {st.estop.actor}: {st.estop.reason}"
                    + ("" if st.estop.persisted else " (not persisted yet)")
                    + ("" if state.read_only else " — ctrl+r resumes"), "bold white on red")
    else:
        stopped = [p for p in (st.pools if st else []) if p.state == "stopped"]
        for pool in stopped:
            line.append(f"\n■ E-STOP on pool {pool.name} by {pool.actor}: {pool.reason}", "bold white on red")
    return line
