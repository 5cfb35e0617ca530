"""A job's files: a (possibly compressed) tarball, checked whole before anything is written.

Checks are tarfile's ``data`` filter (Python's own: no absolute paths, nothing outside the
directory, no links out of it, no device files or FIFOs), plus a member count and a total size
limit. :func:`check` runs them when a job is accepted (so a bad archive is a 400, not a failed
run); :func:`unpack` runs them again and writes, into the sandbox's own job folder.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import PurePosixPath

from engine.sandbox._errors import Refused
from engine.sandbox._manifest import Limits


def _members(archive: bytes, limits: Limits) -> tuple[tarfile.TarFile, list[tarfile.TarInfo]]:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(archive), mode="r:*")
        members = tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Refused(f"files: not a tar archive ({exc})") from None
    if len(members) > limits.archive_members:
        raise Refused(f"files: {len(members)} entries, more than {limits.archive_members}")
    if (total := sum(m.size for m in members)) > limits.archive_bytes:
        raise Refused(f"files: {total:,} bytes unpacked, more than {limits.archive_bytes:,}")
    checked = []
    for member in members:
        if member.name.startswith("/") or (member.islnk() and member.linkname.startswith("/")):
            raise Refused(f"files: {member.name!r} refused: AbsolutePath (entries must be relative)")
        try:
            checked.append(tarfile.data_filter(member, "/job"))
        except tarfile.FilterError as exc:
            raise Refused(f"files: {member.name!r} refused: {type(exc).__name__} ({exc})") from None
    return tar, checked


def check(archive: bytes, limits: Limits) -> set[str]:
    """The regular files of a valid archive (normalised relative paths); :class:`Refused` if any
    member would be refused."""
    tar, members = _members(archive, limits)
    tar.close()
    return {str(PurePosixPath(m.name)) for m in members if m.isfile()}


def unpack(archive: bytes, dest: str, limits: Limits) -> int:
    """Unpack into the directory ``dest``; the number of files. Nothing is written unless every
    member passes."""
    tar, members = _members(archive, limits)
    with tar:
        tar.extractall(dest, members=members, filter="data")
    return sum(1 for m in members if m.isfile())
