"""A compute.run job's files as the console and the CLI send them: a directory packed the same
way every time, a tarball passed as is, and what a worker would refuse refused before sending."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from engine.schema.files import FilesError, job_tarball


def _tree(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "main.py").write_text("import lib.util\nprint(lib.util.X)\n")
    (root / "lib" / "util.py").write_text("X = 7\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    return root


def test_a_directory_is_packed_with_its_tree_and_the_same_bytes_every_time(tmp_path: Path) -> None:
    root = _tree(tmp_path / "job")
    data = job_tarball(root)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"lib", "lib/util.py", "main.py", "run.sh"}
        assert tar.extractfile("lib/util.py").read() == b"X = 7\n"  # type: ignore[union-attr]
        assert members["run.sh"].mode == 0o755 and members["main.py"].mode == 0o644
        assert all(m.uid == 0 and m.mtime == 0 for m in members.values())
    os.utime(root / "main.py", (1, 1))  # a touched file, same content: same upload
    assert job_tarball(root) == data
    (root / "main.py").write_text("print(1)\n")
    assert job_tarball(root) != data


def test_a_tarball_is_sent_as_is_and_anything_else_is_refused(tmp_path: Path) -> None:
    packed = tmp_path / "job.tar.gz"
    packed.write_bytes(job_tarball(_tree(tmp_path / "job")))
    assert job_tarball(packed) == packed.read_bytes()
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(FilesError, match="not a tar archive"):
        job_tarball(tmp_path / "notes.txt")
    with pytest.raises(FilesError, match="no such directory or file"):
        job_tarball(tmp_path / "missing")


def test_links_fifos_and_oversize_trees_are_refused_before_sending(tmp_path: Path) -> None:
    root = _tree(tmp_path / "job")
    (root / "secret").symlink_to("/etc/shadow")
    with pytest.raises(FilesError, match="secret: a symbolic link"):
        job_tarball(root)
    (root / "secret").unlink()
    os.mkfifo(root / "pipe")
    with pytest.raises(FilesError, match="pipe: not a regular file"):
        job_tarball(root)
    (root / "pipe").unlink()
    (root / "big.bin").write_bytes(b"\0" * 5000)
    with pytest.raises(FilesError, match="more than 4,096 bytes"):
        job_tarball(root, limit=4096)
