"""The API's own refusals (a body that is not JSON, a body too large) and the one table that
turns every engine error into an HTTP status. Nothing below the API knows about HTTP."""

from __future__ import annotations

from engine.errors import Conflict, EngineError, Invalid, NotFound, Rejected, StoreError


class Malformed(Rejected):
    """The request body could not be read at all (not JSON)."""

    code = "malformed_json"


class BodyTooLarge(Rejected):
    """The request body is over ``api.max_body_bytes``."""

    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes", details={"limit": limit})


class Unauthorized(Rejected):
    """A credential the route checks itself (the Pooler API's token) is missing or wrong."""

    code = "unauthorized"


class UnknownRoute(NotFound):
    """No route for this method and path (or an unknown action in a path)."""


#: The one mapping from error classes to HTTP statuses, most specific first.
STATUS: tuple[tuple[type[EngineError], int], ...] = (
    (BodyTooLarge, 413),
    (Unauthorized, 401),
    (Malformed, 400),
    (NotFound, 404),
    (Conflict, 409),
    (Invalid, 422),
    (Rejected, 422),
    (StoreError, 503),
)


def status_of(exc: EngineError) -> int:
    """The HTTP status for ``exc``; 500 for anything the table does not name."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500
