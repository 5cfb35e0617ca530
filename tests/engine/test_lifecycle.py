"""The data dir: private from the start, refused when another user could write or redirect it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.errors import UnsafeDataDir
from engine.lifecycle import EngineProcess, secure_data_dir
from tests.conftest import make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def keep_umask() -> object:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_a_world_writable_data_dir_is_refused_with_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    with pytest.raises(UnsafeDataDir, match=f"chmod 700 {data}"):
        secure_data_dir(make_settings(data))


def test_a_readable_data_dir_and_database_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "shiftboss.db").write_bytes(b"")
    (data / "shiftboss.db").chmod(0o644)
    changed = secure_data_dir(make_settings(data))
    assert mode(data) == 0o700 and mode(data / "shiftboss.db") == 0o600
    assert len(changed) == 2


def test_a_planted_log_symlink_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "engine.log").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeDataDir, match="symlink"):
        secure_data_dir(make_settings(data))


def test_an_engine_creates_everything_private(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "engine") as engine, engine.client() as client:
        client.post("/v1/jobs", {"kind": "noop"})
        data = engine.data_dir
        assert mode(data) == 0o700
        for name in ("shiftboss.db", "shiftboss.db-wal", "engine.log", "engine.pid", "engine.sock"):
            assert mode(data / name) & 0o077 == 0, name


def test_the_open_file_limit_is_raised_toward_the_hard_limit() -> None:
    import resource

    from engine.supervisor import raise_fd_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        now = raise_fd_limit(4096)
        assert now == min(4096, hard) and resource.getrlimit(resource.RLIMIT_NOFILE)[0] == now
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
