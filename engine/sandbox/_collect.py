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
MAX_DEPTH = 64
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


def collect(root_fd: int, patterns: list[str], dest: Path, max_bytes: int) -> Collected:
    """Copy the entries of the tree at ``root_fd`` that match ``patterns`` into ``dest``: at most
    ``max_bytes`` in all (a sparse file counts at its full size), :data:`MAX_ENTRIES` entries
    looked at and :data:`MAX_DEPTH` folders deep; what lies beyond is reported, not copied."""
    result = Collected()
    if not patterns:
        return result
    matchers = [(p, _pattern(p)) for p in patterns]
    hits = {p: False for p in patterns}
    seen, budget = 0, [max_bytes]
    stack: list[tuple[int, str, list[str]]] = [(root_fd, "", sorted(os.listdir(root_fd), reverse=True))]
    try:
        while stack:
            dir_fd, prefix, names = stack[-1]
            if not names:
                stack.pop()
                if dir_fd != root_fd:
                    os.close(dir_fd)
                continue
            name = names.pop()
            seen += 1
            if seen > MAX_ENTRIES:
                result.refused["…"] = f"more than {MAX_ENTRIES:,} entries: the rest was not looked at"
                break
            rel = f"{prefix}{name}"
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if not any(rx.fullmatch(rel) or _may_lead(p, rel) for p, rx in matchers):
                    continue
                if len(stack) > MAX_DEPTH:
                    result.refused[rel + "/"] = f"more than {MAX_DEPTH} folders deep"
                    continue
                fd = _open_dir(name, dir_fd)
                if fd is None:
                    result.refused[rel + "/"] = "not a directory any more"
                    continue
                stack.append((fd, rel + "/", sorted(os.listdir(fd), reverse=True)))
                continue
            wanted = [p for p, rx in matchers if rx.fullmatch(rel)]
            for p in wanted:
                hits[p] = True
            if wanted:
                _copy(name, dir_fd, rel, dest, result, budget)
    finally:
        for dir_fd, _, _ in stack:
            if dir_fd != root_fd:
                os.close(dir_fd)
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


def _copy(name: str, dir_fd: int, rel: str, dest: Path, result: Collected, budget: list[int]) -> None:
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
        if st.st_size > budget[0]:
            result.refused[rel] = f"{st.st_size:,} bytes: over what is left of the outputs' limit ({budget[0]:,})"
            return
        budget[0] -= st.st_size
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            left = st.st_size  # not more than it had when looked at
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                out.write(chunk)
                left -= len(chunk)
        result.kept.append(rel)
    finally:
        os.close(fd)
