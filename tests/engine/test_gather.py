"""Gathered: items handed in while a batch is out go in the next batch, one batch at a time."""

from __future__ import annotations

import pytest
import trio

from engine.gather import Gathered


@pytest.mark.trio
async def test_items_gather_while_a_batch_is_out_and_each_caller_gets_its_own_result() -> None:
    batches: list[list[int]] = []
    out = 0

    async def process(items: list[int]) -> list[int | Exception]:
        nonlocal out
        out += 1
        assert out == 1  # one batch at a time
        batches.append(list(items))
        await trio.sleep(0.05)
        out -= 1
        if -1 in items:
            raise ValueError("a bad batch")
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    gathered: Gathered[int, int] = Gathered(process, lambda: RuntimeError("stopping"))
    results: dict[int, object] = {}

    async def add(i: int) -> None:
        try:
            results[i] = await gathered.add(i)
        except ValueError as exc:
            results[i] = str(exc)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(add, 0)
            await trio.sleep(0.01)  # the first batch is out: these three gather behind it
            for i in (2, 3, 4):
                nursery.start_soon(add, i)
        assert batches[0] == [0] and sorted(batches[1]) == [2, 3, 4] and len(batches) == 2  # (trio may start them in any order)
        assert results == {0: 0, 2: 20, 3: "odd 3", 4: 40}
        async with trio.open_nursery() as nursery:  # a failed batch fails each of its callers
            for i in (-1, 6):
                nursery.start_soon(add, i)
        assert results[-1] == results[6] == "a bad batch"

