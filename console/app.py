"""The Shiftboss console: a Textual app attached to one engine over its HTTP API.

The app holds the connection, the latest snapshot and the modes (dashboard, jobs, audit); it
forwards what the live feed brings to the screen on top, and runs the operator's actions.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
from textual import events, work
from textual.app import App, ScreenStackError
from textual.binding import BindingType

from console import actions
from console.api import EngineApi, Target
from console.commands import ActionCommands
from console.errors import ConsoleError, ReadOnly
from console.live import LiveFeed
from console.messages import (
    ActionRequested,
    BarStale,
    ConnectionChanged,
    EventsArrived,
    JobActionRequested,
    OpenJob,
    Resync,
    Snapshot,
)
from console.screens.audit import AuditScreen
from console.screens.base import LiveScreen
from console.screens.cloudmesh import CloudMeshScreen
from console.screens.dashboard import DashboardScreen
from console.screens.detail import JobDetailScreen
from console.screens.dialogs import AskReason, Confirm
from console.screens.help import HelpScreen
from console.screens.jobs import JobsScreen
from console.screens.kale import KaleScreen
from console.screens.trigger import TriggerScreen
from console.widgets.status_bar import BarState, StatusBar

# Full collections (see _collect): after GC_IDLE_S without a key press, at most every GC_EVERY_S,
# and at least every GC_AT_LEAST_S however busy the keyboard. Everything that survives one is
# frozen, so the next ones only walk what is new (a few ms); every GC_THAW_S, when idle, all of
# it is thawed and walked once (~60 ms) to free what died since.
GC_IDLE_S = 0.3
PREBUILD_AFTER_S = 0.5
GC_EVERY_S = 2.0
GC_AT_LEAST_S = 60.0
GC_THAW_S = 300.0


class ShiftbossApp(LiveFeed):
    CSS_PATH = "console.tcss"
    TITLE = "Shiftboss"
    MODES: ClassVar[dict[str, Any]] = {"dashboard": DashboardScreen, "jobs": JobsScreen, "audit": AuditScreen,
                                       "kale": KaleScreen, "cloudmesh": CloudMeshScreen}
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("app")
    COMMANDS = App.COMMANDS | {ActionCommands}
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, target: Target, *, read_only: bool = False, keymap: dict[str, str] | None = None,
                 actor: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self.target = target
        self.read_only = read_only
        self.keymap = actions.check_keymap(keymap or {})
        self.actor = actor
        self.frozen = False
        self.snapshot: Snapshot | None = None
        self.last_seq: int | None = None
        self.connected = True
        self.link_detail = ""
        self.api = EngineApi(target, actor=actor, transport=transport)

    def on_mount(self) -> None:
        """Nothing here waits on the network: the feed attaches in the background."""
        if self.keymap:
            self.set_keymap(self.keymap)
        self.start_feed()
        self.refresh_bar()
        # A full (gen-2) collection over the ~100k objects Textual keeps takes ~60 ms on these
        # machines; left automatic, it lands on key presses and becomes the p99 of key → frame
        # (measured: 100–170 ms). So: no automatic full collections; _collect runs them while the
        # operator is idle, and freezes the survivors so the next ones stay short.
        self._gc_threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], 1_000_000)
        self._last_key = self._last_gc = self._last_thaw = time.monotonic()
        self.set_interval(0.5, self._collect)  # the long-lived objects of start-up: keep them out of every later GC pass

    def _prebuild_jobs(self) -> None:
        """Compose the jobs screen (and load its first rows) in the background, when no key was
        pressed lately, so its first opening only swaps screens (it took 150–170 ms to compose).
        Textual builds a mode's screen only when the mode is first entered; ``_init_mode`` is the
        step that builds it without entering."""
        if "jobs" in self._screen_stacks:
            return
        if time.monotonic() - self._last_key < GC_IDLE_S:
            self.set_timer(PREBUILD_AFTER_S, self._prebuild_jobs)
            return
        self._init_mode("jobs")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
        await super().on_event(event)

    def _collect(self) -> None:
        now = time.monotonic()
        due = now - self._last_gc > GC_EVERY_S and now - self._last_key > GC_IDLE_S
        if not (due or now - self._last_gc > GC_AT_LEAST_S):
            return
        if due and now - self._last_thaw > GC_THAW_S:
            gc.unfreeze()
            self._last_thaw = now
        gc.collect()
        gc.freeze()
        self._last_gc = now

    async def on_unmount(self) -> None:
        gc.unfreeze()  # leave the process's collector as we found it (tests run many apps)
        gc.set_threshold(*self._gc_threshold)
        await self.api.aclose()

    # --- what the feed brings ---------------------------------------------------------------

    def _screen(self) -> LiveScreen | None:
        """The live screen on top, if any (none while the app starts, stops or switches modes)."""
        try:
            screen = self.screen
        except ScreenStackError:
            return None
        # a screen that has not composed yet (its first opening) has no widgets to show things in
        return screen if isinstance(screen, LiveScreen) and screen.is_mounted else None

    def on_snapshot(self, message: Snapshot) -> None:
        if self.snapshot is None:  # connected: build the jobs screen while the operator reads the dashboard
            self.set_timer(PREBUILD_AFTER_S, self._prebuild_jobs)
        self.snapshot = message
        if message.status.access == "read-only" and not self.read_only:
            self.read_only = True  # a read-only token: hide every mutating action from now on
            self.refresh_bindings()
        self.refresh_bar()
        if (screen := self._screen()) is not None:
            screen.show_snapshot(message)

    def on_events_arrived(self, message: EventsArrived) -> None:
        if (screen := self._screen()) is not None:
            screen.show_events(message.events)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        self.link_detail = message.detail
        self.refresh_bar()
        if message.ok:
            self.notify("reconnected to the engine; caught up on missed events", timeout=3)

    def on_resync(self, message: Resync) -> None:
        if (screen := self._screen()) is not None:
            screen.resync()

    def refresh_bar(self) -> None:
        state = BarState(where=str(self.target), status=self.snapshot.status if self.snapshot else None,
                         connected=self.connected, detail=self.link_detail, frozen=self.frozen,
                         read_only=self.read_only, last_seq=self.last_seq)
        try:
            bars = self.screen.query(StatusBar)
        except ScreenStackError:
            return  # no screen yet, or the app is closing
        for bar in bars:
            bar.show(state)

    # --- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.read_only and action in actions.MUTATING:
            return False
        return True

    @work(group="actions")
    async def act(self, what: str, call: Callable[[], Awaitable[Any]], then: Callable[[Any], Any] | None = None,
                  quiet: bool = False) -> None:
        """Run one engine action off the UI path; report how it went."""
        try:
            result = await call()
        except ReadOnly:
            self.notify(f"{what}: refused, these credentials are read-only", severity="error")
            return
        except ConsoleError as exc:
            self.notify(f"{what}: {exc}", severity="error", timeout=6)
            return
        if not quiet:
            self.notify(f"{what}: done")
        if then is not None:
            then(result)
        self.poll_now()

    def job_action(self, job_id: str, action: str, then: Callable[[], Any] | None = None) -> None:
        def run() -> None:
            self.act(f"{action} {job_id}", lambda: self.api.job_action(job_id, action),  # type: ignore[arg-type]
                     then=lambda _result: then() if then else None)

        if action == "cancel":
            self.push_screen(Confirm(f"Cancel {job_id}?", "A running job stops at its next check; a queued one "
                                     "never starts.", yes="Cancel job", danger=True),
                             lambda yes: run() if yes else None)
        else:
            run()

    def open_job(self, job_id: str) -> None:
        self.push_screen(JobDetailScreen(job_id))

    def action_estop(self) -> None:
        def confirmed(reason: str, yes: bool | None) -> None:
            if yes:
                self.act("E-STOP", lambda: self.api.estop(reason),
                         then=lambda r: self.notify(f"E-STOP engaged: {r.interrupted} running attempts interrupted",
                                                    severity="warning"), quiet=True)

        def reasoned(reason: str | None) -> None:
            if reason:
                self.push_screen(Confirm("Engage the EMERGENCY STOP?", f"Every pool stops claiming; running work is "
                                         f"interrupted and goes back to the queue.\nReason: {reason}",
                                         yes="E-STOP", danger=True), lambda yes: confirmed(reason, yes))

        self.push_screen(AskReason("EMERGENCY STOP", "Why? (recorded with your name in the audit log)",
                                   yes="Next", danger=True), reasoned)

    def action_resume_estop(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act("resume", lambda: self.api.resume("resumed from the console"))

        status = self.snapshot.status if self.snapshot else None
        if status is not None and not status.estop.active:
            self.notify("the emergency stop is not engaged")
            return
        self.push_screen(Confirm("Release the emergency stop?", "Pools go back to claiming work.", yes="Resume",
                                 danger=True), confirmed)

    def action_trigger(self) -> None:
        self.push_screen(TriggerScreen(), lambda job_id: self.open_job(job_id) if job_id else None)

    def action_toggle_freeze(self) -> None:
        self.frozen = not self.frozen
        self.refresh_bar()
        if not self.frozen:
            self.post_message(Resync())
            self.poll_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap, self.read_only))

    def on_screen_resume(self) -> None:
        self.refresh_bar()

    # --- what screens ask for -----------------------------------------------------------------

    def on_open_job(self, message: OpenJob) -> None:
        self.open_job(message.job_id)

    def on_action_requested(self, message: ActionRequested) -> None:
        self.act(message.what, message.call, then=message.then, quiet=message.quiet)

    def on_job_action_requested(self, message: JobActionRequested) -> None:
        self.job_action(message.job_id, message.action, then=message.then)

    def on_bar_stale(self, message: BarStale) -> None:
        self.refresh_bar()


def make_app(target: Target, *, read_only: bool = False, keymap: dict[str, str] | None = None,
             actor: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> ShiftbossApp:
    """The production console, attached to ``target`` (what ``shiftboss console`` runs)."""
    return ShiftbossApp(target, read_only=read_only, keymap=keymap, actor=actor, transport=transport)
