"""Start an engine as a child process in a data dir and wait until it answers — for
benchmarks, tests and tools that need a real engine of their own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.client import Client, ClientError


def socket_accepts(path: Path) -> bool:
    """Whether something listens on the Unix socket ``path`` (probing with our own socket, which
    we always close: a failed HTTP connect would leak one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class StartFailed(RuntimeError):
    """The engine exited during start-up (``exited``), or did not answer in time."""

    def __init__(self, exited: bool, message: str) -> None:
        self.exited = exited
        super().__init__(message)


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
        self.env = {**os.environ, "SHIFTBOSS_DETACHED": "1", **(env or {})}  # its stderr goes to engine.log
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
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

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
