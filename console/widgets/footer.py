"""Textual's footer, fitted to the terminal: when not every key fits (80 columns), the least
needed leave first — the key of the screen you are on, then freeze and trigger, then the other
screens, then this screen's own actions from the last — while E-STOP, help and quit always stay.
The help screen (``?``) lists every key."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console import actions

ALWAYS = ("estop", "help", "quit")
NAVIGATION = ("dashboard", "jobs", "audit")


class KeyFooter(Footer):
    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope
        self._width = 0

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [w for w in widgets if isinstance(w, FooterKey) and not w.has_class("-command-palette")]
        budget = self.app.size.width - sum(_width(w) + 2 for w in widgets if w not in keys)  # + its border
        dropped = set(drop_order(keys, self.scope, budget))
        yield from (w for w in widgets if w not in dropped)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)


def drop_order(keys: list[FooterKey], scope: str, budget: int) -> list[FooterKey]:
    """The keys to leave out so the rest fit in ``budget`` cells, least needed first."""
    by_action = {a.action.removeprefix("app.") if a.scope == "app" else a.action: a
                 for a in actions.of_scope("app", scope)}
    order = [by_action.get(k.action) for k in keys]

    def need(index: int) -> tuple[int, int]:
        a = order[index]
        if a is None or a.id in ALWAYS:
            return (0, 0)
        if a.id == scope:  # the key of the screen you are on
            return (5, index)
        if a.id in ("freeze", "trigger"):
            return (4 if a.id == "freeze" else 3, index)
        if a.id in NAVIGATION:
            return (2, index)
        return (1, index)

    dropped: list[FooterKey] = []
    total = sum(_width(k) for k in keys)
    for index in sorted(range(len(keys)), key=need, reverse=True):
        if total <= budget or need(index)[0] == 0:
            break
        dropped.append(keys[index])
        total -= _width(keys[index])
    for key in reversed(dropped[:]):  # then take back the most needed that still fit
        if total + _width(key) <= budget:
            dropped.remove(key)
            total += _width(key)
    return dropped


def _width(widget: Widget) -> int:
    """Cells a footer item takes: its key and description with their padding (Textual's CSS)."""
    if isinstance(widget, FooterKey):
        return len(widget.key_display) + len(widget.description) + (3 if widget.description else 2)
    return 0
