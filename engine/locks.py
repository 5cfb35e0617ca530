"""Exclusive locks an engine holds for its lifetime (``flock`` on a file that names its pid)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from engine.errors import EngineLocked


class DataDirLock:
    """An exclusive ``flock`` on ``engine.pid`` for the engine's lifetime; the file holds the pid.

    hypercorn deletes an existing socket file before binding, so without this a second engine
    would silently steal the first one's socket.
    """

    def __init__(self, path: Path, guards: str | None = None) -> None:
        self.path = path
        self.guards = guards or str(path.parent)  # what the lock protects, for the message
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode().strip() or "?"
            os.close(fd)
            raise EngineLocked(f"another engine (pid {other}) is already running on {self.guards}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None
