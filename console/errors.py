"""Errors of the console. One root, mapped from httpx at one seam (:mod:`console.api`)::

    ConsoleError
    ├── Unreachable      no engine answers at the address (or the connection dropped)
    └── ApiError         the engine answered with an error envelope (status, code, message)
        └── ReadOnly     the credentials may only read (HTTP 403 ``read_only``)
"""

from __future__ import annotations

from typing import Any


class ConsoleError(Exception):
    """Root of every error the console raises."""


class Unreachable(ConsoleError):
    """No engine answers at the address, or the connection dropped mid-request."""


class ApiError(ConsoleError):
    """The engine refused a request; ``code`` and ``details`` come from its error envelope."""

    def __init__(self, message: str, *, status: int, code: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.details = status, code, details or {}


class ReadOnly(ApiError):
    """The console's credentials may only read."""
