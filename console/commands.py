"""The command palette (ctrl+p): the action table, as it applies to the current screen."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.actions import Action, of_scope


class ActionCommands(Provider):
    def _available(self) -> list[Action]:
        screen = self.screen
        scope = getattr(screen, "SCOPE", "app")
        out = []
        for a in of_scope("app", scope):
            name = a.action.removeprefix("app.").split("(")[0]
            target = self.app if a.scope == "app" else screen
            if target.check_action(name, ()) is False or a.id in ("quit",):
                continue
            out.append(a)
        return out

    async def _run(self, a: Action) -> None:
        if a.scope == "app":
            await self.app.run_action(a.action.removeprefix("app."))
        else:
            await self.screen.run_action(a.action)

    def _label(self, a: Action) -> str:
        return f"{a.title}{' ⚠' if a.dangerous else ''}  ({self.app._keymap.get(a.id, a.keys)})"

    async def discover(self) -> Hits:
        for a in self._available():
            yield DiscoveryHit(self._label(a), partial(self._run, a), help=a.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for a in self._available():
            score = matcher.match(f"{a.title} {a.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(self._label(a)), partial(self._run, a), help=a.help)
