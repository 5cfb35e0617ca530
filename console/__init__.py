"""The Shiftboss operator console: a Textual app that attaches to an engine over its HTTP API.

It imports no engine code but the wire types of :mod:`engine.schema`, and never trio.
"""

from console.api import EngineApi, JobQuery, Target
from console.app import ShiftbossApp, make_app
from console.errors import ApiError, ConsoleError, ReadOnly, Unreachable

__all__ = ["ApiError", "ConsoleError", "EngineApi", "JobQuery", "ReadOnly", "ShiftbossApp", "Target", "Unreachable",
           "make_app"]
