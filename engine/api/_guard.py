"""ASGI middleware in front of the app: body size limit (every transport) and bearer-token
auth (TCP only). Rejections use the API's error envelope."""

from __future__ import annotations

import hmac
from typing import Any

from engine.api._app import error_response
from engine.api._errors import BodyTooLarge, status_of
from engine.api._kale import POOLER_PATHS

Scope = dict[str, Any]


class Guard:
    """``tokens`` is ``None`` on the Unix socket (filesystem permissions are the auth);
    on TCP it maps each accepted token to (read-only?, the token's name)."""

    def __init__(self, app: Any, *, max_body: int, tokens: dict[str, tuple[bool, str]] | None) -> None:
        self.app = app
        self.max_body = max_body
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tokens is not None:
            scope["shiftboss.transport"] = "tcp"
            if scope["path"].startswith(POOLER_PATHS):  # the Pooler API checks its own token
                await self.app(scope, self._limited(receive), send)
                return
            rejection = self._check_token(scope)
            if rejection is not None:
                await rejection(scope, receive, send)
                return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _too_large(self.max_body)(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _check_token(self, scope: Scope) -> Any:
        assert self.tokens is not None
        auth = _header(scope, b"authorization") or ""
        scheme, _, presented = auth.partition(" ")
        read_only, name = None, None
        if scheme.lower() == "bearer" and presented:
            for token, (ro, token_name) in self.tokens.items():
                if hmac.compare_digest(token.encode(), presented.strip().encode()):
                    read_only, name = ro, token_name
        if read_only is None:
            message = "missing bearer token" if not auth else "invalid bearer token"
            return error_response(401, "unauthorized", message, headers={"www-authenticate": "Bearer"})
        scope["shiftboss.read_only"] = read_only
        scope["shiftboss.token_name"] = name
        if read_only and scope["method"] not in ("GET", "HEAD"):
            return error_response(403, "read_only", f"this token is read-only: {scope['method']} is not allowed")
        return None

    def _limited(self, receive: Any) -> Any:
        seen = 0
        limit = self.max_body

        async def wrapped() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped


def _too_large(limit: int) -> Any:
    # The unread rest of the body makes the connection unusable: tell the client to drop it.
    refusal = BodyTooLarge(limit)
    return error_response(status_of(refusal), refusal.code, refusal.message, refusal.details,
                          headers={"connection": "close"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None
