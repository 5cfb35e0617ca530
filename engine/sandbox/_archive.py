"""A job's files: a (possibly compressed) tarball, checked whole before anything is written.

Checks are tarfile's ``data`` filter (Python's own: no absolute paths, nothing outside the
directory, no links out of it, no device files or FIFOs), plus a member count and a total size
limit. :func:`check` runs them when a job is accepted (so a bad archive is a 400, not a failed
run); :func:`unpack` runs them again and writes, into the sandbox's own job folder.

Pythons before 3.11.4 (Debian 12's 3.11.2) have no extraction filters: there the same rules
are applied by :func:`_data_filter`, written after CPython's ``tarfile.data_filter``.
"""

from __future__ import annotations

import io
import os
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
        if hasattr(tarfile, "data_filter"):
            try:
                checked.append(tarfile.data_filter(member, "/job"))
            except tarfile.FilterError as exc:
                raise Refused(f"files: {member.name!r} refused: {type(exc).__name__} ({exc})") from None
        else:
            checked.append(_data_filter(member, "/job"))
    return tar, checked


def _data_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """CPython's ``data`` filter (Lib/tarfile.py, ``_get_filtered_attrs`` with ``for_data``)."""
    def refuse(kind: str, why: str) -> Refused:
        return Refused(f"files: {member.name!r} refused: {kind} ({why})")

    target = os.path.realpath(os.path.join(dest, member.name))
    if os.path.commonpath([target, dest]) != dest:
        raise refuse("OutsideDestinationError", f"{member.name!r} would be extracted outside the destination")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise refuse("SpecialFileError", f"{member.name!r} is a special file")
    if member.issym() or member.islnk():
        if os.path.isabs(member.linkname):
            raise refuse("AbsoluteLinkError", f"{member.name!r} is a link to an absolute path")
        base = os.path.dirname(target) if member.issym() else dest
        if os.path.commonpath([os.path.realpath(os.path.join(base, member.linkname)), dest]) != dest:
            raise refuse("LinkOutsideDestinationError", f"{member.name!r} would link to outside the destination")
    member = member.replace(deep=False) if hasattr(member, "replace") else member
    member.mode = (member.mode & 0o755) | (0o600 if member.isreg() else 0)
    member.uid = member.gid = os.getuid()
    member.uname = member.gname = ""
    return member


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
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:
            tar.extractall(dest, members=members, numeric_owner=True)
    return sum(1 for m in members if m.isfile())
