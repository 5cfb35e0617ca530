"""What the tests of foreign code share: tarballs of job files, the two owners a sandbox is
tried under (root, and an unprivileged user), `shiftboss worker run` as a real process, and
job code that leaves daemons behind with the way to find them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import nacl.signing
import pytest

from engine.ports import free_port
from engine.remote import worker_id
from tests.conftest import IN_CI, require_tool

NOBODY = 65534


def tarball(files: dict[str, str] | dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def owner_variant(who: str) -> None:
    """Skip (fail under CI) the root variant when the tests do not run as root."""
    require_tool("bwrap")
    if who == "root" and os.geteuid() != 0:
        if IN_CI:
            pytest.fail("the sandbox's root variants must run under CI (as root)")
        pytest.skip("the root variant needs the tests to run as root")


def as_owner(who: str) -> list[str]:
    """The prefix that runs a command as ``who`` (nobody when the tests are root and ``who`` is user)."""
    if who == "user" and os.geteuid() == 0:
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    return []


@dataclass
class Worker:
    who: str
    url: str
    id: str
    coordinator: nacl.signing.SigningKey
    proc: subprocess.Popen[bytes]
    key_path: Path
    work_dir: Path


def launch(who: str, home: Path, *extra: str) -> Worker:
    """`shiftboss worker run` as ``who`` (root, or nobody when the tests are root), answering."""
    key_path, work_dir = home / "worker.key", home / "work"
    identity = json.loads(subprocess.run([sys.executable, "-m", "engine", "worker", "keygen", str(key_path), "--json"],
                                         capture_output=True, text=True, check=True).stdout)["worker_id"]
    prefix = as_owner(who)
    if prefix:
        for path in (home, key_path):
            os.chown(path, NOBODY, NOBODY)
    coordinator = nacl.signing.SigningKey.generate()
    port = free_port()
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "engine", "worker", "run", "--key", str(key_path),
                             "--coordinator", worker_id(coordinator.verify_key), "--listen", f"127.0.0.1:{port}",
                             "--slots", "4", "--work-dir", str(work_dir), "--timeout", "60", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
    return Worker(who, url, identity, coordinator, proc, key_path, work_dir)


def stop(worker: Worker) -> str:
    """Stop the worker; what it wrote to stderr."""
    if worker.proc.poll() is None:
        worker.proc.terminate()
    _, err = worker.proc.communicate(timeout=10)
    return err.decode(errors="replace") if err else ""


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def daemons(marker: str, seconds: int = 120) -> str:
    """Job code that leaves a setsid child and a double-forked daemon (named by ``marker``)."""
    return (f"import os, time\n"
            f"if os.fork() == 0:\n    os.setsid()\n    os.execv('/bin/bash', ['bash', '-c', 'exec -a {marker}-setsid sleep {seconds}'])\n"
            f"if os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n"
            f"        os.execv('/bin/bash', ['bash', '-c', 'exec -a {marker}-daemon sleep {seconds}'])\n    os._exit(0)\n"
            f"time.sleep(0.3)\nprint('left', len([p for p in os.listdir('/proc') if p.isdigit()]), 'processes', flush=True)\n")
