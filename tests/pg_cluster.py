"""A throwaway PostgreSQL cluster for tests: ``initdb`` into a temp dir, a Unix socket there,
``pg_ctl`` start/stop/restart — the Debian ``postgresql`` package's binaries. As root (CI), the
cluster runs as the ``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
_names = itertools.count(1)


def pg_bin(name: str) -> str | None:
    for folder in _BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def require_postgres() -> None:
    """Skip (fail under CI) when PostgreSQL's server binaries are not installed."""
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        why = "PostgreSQL's initdb/pg_ctl are not installed (make system installs the postgresql package)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


class PgCluster:
    USER = "shiftboss"

    def __init__(self, *, durable: bool = False) -> None:
        """``durable``: fsync and synchronous commits on, as a production database runs (for
        benchmarks beside SQLite's synchronous=FULL); tests run without them."""
        require_postgres()
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="shiftboss-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = 5432  # the socket lives in root: no TCP, no clash with another cluster
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        self.root.chmod(0o755)
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", self.USER, "--auth=trust", "--no-sync", "-E", "UTF8")

    def _run(self, *args: str | None) -> None:
        done = subprocess.run([*self._as, *[a for a in args if a]], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> PgCluster:
        options = f"-k {self.root} -c listen_addresses='' -p {self.port} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@/{database}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
