"""How a scan queues the work it found: submitting jobs as the engine."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from engine.schema import JobSubmit, SubmitResponse


class Submitter(Protocol):
    """Submit jobs as the engine (``actor`` names who, e.g. ``chain:devnet``): what a scan uses to
    queue the work it found. Validation and idempotency are those of the API's submit."""

    def __call__(self, specs: list[JobSubmit], actor: str, /) -> Awaitable[SubmitResponse]: ...
