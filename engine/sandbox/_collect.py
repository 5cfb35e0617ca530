"""Outputs copied out of a finished job's folder without following anything the job made.

Called only once every process of the job is gone, with a descriptor of the job's folder (whose
file system outlives the job's mount namespace while the descriptor is open). Every step is an
``openat`` relative to its parent with ``O_NOFOLLOW``; each file is checked by ``fstat`` on the
opened descriptor: a symlink, a hardlink (``st_nlink > 1``), a FIFO, a socket or a device is
never read, and is reported. Patterns: a path (``out/result.json``), a directory (``results/``
or ``results``: everything under it), or a glob (``*.png``; ``**`` crosses directories).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 20_000
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_DIR = _OPEN | os.O_DIRECTORY


@dataclass
class Collected:
    kept: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path → why it was not copied
    unmatched: list[str] = field(default_factory=list)  # patterns that matched nothing


def _pattern(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over relative paths; a plain path also matches everything under it."""
    out, i = [], 0
    body = pattern.rstrip("/")
    while i < len(body):
        if body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if body in ("", ".") else "".join(out)
    return re.compile(rf"{prefix}(/.*)?" if prefix else ".*", re.DOTALL)


def collect(root_fd: int, patterns: list[str], dest: Path) -> Collected:
    """Copy the entries of the tree at ``root_fd`` that match ``patterns`` into ``dest``."""
    result = Collected()
    if not patterns:
        return result
    matchers = [(p, _pattern(p)) for p in patterns]
    hits = {p: False for p in patterns}
    seen = 0

    def walk(dir_fd: int, prefix: str) -> None:
        nonlocal seen
        for name in sorted(os.listdir(dir_fd)):
            seen += 1
            if seen > MAX_ENTRIES:
                raise OSError(f"more than {MAX_ENTRIES} entries in the job's folder")
            rel = f"{prefix}{name}"
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            wanted = [p for p, rx in matchers if rx.fullmatch(rel)]
            if stat.S_ISDIR(st.st_mode):
                below = any(rx.fullmatch(rel) or _may_lead(p, rel) for p, rx in matchers)
                if below:
                    fd = _open_dir(name, dir_fd)
                    if fd is None:
                        result.refused[rel + "/"] = "not a directory any more"
                        continue
                    try:
                        walk(fd, rel + "/")
                    finally:
                        os.close(fd)
                continue
            if not wanted:
                continue
            for p in wanted:
                hits[p] = True
            _copy(name, dir_fd, rel, dest, result)

    walk(root_fd, "")
    result.unmatched = [p for p, hit in hits.items() if not hit]
    return result


def _may_lead(pattern: str, directory: str) -> bool:
    """Whether something under ``directory`` may match ``pattern`` (so the walk goes in)."""
    if "**" in pattern:
        return True
    parts = pattern.rstrip("/").split("/")
    here = directory.split("/")
    if len(here) >= len(parts):
        return False
    return all(_pattern(p).fullmatch(h) is not None and "/" not in h for p, h in zip(parts, here, strict=False))


def _open_dir(name: str, dir_fd: int) -> int | None:
    try:
        return os.open(name, _OPEN_DIR, dir_fd=dir_fd)
    except OSError:
        return None


def _copy(name: str, dir_fd: int, rel: str, dest: Path, result: Collected) -> None:
    try:
        fd = os.open(name, _OPEN, dir_fd=dir_fd)
    except OSError as exc:  # ELOOP: a symlink; ENXIO: a socket
        result.refused[rel] = "a symlink" if exc.errno == errno.ELOOP else f"cannot be opened ({exc.strerror})"
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            result.refused[rel] = "not a regular file (FIFO, device or socket)"
            return
        if st.st_nlink != 1:
            result.refused[rel] = "a hardlink"
            return
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            while chunk := os.read(fd, 1 << 20):
                out.write(chunk)
        result.kept.append(rel)
    finally:
        os.close(fd)
