"""Serving the API with hypercorn's Trio worker: the Unix socket always, TCP when configured."""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import NoReturn

import trio
from hypercorn.config import Config

from engine.api._app import build_app
from engine.api._guard import Guard
from engine.api._listen import connection_budget, serve_listener
from engine.client import socket_accepts
from engine.config import read_tokens
from engine.errors import ConfigError, EngineLocked
from engine.locks import DataDirLock
from engine.service import Service

log = logging.getLogger("shiftboss.api")


def _config(bind: str, *, idle_timeout: float = 75.0) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = logging.getLogger("shiftboss.hypercorn")
    config.graceful_timeout = 2.0
    # A connection that has not completed a request's headers within this time is closed: at
    # its start and between keep-alive requests (hypercorn's idle timer; a response being
    # streamed, like the event stream, is not idle).
    config.keep_alive_timeout = idle_timeout
    config.umask = 0o177  # the socket file is created 0600
    return config


async def serve_api(service: Service, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> NoReturn:
    """Listen on the Unix socket (and TCP if ``api.tcp`` is set); report the bound addresses.
    The socket path is locked (``<socket>.lock``) while serving, a socket something answers on is
    never taken over, and the socket file is removed when serving ends if it is still ours.

    TCP refuses to start without a token (the config check catches that first, this is the
    last line of defence)."""
    settings = service.settings
    app = build_app(service)
    socket_path = settings.socket_path
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    # The data-dir lock does not cover a socket configured elsewhere: lock the socket path too,
    # and never take over a socket something still answers on (hypercorn would unlink it).
    lock = DataDirLock(socket_path.with_name(socket_path.name + ".lock"), guards=f"the socket {socket_path}").acquire()
    ours: int | None = None
    try:
        if socket_accepts(socket_path):
            raise EngineLocked(f"something already answers on {socket_path}; stop it or set api.socket elsewhere")
        async with trio.open_nursery() as nursery:
            binds = list(await nursery.start(serve_listener, Guard(app, max_body=settings.api.max_body_bytes, tokens=None),
                                             _config(f"unix:{socket_path}")))
            os.chmod(socket_path, 0o600)
            ours = socket_path.stat().st_ino
            if settings.api.tcp:
                token, read_only = read_tokens(settings)
                if not token:
                    raise ConfigError([("api.tcp", "TCP needs a bearer token")])
                tokens = {token: (False, settings.api.token_name)}
                if read_only:
                    tokens[read_only] = (True, settings.api.read_only_token_name)
                guard = Guard(app, max_body=settings.api.max_body_bytes, tokens=tokens)
                binds += await nursery.start(partial(
                    serve_listener, guard, _config(settings.api.tcp, idle_timeout=settings.api.header_timeout),
                    max_connections=connection_budget(settings.api.max_connections)))
            task_status.started(binds)
            await trio.sleep_forever()
    finally:
        try:  # the listeners are closed; remove the socket only if it is still the one we bound
            if ours is not None and socket_path.is_socket() and socket_path.stat().st_ino == ours:
                socket_path.unlink()
        finally:
            lock.release()
    raise AssertionError("unreachable")  # pragma: no cover
