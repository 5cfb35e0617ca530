"""The manual height source as one more chain adapter: heights an operator or a test sets by
hand (``shiftboss chains set-height``, ``POST /v1/chains/{name}/height`` →
:meth:`Heights.set <engine.chains.heights.Heights.set>`, audited) show here."""

from __future__ import annotations

from typing import NoReturn

import trio

from engine.chains.heights import Heights
from engine.schema import Chain


class ManualHeights:
    name = "manual"
    kind = "manual"

    def __init__(self, heights: Heights) -> None:
        self.heights = heights

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        task_status.started()  # nothing to watch: heights arrive through set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def status(self) -> list[Chain]:
        return self.heights.chains(source="manual")

    async def aclose(self) -> None:
        return None
