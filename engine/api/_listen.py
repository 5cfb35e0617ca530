"""One listener of the API, served by hypercorn's Trio connection handler, with what its own
``serve`` lacks: a bound on open connections (a flood of idle or slow-header TCP clients waits
in the kernel's backlog instead of eating the process's file descriptors, so the Unix socket
keeps answering) and the peer's uid on the Unix socket (``SO_PEERCRED``) for the audit log.

Hypercorn's ``TCPServer``/``WorkerContext`` do the HTTP; this module only accepts."""

from __future__ import annotations

import logging
import resource
import socket
import struct
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app

log = logging.getLogger("shiftboss.api")

FD_RESERVE = 128
"""File descriptors kept free for the store, the logs, chain clients and the Unix socket."""

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def connection_budget(wanted: int) -> int:
    """``wanted`` connections, or fewer if the open-file limit would not leave ``FD_RESERVE``."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft - FD_RESERVE >= wanted:
        return wanted
    budget = max(1, soft - FD_RESERVE)
    log.warning("api.max_connections=%d lowered to %d: the open-file limit is %d", wanted, budget, soft)
    return budget


def peer_uid(stream: trio.SocketStream) -> int | None:
    """The uid of the process at the other end of a Unix socket (Linux ``SO_PEERCRED``)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or stream.socket.family != socket.AF_UNIX:
        return None
    _, uid, _ = _UCRED.unpack(stream.socket.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


class _PeerScope:
    """Adds the connection's peer uid to every request's scope."""

    def __init__(self, app: Any, uid: int | None) -> None:
        self.app = app
        self.uid = uid

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.uid is not None:
            scope["shiftboss.peer_uid"] = self.uid
        await self.app(scope, receive, send)


class _Bounded(trio.abc.Listener[trio.SocketStream]):
    """Accepts only while fewer than ``slots`` connections are open; the handler releases."""

    def __init__(self, inner: trio.SocketListener, slots: trio.Semaphore) -> None:
        self.inner = inner
        self.slots = slots

    async def accept(self) -> trio.SocketStream:
        await self.slots.acquire()
        try:
            return await self.inner.accept()
        except BaseException:
            self.slots.release()
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


async def serve_listener(app: Any, config: Config, *, max_connections: int | None = None,
                         task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``app`` on ``config.bind[0]`` until cancelled; report the bound address. Open
    connections get ``config.graceful_timeout`` to finish when serving ends."""
    sockets = config.create_sockets()
    (sock,) = sockets.insecure_sockets
    sock.listen(config.backlog)
    listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
    slots = trio.Semaphore(max_connections) if max_connections else None
    context = WorkerContext(None)
    state = ConnectionState({})

    async def handle(stream: trio.SocketStream) -> None:
        try:
            wrapped = wrap_app(_PeerScope(app, peer_uid(stream)), config.wsgi_max_body_size, "asgi")  # type: ignore[arg-type]
            await TCPServer(wrapped, config, context, state, stream)  # type: ignore[arg-type]
        finally:
            if slots is not None:
                slots.release()

    bound = listener if slots is None else _Bounded(listener, slots)
    where = f"http://{repr_socket_addr(sock.family, sock.getsockname())}"
    async with trio.open_nursery() as connections:
        try:
            async with trio.open_nursery() as accepting:
                await accepting.start(partial(trio.serve_listeners, handle, [bound], handler_nursery=connections))
                task_status.started([where])
                await trio.sleep_forever()
        finally:
            await context.terminated.set()
            connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
