"""The files of a ``compute.run`` job as they travel: one tarball, uploaded with
``POST /v1/files`` (the answer is its SHA-256, which the job's ``files`` field names).

:func:`job_tarball` makes that tarball from what an operator points at — a directory (packed
here, the same bytes for the same tree, so an unchanged directory is stored once) or an existing
tar archive — and refuses what a worker would refuse anyway (links, device files, over the size)
before anything is sent. The console's trigger form and ``shiftboss jobs submit --upload`` both
use it. Standard library only: the console imports it.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

MAX_UPLOAD_BYTES = 100 * 2**20
UPLOAD_MARK = "x-upload"  # in a payload field's JSON schema: the field takes the SHA-256 of an upload


class FilesError(ValueError):
    """The path cannot be sent as a job's files; the message says why."""


def job_tarball(path: str | os.PathLike[str], limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """A gzip tarball of the directory at ``path``, or the tar archive that ``path`` is."""
    where = Path(path).expanduser()
    if where.is_dir():
        return _pack(where, limit)
    if not where.is_file():
        raise FilesError(f"{where}: no such directory or file")
    if where.stat().st_size > limit:
        raise FilesError(f"{where}: {where.stat().st_size:,} bytes, more than {limit:,}")
    data = where.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FilesError(f"{where}: not a tar archive ({exc}); give a directory or a .tar/.tar.gz") from None
    return data


def _pack(root: Path, limit: int) -> bytes:
    buf = io.BytesIO()
    total = 0
    # mtime 0 and no owner: the same tree gives the same bytes, hence the same SHA-256
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    raise FilesError(f"{rel}: a symbolic link (workers refuse links: copy the file in)")
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                    raise FilesError(f"{rel}: not a regular file or directory")
                info = tarfile.TarInfo(rel)
                info.mode = 0o755 if stat.S_ISDIR(st.st_mode) or st.st_mode & 0o111 else 0o644
                if stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    continue
                total += st.st_size
                if total > limit:
                    raise FilesError(f"{root}: more than {limit:,} bytes of files")
                info.size = st.st_size
                with open(full, "rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()
