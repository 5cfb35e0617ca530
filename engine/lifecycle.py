"""An engine process's life seen from outside it: the data-dir lock, starting one detached (a
new session, a log file) or as a child, the pid file, whether a pid is alive, waiting until an
engine answers or has exited — and the trusted pool's worker processes started beside one
(:class:`WorkerProcesses`). The CLI, the benchmarks and the tests use this one module.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from engine.client import Client, ClientError, socket_accepts
from engine.config import Settings
from engine.errors import UnsafeDataDir
from engine.locks import DataDirLock
from engine.ports import free_port

#: set in a detached engine's environment: its stderr already goes to engine.log
DETACHED_ENV = "SHIFTBOSS_DETACHED"


class StartFailed(RuntimeError):
    """The engine exited during start-up (``exited``), or did not answer in time."""

    def __init__(self, exited: bool, message: str) -> None:
        self.exited = exited
        super().__init__(message)


def secure_data_dir(settings: Settings) -> list[str]:
    """Make the data dir safe to hold the database, log, pid file and socket, or refuse.

    Everything the engine creates from here on is private (umask 077: directories 0700, files
    0600). The data dir must belong to this user and be writable by nobody else — else
    :class:`~engine.errors.UnsafeDataDir` with the command that fixes it. A dir (or a database,
    WAL or log) that others may read is made private. ``engine.log`` and ``engine.pid`` must not be
    symlinks (one planted there would point the engine's writes elsewhere). Returns what it
    changed, for the log."""
    os.umask(0o077)
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    st = data_dir.stat()
    if st.st_uid != os.geteuid():
        raise UnsafeDataDir(f"the data dir {data_dir} belongs to uid {st.st_uid}, not to this user "
                            f"(uid {os.geteuid()}); use your own (--data-dir) or: chown {os.geteuid()} {data_dir}")
    if st.st_mode & 0o022:
        raise UnsafeDataDir(f"the data dir {data_dir} is writable by other users (mode {st.st_mode & 0o777:o}); "
                            f"fix it with: chmod 700 {data_dir}")
    changed = []
    if st.st_mode & 0o077:
        data_dir.chmod(0o700)
        changed.append(f"{data_dir}: {st.st_mode & 0o777:o} → 700")
    for name in ("engine.log", "engine.pid"):
        if (data_dir / name).is_symlink():
            raise UnsafeDataDir(f"{data_dir / name} is a symlink; the engine does not follow it: remove it")
    db = settings.db_path
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), settings.log_path):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077 and not path.is_symlink():
            path.chmod(0o600)
            changed.append(f"{path}: {mode & 0o777:o} → 600")
    return changed


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def pid_from_file(path: Path) -> int | None:
    """The live engine named by a pid file, or None."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    return not pid_alive(pid)


def detach(settings: Settings, *, config_path: Path | None = None, demo: bool = False, tcp: str | None = None,
           devnet_state: Path | None = None, kale_state: Path | None = None, cloudmesh_state: Path | None = None,
           structs_state: Path | None = None, timeout: float = 60.0) -> int:
    """Start ``shiftboss run`` in the background (own session, stdin from /dev/null, output to
    engine.log in the data dir) and return its pid once it answers.

    Raises :class:`~engine.errors.EngineLocked` at once if an engine owns the data dir,
    :class:`~engine.errors.UnsafeDataDir` if others could read or redirect it, and
    :class:`StartFailed` if it exits during start-up or does not answer within ``timeout``."""
    DataDirLock(settings.pid_path).acquire().release()  # fail fast, in the foreground
    args = [sys.executable, "-m", "engine", "run", "--data-dir", str(settings.data_dir)]
    if config_path:
        args += ["--config", str(config_path)]
    if demo:
        args.append("--demo")
    if tcp:
        args += ["--tcp", tcp]
    if settings.store.url:  # never holds a password (refused in config)
        args += ["--store", settings.store.url]
    if devnet_state:
        args += ["--devnet", str(devnet_state.resolve())]
    if kale_state:
        args += ["--kale-devnet", str(kale_state.resolve())]
    if cloudmesh_state:
        args += ["--cloudmesh-devnet", str(cloudmesh_state.resolve())]
    if structs_state:
        args += ["--structs-devnet", str(structs_state.resolve())]
    secure_data_dir(settings)
    with open(settings.log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(args, stdin=devnull, stdout=log, stderr=log, start_new_session=True, close_fds=True,
                                 env={**os.environ, DETACHED_ENV: "1"})
    wait_until_answering(settings.socket_path, child, timeout, interval=0.1)
    return child.pid


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_answering(socket_path: Path, proc: subprocess.Popen[bytes], timeout: float,
                         interval: float = 0.05) -> None:
    """Return once the engine ``proc`` answers ``/v1/status`` on ``socket_path``."""
    deadline = time.monotonic() + timeout
    with Client(socket_path=socket_path, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartFailed(True, f"engine exited with {proc.returncode} during start-up")
            if socket_accepts(socket_path):
                try:
                    client.get("/v1/status")
                    return
                except ClientError:
                    pass
            time.sleep(interval)
    raise StartFailed(False, f"engine did not answer within {timeout:g} s")


class EngineProcess:
    """A child engine: ``python -m engine run --data-dir DIR [--config FILE]``."""

    def __init__(self, data_dir: Path, config_text: str | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.data_dir / "engine.sock"
        self.log_path = self.data_dir / "engine.log"
        self.args = [sys.executable, "-m", "engine", "run", "--data-dir", str(self.data_dir)]
        if config_text is not None:
            config = self.data_dir / "config.toml"
            config.write_text(config_text)
            self.args += ["--config", str(config)]
        self.args += extra_args or []
        self.env = {**os.environ, DETACHED_ENV: "1", **(env or {})}  # its stderr goes to engine.log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> EngineProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env)
        self.wait_ready(timeout)
        return self

    def client(self, timeout: float = 30.0) -> Client:
        return Client(socket_path=self.socket, timeout=timeout)

    def wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            wait_until_answering(self.socket, self.proc, timeout)
        except StartFailed as exc:
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the crash the store must survive."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def __enter__(self) -> EngineProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.terminate(30)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcesses:
    """Trusted-pool workers as child processes (``shiftboss worker run``) on loopback, all for one
    coordinator id — for benches, tests and the demo. Keys go under ``root``; the workers' own
    folders (archives, outputs; private) under a fresh folder in /tmp."""

    def __init__(self, root: Path, coordinator: str, *, slots: int = 2) -> None:
        self.root, self.coordinator, self.slots = Path(root), coordinator, slots
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.jobs = Path(tempfile.mkdtemp(prefix="shiftboss-workers-", dir="/tmp"))

    def start(self, name: str, *extra: str, timeout: float = 30.0) -> dict[str, Any]:
        """Start worker ``name`` (``extra``: more ``worker run`` options); its allowlist entry
        (``worker_id``, ``endpoint``, ``max_concurrent_jobs``) once it answers."""
        from engine.remote import generate_key, worker_id

        key_path = self.root / f"{name}.key"
        key = generate_key(key_path)
        port = free_port()
        self.procs[name] = proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "worker", "run", "--key", str(key_path), "--coordinator", self.coordinator,
             "--listen", f"127.0.0.1:{port}", "--slots", str(self.slots), "--work-dir", str(self.jobs / name), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise StartFailed(True, f"worker {name} exited with status {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise StartFailed(False, f"worker {name} did not answer within {timeout:g} s") from None
                time.sleep(0.1)
        return {"worker_id": worker_id(key.verify_key), "endpoint": url, "max_concurrent_jobs": self.slots}

    def kill(self, name: str) -> None:
        """SIGKILL: a worker lost mid-job."""
        self.procs[name].kill()
        self.procs[name].wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        shutil.rmtree(self.jobs, ignore_errors=True)

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
