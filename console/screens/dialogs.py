"""Modal questions: a yes/no confirmation, and a reason to give (then confirm). Dangerous ones
are marked red and never confirm on a stray key: only the button, ``y`` or Enter on the button."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class Confirm(ModalScreen[bool]):
    """Ask once. Dismisses with True only on an explicit yes."""

    BINDINGS = [Binding("escape,n", "no", "No"), Binding("y", "yes", "Yes")]

    def __init__(self, title: str, body: str, *, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__(classes="danger" if danger else "")
        self.title_text, self.body, self.yes_label, self.danger = title, body, yes, danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(("⚠ " if self.danger else "") + self.title_text, id="dialog-title")
            yield Static(self.body, id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.yes_label, variant="error" if self.danger else "primary", id="yes")
                yield Button("No (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class AskReason(ModalScreen[str | None]):
    """Ask for a reason (it goes to the audit log), then confirm with Enter. Esc backs out."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, title: str, body: str, *, yes: str, required: bool = True, danger: bool = False,
                 placeholder: str = "why (goes to the audit log)") -> None:
        super().__init__(classes="danger" if danger else "")
        self.title_text, self.body, self.yes_label = title, body, yes
        self.required, self.danger, self.placeholder = required, danger, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(("⚠ " if self.danger else "") + self.title_text, id="dialog-title")
            yield Static(self.body, id="dialog-body")
            yield Input(placeholder=self.placeholder, id="reason", max_length=1000)
            yield Label("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.yes_label, variant="error" if self.danger else "primary", id="yes")
                yield Button("Back (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#yes")
    def confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if self.required and not reason:
            self.query_one("#dialog-error", Label).update("a reason is required")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#no")
    def action_back(self) -> None:
        self.dismiss(None)
