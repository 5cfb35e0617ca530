"""Help: every action of the table, with its keys (after the keymap), grouped by where it works."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.actions import ACTIONS

SCOPES = {"app": "Everywhere", "dashboard": "Dashboard (the pool under the cursor)", "jobs": "Jobs",
          "detail": "Job detail", "audit": "Audit log"}


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, keymap: dict[str, str], read_only: bool) -> None:
        super().__init__()
        self.keymap, self.read_only = keymap, read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(render_help(self.keymap, self.read_only))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss()


def render_help(keymap: dict[str, str], read_only: bool) -> Table:
    table = Table(title="Shiftboss console — keys (ctrl+p: command palette; Esc closes)", box=None,
                  header_style="bold", expand=True)
    table.add_column("keys", no_wrap=True, max_width=14)
    table.add_column("action [id]", no_wrap=True)
    table.add_column("what it does")
    for scope, title in SCOPES.items():
        table.add_row("", Text(title, "bold underline"), "")
        for a in ACTIONS:
            if a.scope != scope or (read_only and a.mutating):
                continue
            keys = keymap.get(a.id, a.keys).replace("question_mark", "?").replace("slash", "/")
            action = Text(a.title + (" ⚠" if a.dangerous else ""), "bold red" if a.dangerous else "")
            action.append(f" [{a.id}]", "dim")  # the id [console.keymap] remaps
            table.add_row(keys, action, a.help)
    table.add_row("", "", "")
    note = ('⚠ = asks for a confirmation. [id]: remap it in config.toml [console.keymap], e.g. estop = "ctrl+e". '
            "The console is only a client: quitting it never stops the engine.")
    if read_only:
        note += " Read-only: actions that change the engine are hidden."
    table.add_row("", "", Text(note, "dim"))
    return table
