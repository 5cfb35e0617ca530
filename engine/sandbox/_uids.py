"""One identity per run, from a configured range, so that no two jobs share a uid.

As root the uid is a real one (no account needs to exist): a job's files and processes are its
own, and another job, the worker and its files are another user's. Engines and workers on one
host share the range safely: a uid is held by an ``flock`` on ``<lock dir>/<uid>`` for the run
(released by the kernel if the holder dies). Without root the uid is the job's inside its own
user namespace (mapped to the worker's own uid outside, the only one an unprivileged process may
map); there, mount and PID namespaces keep jobs apart, and no lock is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_RANGE = (2_000_000_000, 65_536)  # far above login users, systemd's dynamic users and subuid ranges
LOCK_DIR = Path("/run/shiftboss/sandbox-uids")


def parse_range(text: str) -> tuple[int, int]:
    """``"first-last"`` → (first, count); ValueError with the reason."""
    first, sep, last = text.partition("-")
    try:
        lo, hi = int(first), int(last if sep else first)
    except ValueError:
        raise ValueError(f"{text!r}: a uid range is FIRST-LAST, e.g. 2000000000-2000065535") from None
    if not 1000 <= lo <= hi < 2**32 - 1:
        raise ValueError(f"{text!r}: uids must lie in 1000…4294967294, FIRST ≤ LAST")
    return lo, hi - lo + 1


@dataclass
class UidPool:
    first: int
    count: int
    locked: bool  # real uids (root): held by flock; else namespace-local, handed out in turn
    lock_dir: Path = LOCK_DIR
    _held: set[int] = field(default_factory=set)
    _mutex: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    @contextlib.contextmanager
    def lease(self) -> Iterator[int]:
        """A uid for one run, free again when the block ends."""
        if not self.locked:
            with self._mutex:
                self._next = (self._next + 1) % self.count
                uid = self.first + self._next
            yield uid
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        start = random.randrange(self.count)
        for step in range(self.count):
            uid = self.first + (start + step) % self.count
            with self._mutex:
                if uid in self._held:
                    continue
                self._held.add(uid)
            fd = os.open(self.lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                with self._mutex:
                    self._held.discard(uid)
                continue
            try:
                yield uid
            finally:
                os.close(fd)  # the flock goes with the descriptor
                with self._mutex:
                    self._held.discard(uid)
            return
        raise RuntimeError(f"every uid of {self.first}…{self.first + self.count - 1} is held by a running job")
