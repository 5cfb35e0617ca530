"""Job kinds: a payload schema (a msgspec Struct) plus an async handler.

A handler is ``async def handler(ctx: JobContext, payload: PayloadStruct) -> result``. It
reports progress with ``ctx.progress(...)``, is cancelled through Trio cancellation (and, for
work in threads, ``ctx.stop_requested``), and signals failure by raising
:class:`~engine.errors.JobFailure` (retryable) or :class:`~engine.errors.PermanentFailure`.
Any other exception counts as a retryable failure with code ``exception``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.errors import InvalidPayload, UnknownKind
from engine.jobs._context import JobContext

Handler = Callable[[JobContext, Any], Awaitable[Any]]
#: ``admit(services, payload, field)``: a check at submit that needs the engine's services (a
#: configured signer, an answer from a chain); raises :class:`~engine.errors.Invalid` to refuse
Admit = Callable[[Any, Any, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    payload: type[msgspec.Struct]
    handler: Handler
    description: str
    max_attempts: int | None = None  # None: the scheduler default
    timeout: float | None = None
    backoff_base: float | None = None
    admit: Admit | None = None

    def payload_schema(self) -> dict[str, Any]:
        return msgspec.json.schema(self.payload)


_AT = re.compile(r" - at `\$(.*)`$")
_NAMED = re.compile(r"^(\w+): (.+)$", re.S)
_MISSING = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


class Registry:
    """All job kinds the engine knows, by name."""

    def __init__(self, kinds: list[Kind] | None = None) -> None:
        self._kinds: dict[str, Kind] = {}
        for kind in kinds or []:
            self.register(kind)

    def register(self, kind: Kind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} registered twice")
        self._kinds[kind.name] = kind

    def names(self) -> set[str]:
        return set(self._kinds)

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._kinds.values())

    def get(self, name: str, *, field: str = "kind") -> Kind:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(f"unknown job kind {name!r}; known kinds: {', '.join(sorted(self._kinds))}",
                              field=field, details={"kind": name}) from None

    def validate(self, name: str, payload: dict[str, Any], *, field: str = "payload") -> tuple[Any, str]:
        """Check a payload against its kind; return the typed payload and its canonical JSON.
        Errors are :class:`InvalidPayload` that name the offending field (``payload.seconds``)."""
        kind = self.get(name, field=field.rsplit(".", 1)[0] + ".kind" if "." in field else "kind")
        try:
            typed = msgspec.convert(payload, kind.payload, strict=False)
        except msgspec.ValidationError as exc:
            raise payload_error(name, field, str(exc)) from None
        return typed, msgspec.json.encode(typed).decode()

    def decode(self, name: str, payload: dict[str, Any]) -> Any:
        return msgspec.convert(payload, self._kinds[name].payload, strict=False)


def payload_error(kind: str, field: str, message: str) -> InvalidPayload:
    at = _AT.search(message)
    missing = _MISSING.search(message)
    where = field
    if at and at.group(1):
        where = field + at.group(1).replace("$", "")
        message = message[: at.start()]
    elif missing:
        where = f"{field}.{missing.group(1)}"
    elif named := _NAMED.match(message):  # a payload's own check: "farmer: checksum mismatch"
        where, message = f"{field}.{named.group(1)}", named.group(2)
    return InvalidPayload(f"{where}: {message} (kind {kind})", field=where, details={"kind": kind})
