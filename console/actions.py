"""The one action table. It feeds every screen's key bindings, the footer, the help screen, the
command palette and the ``[console.keymap]`` section of config.toml (binding id → keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from console.errors import ConsoleError


@dataclass(frozen=True)
class Action:
    id: str  # the binding id: what [console.keymap] remaps
    keys: str  # default keys, comma-separated
    action: str  # the Textual action it runs on its scope's node
    title: str  # footer and palette
    help: str  # tooltip, help screen and palette
    scope: str  # "app" or the screen it belongs to
    mutating: bool = False  # changes the engine: hidden in read-only mode
    dangerous: bool = False  # always asks for a confirmation; marked in help and palette
    show: bool = True  # shown in the footer


ACTIONS: tuple[Action, ...] = (
    # everywhere
    Action("estop", "ctrl+s", "app.estop", "E-STOP", "Emergency stop: every pool stops claiming and running "
           "work is interrupted (back to the queue). Asks for a reason and a confirmation.", "app",
           mutating=True, dangerous=True),
    Action("resume_estop", "ctrl+r", "app.resume_estop", "Resume", "Release the emergency stop (asks first).", "app",
           mutating=True, dangerous=True, show=False),
    Action("dashboard", "d", "app.switch_mode('dashboard')", "Dashboard", "Pools, workers, chains and what needs "
           "attention.", "app"),
    Action("jobs", "j", "app.switch_mode('jobs')", "Jobs", "Every job: filter, search, sort, act.", "app"),
    Action("audit", "a", "app.switch_mode('audit')", "Audit", "Who did what, when and why.", "app"),
    Action("kale", "K", "app.switch_mode('kale')", "KALE", "The KALE farm: the block, every farmer's pail, the "
           "hash rate and the next deadline.", "app", show=False),
    Action("cloudmesh", "M", "app.switch_mode('cloudmesh')", "CloudMesh", "CloudMesh jobs on Solana: every Job "
           "account, its state and cost, and this engine's run of it.", "app", show=False),
    Action("trigger", "t", "app.trigger", "Trigger", "Submit a job: pick a kind, fill its payload form.", "app",
           mutating=True),
    Action("freeze", "f", "app.toggle_freeze", "Freeze", "Stop live updates while you read; press again to "
           "catch up.", "app"),
    Action("help", "question_mark,f1", "app.help", "Help", "Every key and what it does.", "app"),
    Action("quit", "q,ctrl+c", "app.quit", "Quit", "Leave the console. The engine keeps running.", "app"),
    # dashboard: the pool under the cursor
    Action("pool_pause", "p", "pause_pool", "Pause pool", "Stop the pool claiming new work (asks for a reason); "
           "running jobs finish.", "dashboard", mutating=True),
    Action("pool_resume", "u", "resume_pool", "Resume pool", "Let a paused or drained pool claim work again.",
           "dashboard", mutating=True),
    Action("pool_drain", "D", "drain_pool", "Drain pool", "Finish what runs, claim nothing new (asks first).",
           "dashboard", mutating=True, dangerous=True),
    Action("worker_drain", "w", "drain_worker", "Drain worker", "Send no new jobs to the remote worker under the "
           "cursor (asks for a reason); press again to take jobs again.", "dashboard", mutating=True, show=False),
    # jobs table
    Action("open", "enter", "open_job", "Open", "Show the job under the cursor.", "jobs"),
    Action("search", "slash", "search", "Search", "Search ids, kinds, payloads and errors.", "jobs"),
    Action("state_filter", "s", "cycle_state", "State", "Cycle the state filter.", "jobs"),
    Action("kind_filter", "k", "cycle_kind", "Kind", "Cycle the kind filter.", "jobs"),
    Action("pool_filter", "l", "cycle_pool", "Pool", "Cycle the pool filter.", "jobs", show=False),
    Action("sort", "o", "cycle_sort", "Sort", "Cycle the order: newest, oldest, priority, updated, state, kind.",
           "jobs"),
    Action("clear_filter", "x", "clear_filter", "Clear", "Clear every filter.", "jobs", show=False),
    Action("retry", "r", "retry", "Retry", "Retry the job under the cursor with a fresh attempt budget.", "jobs",
           mutating=True),
    Action("cancel", "c", "cancel", "Cancel", "Cancel the job under the cursor (asks first).", "jobs",
           mutating=True, dangerous=True),
    Action("bulk_retry", "B", "bulk('retry')", "Bulk retry", "Retry every job the filter shows: preview count, "
           "then confirm.", "jobs", mutating=True, dangerous=True, show=False),
    Action("bulk_cancel", "C", "bulk('cancel')", "Bulk cancel", "Cancel every job the filter shows: preview "
           "count, then confirm.", "jobs", mutating=True, dangerous=True, show=False),
    # audit
    Action("audit_operator", "o", "toggle_operator", "Operator only", "Show only what operators did, or also demo "
           "load, recovery and chain scans.", "audit"),
    Action("audit_more", "m", "more", "More", "Load the next page of older records.", "audit"),
    # KALE farm
    Action("kale_open", "enter", "open_job", "Open job", "Show the job of the farmer under the cursor.", "kale"),
    Action("kale_retry", "r", "retry_work", "Retry work", "Retry the farmer's failed job in this block "
           "(fresh attempts).", "kale", mutating=True),
    # CloudMesh
    Action("cloudmesh_open", "enter", "open_job", "Open run", "Show this engine's run of the job under the cursor.",
           "cloudmesh"),
    # job detail
    Action("detail_retry", "r", "retry", "Retry", "Retry this job with a fresh attempt budget.", "detail",
           mutating=True),
    Action("detail_cancel", "c", "cancel", "Cancel", "Cancel this job (asks first).", "detail",
           mutating=True, dangerous=True),
    Action("back", "escape", "app.pop_screen", "Back", "Back to where you were.", "detail"),
)

BY_ID = {a.id: a for a in ACTIONS}
MUTATING = frozenset(a.action.removeprefix("app.").split("(")[0] for a in ACTIONS if a.mutating)


def bindings(scope: str) -> list[BindingType]:
    """The key bindings of one scope, each with its id (remappable) and tooltip."""
    return [Binding(a.keys, a.action.removeprefix("app.") if scope == "app" else a.action, a.title, show=a.show,
                    id=a.id, tooltip=a.help, priority=a.id == "estop") for a in ACTIONS if a.scope == scope]


def of_scope(*scopes: str) -> list[Action]:
    return [a for a in ACTIONS if a.scope in scopes]


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """A ``[console.keymap]`` table, checked: every id must name an action, every value a key."""
    unknown = sorted(set(keymap) - set(BY_ID))
    if unknown:
        raise ConsoleError(f"console.keymap: unknown action {unknown[0]!r}; actions: {', '.join(sorted(BY_ID))}")
    for name, keys in keymap.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConsoleError(f"console.keymap.{name}: expected keys like \"ctrl+e\" or \"e,f5\", got {keys!r}")
    return dict(keymap)
