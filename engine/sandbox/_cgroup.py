"""Whole-job memory and process limits through the kernel's control groups, where the host lets
this process make them.

* **cgroup v2**, delegated: the unified hierarchy at ``/sys/fs/cgroup`` with the ``memory`` and
  ``pids`` controllers enabled for the children of this process's cgroup (or of its parent, as
  systemd's ``Delegate=yes`` with ``DelegateSubgroup=`` leaves it).
* **cgroup v1**: writable ``memory`` and ``pids`` hierarchies (a root worker on a v1 host).

Each job gets a group ``shiftboss-<pid>-<n>`` in each hierarchy: ``memory`` capped (swap
included where the host accounts it), ``pids`` capped, the peak read and the limit that was hit
told from the kernel's own counters (an OOM kill, a refused fork). Groups of a process that is
gone (a worker killed -9) are removed at the next probe.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

_serial = itertools.count(1)


@dataclass(frozen=True)
class Cgroups:
    """Where job groups are made: one parent per controller (the same one under v2)."""

    version: int
    memory: Path
    pids: Path

    @property
    def name(self) -> str:
        return f"cgroup-v{self.version}"

    @staticmethod
    def find() -> Cgroups | None:
        """The usable hierarchy, tried by making (and removing) a group; None if there is none."""
        for found in (_v2(), _v1()):
            if found is not None and found._works():
                found._sweep()
                return found
        return None

    def create(self, memory_bytes: int, processes: int) -> JobCgroup:
        name = f"shiftboss-{os.getpid()}-{next(_serial)}"
        group = JobCgroup(self, self.memory / name, self.pids / name)
        try:
            for path in {group.memory, group.pids}:
                path.mkdir()
            if self.version == 2:
                _write(group.memory / "memory.max", memory_bytes)
                with contextlib.suppress(OSError):
                    _write(group.memory / "memory.swap.max", 0)
                _write(group.pids / "pids.max", processes)
            else:
                _write(group.memory / "memory.limit_in_bytes", memory_bytes)
                with contextlib.suppress(OSError):  # only where swap is accounted
                    _write(group.memory / "memory.memsw.limit_in_bytes", memory_bytes)
                _write(group.pids / "pids.max", processes)
        except OSError:
            group.remove()
            raise
        return group

    def _works(self) -> bool:
        try:
            self.create(64 * 2**20, 8).remove()
            return True
        except OSError:
            return False

    def _sweep(self) -> None:
        """Remove the empty groups of engines and workers that are gone."""
        for parent in {self.memory, self.pids}:
            for path in parent.glob("shiftboss-*-*"):
                pid = path.name.split("-")[1]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    with contextlib.suppress(OSError):
                        path.rmdir()


@dataclass
class JobCgroup:
    """One job's group(s): join, read, remove."""

    root: Cgroups
    memory: Path
    pids: Path
    removed: bool = False

    def add(self, pid: int) -> None:
        for path in {self.memory, self.pids}:
            _write(path / "cgroup.procs", pid)

    def peak_bytes(self) -> int | None:
        name = "memory.peak" if self.root.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory / name).read_text())
        except (OSError, ValueError):
            return None

    def hit(self) -> str | None:
        """Which limit the kernel enforced on this job: ``memory`` (an OOM kill) or
        ``processes`` (a refused fork); None if neither."""
        memory_events = "memory.events" if self.root.version == 2 else "memory.oom_control"
        if _counter(self.memory / memory_events, "oom_kill") > 0:
            return "memory"
        if _counter(self.pids / "pids.events", "max") > 0:
            return "processes"
        return None

    def remove(self) -> None:
        """Remove the group(s) once their processes are gone (they may take a moment to leave);
        again: nothing."""
        if self.removed:
            return
        self.removed = True
        for path in {self.memory, self.pids}:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def _write(path: Path, value: int) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _counter(path: Path, key: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _own(controller: str) -> str | None:
    """This process's cgroup path in the hierarchy of ``controller`` ("" for v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, options) of every cgroup mount."""
    out = []
    with contextlib.suppress(OSError), open("/proc/self/mounts") as f:
        for line in f:
            _, point, fstype, options, *_ = line.split()
            if fstype in ("cgroup", "cgroup2"):
                out.append((point, fstype, set(options.split(","))))
    return out


def _v2() -> Cgroups | None:
    own = _own("")
    points = [p for p, fstype, _ in _mounts() if fstype == "cgroup2"]
    if own is None or not points:
        return None
    here = Path(points[0]) / own.lstrip("/")
    for parent in (here, here.parent):
        try:
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if {"memory", "pids"} <= enabled and os.access(parent, os.W_OK):
            return Cgroups(2, parent, parent)
    return None


def _v1() -> Cgroups | None:
    parents = {}
    for controller in ("memory", "pids"):
        own = _own(controller)
        point = next((p for p, fstype, opts in _mounts() if fstype == "cgroup" and controller in opts), None)
        if own is None or point is None:
            return None
        parent = Path(point) / own.lstrip("/")
        if not os.access(parent, os.W_OK):
            return None
        parents[controller] = parent
    return Cgroups(1, parents["memory"], parents["pids"])
