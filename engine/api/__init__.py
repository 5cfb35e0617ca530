"""The control API v1 (Starlette app served by hypercorn's Trio worker)."""

from engine.api._app import build_app
from engine.api._serve import serve_api

__all__ = ["build_app", "serve_api"]
