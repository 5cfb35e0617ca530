"""What a job's processes use right now, read from ``/proc`` — the whole-job memory and CPU
limits on a host without usable control groups.

A job's processes are the sandbox's init and everything below it: a process that leaves its
parent (``setsid``, a double fork) is re-parented to the init of its PID namespace, so the
tree from init holds every one of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    processes: int
    rss_bytes: int
    cpu_seconds: float
    memfd_bytes: int  # memory files the processes hold (memfd_create): memory that no RSS shows


def usage(init_pid: int) -> Usage:
    """The job's live processes below (and with) ``init_pid``, their resident memory, and the CPU
    time of the whole tree (each live process's own and that of the children it reaped)."""
    processes = rss = ticks = 0
    todo = [init_pid]
    seen: set[int] = set()
    memfds: dict[tuple[int, int], int] = {}
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # gone meanwhile
        if fields[0] in (b"Z", b"X"):
            continue
        processes += 1
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, and those of its reaped children
        rss += int(fields[21]) * PAGE
        _memfds(pid, memfds)
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                continue
    return Usage(processes, rss, ticks / TICK, sum(memfds.values()))


def _memfds(pid: int, found: dict[tuple[int, int], int]) -> None:
    """Add the memory files ``pid`` holds open, each once (by device and inode)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return
    for fd in fds:
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith("/memfd:"):
                continue
            st = os.stat(path)
        except OSError:
            continue
        found[(st.st_dev, st.st_ino)] = st.st_blocks * 512
