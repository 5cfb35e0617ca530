"""Built-in job kinds: ``noop``, ``sleep`` and ``demo.flaky`` (for demos and tests)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import trio
from msgspec import Meta

from engine.errors import JobFailure, PermanentFailure
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind


class NoopPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Does nothing; measures the queue itself."""

    note: Annotated[str, Meta(max_length=1000)] = ""


class SleepPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Sleeps, reporting progress every second."""

    seconds: Annotated[float, Meta(ge=0, le=86400, description="how long to sleep")]


class FlakyPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Fails its first ``fail_times`` attempts, then succeeds (or fails for good)."""

    fail_times: Annotated[int, Meta(ge=0, le=1000, description="attempts that fail before one succeeds")] = 1
    permanent: Annotated[bool, Meta(description="fail non-retryably instead of retryably")] = False
    seconds: Annotated[float, Meta(ge=0, le=3600, description="work time per attempt")] = 0.0


async def noop(ctx: JobContext, payload: NoopPayload) -> None:
    return None


async def sleep(ctx: JobContext, payload: SleepPayload) -> dict[str, Any]:
    await _work(ctx, payload.seconds)
    return {"slept": payload.seconds}


async def flaky(ctx: JobContext, payload: FlakyPayload) -> dict[str, Any]:
    await _work(ctx, payload.seconds)
    if ctx.attempt <= payload.fail_times:
        if payload.permanent:
            raise PermanentFailure(f"attempt {ctx.attempt} failed for good (demo)", code="demo_permanent")
        raise JobFailure(f"attempt {ctx.attempt} of {payload.fail_times} planned failures (demo)", code="demo_flaky")
    return {"succeeded_on_attempt": ctx.attempt}


async def _work(ctx: JobContext, seconds: float) -> None:
    start = trio.current_time()
    end = start + seconds
    while (now := trio.current_time()) < end:
        ctx.progress(elapsed=round(now - start, 3), total=seconds)
        await trio.sleep(min(1.0, end - now))
    ctx.progress(elapsed=seconds, total=seconds)


KINDS = [
    Kind("noop", NoopPayload, noop, "Does nothing; for measuring the queue.", timeout=60),
    Kind("sleep", SleepPayload, sleep, "Sleeps for a number of seconds, reporting progress."),
    Kind("demo.flaky", FlakyPayload, flaky, "Fails its first N attempts (retryably or for good), then succeeds.",
         backoff_base=0.5),
]
