"""Serving the API with hypercorn's Trio worker: the Unix socket always, TCP when configured."""

from __future__ import annotations

import logging
import os
from typing import NoReturn

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from engine.api._app import build_app
from engine.api._guard import Guard
from engine.config import read_tokens
from engine.errors import ConfigError
from engine.service import Service

log = logging.getLogger("shiftboss.api")


def _config(bind: str) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = logging.getLogger("shiftboss.hypercorn")
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = 75.0
    config.umask = 0o177  # the socket file is created 0600
    return config


async def serve_api(service: Service, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> NoReturn:
    """Listen on the Unix socket (and TCP if ``api.tcp`` is set); report the bound addresses.
    The socket file is removed when serving ends.

    TCP refuses to start without a token (the config check catches that first, this is the
    last line of defence)."""
    settings = service.settings
    app = build_app(service)
    socket_path = settings.socket_path
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with trio.open_nursery() as nursery:
            binds = list(await nursery.start(serve, Guard(app, max_body=settings.api.max_body_bytes, tokens=None),
                                             _config(f"unix:{socket_path}")))
            os.chmod(socket_path, 0o600)
            if settings.api.tcp:
                token, read_only = read_tokens(settings)
                if not token:
                    raise ConfigError([("api.tcp", "TCP needs a bearer token")])
                tokens = {token: False}
                if read_only:
                    tokens[read_only] = True
                guard = Guard(app, max_body=settings.api.max_body_bytes, tokens=tokens)
                binds += await nursery.start(serve, guard, _config(settings.api.tcp))
            task_status.started(binds)
            await trio.sleep_forever()
    finally:
        if socket_path.is_socket():  # the listeners are closed: no client can reach us any more
            socket_path.unlink()
    raise AssertionError("unreachable")  # pragma: no cover
