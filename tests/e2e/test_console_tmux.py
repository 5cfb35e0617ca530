"""The console in a real terminal (tmux): keys in, the screen read back with capture-pane.
Ctrl-C, or the terminal going away, ends the console and never the engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.client import Client
from engine.lifecycle import EngineProcess, wait_exit
from tests.conftest import require_tool

pytestmark = pytest.mark.slow


class Tmux:
    def __init__(self, binary: str, socket: Path) -> None:
        self.binary, self.socket = binary, socket

    def __call__(self, *args: str) -> str:
        return subprocess.run([self.binary, "-S", str(self.socket), *args], capture_output=True, text=True,
                              check=True, timeout=20).stdout

    def start(self, command: str, name: str = "console") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTBOSS_")}
        env["TERM"] = "xterm-256color"
        subprocess.run([self.binary, "-S", str(self.socket), "new-session", "-d", "-s", name, "-x", "100", "-y",
                        "30", command], check=True, env=env, timeout=20)

    def screen(self, name: str = "console") -> str:
        return self("capture-pane", "-p", "-t", name)

    def wait_for(self, *texts: str, name: str = "console", within: float = 30.0) -> str:
        deadline = time.monotonic() + within
        while True:
            screen = self.screen(name)
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on screen within {within} s:\n{screen}")
            time.sleep(0.1)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(require_tool("tmux"), tmp_path / "tmux.sock")
    yield t
    subprocess.run([t.binary, "-S", str(t.socket), "kill-server"], capture_output=True, timeout=20)


def console_command(*args: str) -> str:
    return " ".join([sys.executable, "-m", "engine", "console", *args]) + "; echo CONSOLE-EXITED-$?; sleep 60"


def test_ctrl_c_and_a_closed_terminal_leave_the_engine_running(tmp_path: Path, tmux: Tmux) -> None:
    with EngineProcess(tmp_path / "e") as engine, engine.client() as client:
        client.post("/v1/jobs", {"kind": "noop"})
        tmux.start(console_command("--attach", str(engine.socket)))
        tmux.wait_for("SHIFTBOSS", "Pools", "Attention", "default")
        tmux("send-keys", "-t", "console", "j")
        tmux.wait_for("STATE", "1 jobs", "noop")
        tmux("send-keys", "-t", "console", "C-c")
        tmux.wait_for("CONSOLE-EXITED-0")
        assert engine.proc is not None and engine.proc.poll() is None
        assert client.get("/v1/status")["pid"] == engine.proc.pid

        tmux.start(console_command("--attach", str(engine.socket)), name="second")
        tmux.wait_for("SHIFTBOSS", "Pools", name="second")
        tmux("kill-session", "-t", "second")  # the terminal goes away under the console (SIGHUP)
        time.sleep(0.5)
        assert engine.proc.poll() is None
        assert client.get("/v1/status")["pid"] == engine.proc.pid


def test_with_no_engine_the_console_offers_to_start_one(tmp_path: Path, tmux: Tmux) -> None:
    data_dir = tmp_path / "data"
    tmux.start(console_command("--data-dir", str(data_dir)))
    tmux.wait_for("No engine answers", "Start one (detached) now? [Y/n]")
    tmux("send-keys", "-t", "console", "y", "Enter")
    tmux.wait_for("SHIFTBOSS", "Pools")  # (the "engine started" lines were cleared by the console)
    tmux("send-keys", "-t", "console", "q")
    tmux.wait_for("CONSOLE-EXITED-0")
    with Client(socket_path=data_dir / "engine.sock", timeout=10) as client:
        pid = client.get("/v1/status")["pid"]
        client.post("/v1/shutdown", {"reason": "test over"})
    assert wait_exit(pid, 30), f"the engine (pid {pid}) did not exit after /v1/shutdown"
