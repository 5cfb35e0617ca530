"""Help: every action of the table, with its keys (after the keymap), grouped by where it works."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.actions import ACTIONS, Action

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


def render_help(keymap: dict[str, str], read_only: bool) -> Group:
    """One table per scope, with the same column widths, so a long scope title never widens a column."""
    shown = [a for a in ACTIONS if not (read_only and a.mutating)]
    rows = {a.id: (_keys(keymap.get(a.id, a.keys)), _action(a)) for a in shown}
    keys_width = max(len(k) for k, _ in rows.values())
    action_width = max(t.cell_len for _, t in rows.values())
    parts: list[RenderableType] = [Text("Shiftboss console — keys (ctrl+p: command palette; Esc closes)", "bold")]
    for scope, title in SCOPES.items():
        table = Table(title=title, title_justify="left", title_style="bold underline", box=None, expand=True,
                      show_header=False, padding=(0, 1, 0, 0))
        table.add_column("keys", no_wrap=True, width=keys_width)
        table.add_column("action [id]", no_wrap=True, width=action_width)
        table.add_column("what it does", ratio=1)
        for a in shown:
            if a.scope == scope:
                table.add_row(*rows[a.id], a.help)
        parts += [Text(""), table]
    note = ('⚠ = asks for a confirmation. [id]: remap it in config.toml [console.keymap], e.g. estop = "ctrl+e". '
            "The console is only a client: quitting it never stops the engine.")
    if read_only:
        note += " Read-only: actions that change the engine are hidden."
    parts.append(Text("\n" + note, "dim"))
    return Group(*parts)


def _keys(keys: str) -> str:
    return keys.replace("question_mark", "?").replace("slash", "/")


def _action(a: Action) -> Text:
    text = Text(a.title + (" ⚠" if a.dangerous else ""), "bold red" if a.dangerous else "")
    text.append(f" [{a.id}]", "dim")  # the id [console.keymap] remaps
    return text
