"""The worker's sandbox: an archive unpacked with checks into a fresh directory, then one process
run with limits, and only declared outputs kept.

* **Unpacking** uses tarfile's ``data`` filter (Python's own checks: no absolute paths, nothing
  outside the directory, no links out of it, no device files or FIFOs), plus a member count and a
  total size limit checked before anything is written.
* **Running**: its own session (process group), resource limits (CPU seconds, address space,
  open files, processes, file size), a wall-clock timeout after which the whole group is killed,
  and — where the worker may — its own network namespace (no network: loopback down) and an
  unprivileged user (``nobody``) when the worker runs as root — applied by util-linux's
  ``unshare``, ``prlimit`` and ``setpriv`` exec'd before the interpreter. What it got is probed
  once at start and reported with every run (``isolation``).
* **Afterwards** the group is killed (whatever it left running), declared outputs (regular files
  inside the directory) are copied out, stdout/stderr are capped, and the run directory is
  removed.

The kernel's accounting (``wait4``) gives CPU seconds and peak memory.
"""

from __future__ import annotations

import functools
import io
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import msgspec
import trio
from msgspec import Meta

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
INTERPRETERS = ("python3", "python", "sh", "bash")


def interpreter_path(name: str) -> str:
    """The system's interpreter (the job may run as ``nobody``, who cannot reach a venv under a
    private home); this Python only if the system has none."""
    found = shutil.which(name, path=SAFE_PATH)
    if found is None and name.startswith("python"):
        return sys.executable
    if found is None:
        raise Refused(f"interpreter: {name!r} is not installed on this worker")
    return found


class Refused(Exception):
    """The job cannot be run as given (bad archive or manifest); the message says why."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 60
    memory_bytes: int = 1024 * 2**20
    open_files: int = 256
    processes: int = 64
    file_bytes: int = 64 * 2**20
    wall_seconds: float = 120.0
    output_bytes: int = 64 * 1024  # of stdout and of stderr, kept
    archive_bytes: int = 100 * 2**20  # unpacked, in total
    archive_members: int = 10_000


class Manifest(msgspec.Struct, forbid_unknown_fields=True):
    """What to run from the job's files, and what to keep."""

    entrypoint: Annotated[str, Meta(description="the script to run, a path inside the files")]
    interpreter: Annotated[Literal["python3", "python", "sh", "bash"], Meta(description="run the entrypoint with")] = "python3"
    args: Annotated[list[str], Meta(description='arguments after the entrypoint, e.g. ["--n", "3"]')] = []
    env: Annotated[dict[str, str], Meta(description='extra environment, e.g. {"MODE": "fast"}')] = {}
    timeout: Annotated[float, Meta(gt=0, le=86_400, description="wall-clock seconds (the worker caps it)")] | None = None
    outputs: Annotated[list[str], Meta(description='files to keep after the run, e.g. ["out/result.json"]')] = []

    def check(self) -> None:
        _relative(self.entrypoint, "entrypoint")
        for i, out in enumerate(self.outputs):
            _relative(out, f"outputs[{i}]")
        if self.interpreter not in INTERPRETERS:
            raise Refused(f"interpreter: {self.interpreter!r} is not offered (offered: {', '.join(INTERPRETERS)})")
        if self.timeout is not None and not 0 < self.timeout <= 86_400:
            raise Refused("timeout: must be between 0 and 86400 seconds")
        if any(not k.isidentifier() for k in self.env):
            raise Refused("env: names must be identifiers")


def _relative(path: str, field_name: str) -> None:
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or "\x00" in path:
        raise Refused(f"{field_name}: {path!r} must be a relative path inside the job's files")


def parse_manifest(raw: bytes | str) -> Manifest:
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as exc:
        raise Refused(f"manifest: {exc}") from None
    except msgspec.DecodeError as exc:
        raise Refused(f"manifest: not JSON ({exc})") from None
    manifest.check()
    return manifest


def unpack(archive: bytes, dest: Path, limits: Limits) -> int:
    """Unpack a (possibly compressed) tarball into ``dest``; the number of files. Nothing is
    written unless every member passes."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(archive), mode="r:*")
    except tarfile.TarError as exc:
        raise Refused(f"files: not a tar archive ({exc})") from None
    with tar:
        members = tar.getmembers()
        if len(members) > limits.archive_members:
            raise Refused(f"files: {len(members)} entries, more than {limits.archive_members}")
        if (total := sum(m.size for m in members)) > limits.archive_bytes:
            raise Refused(f"files: {total:,} bytes unpacked, more than {limits.archive_bytes:,}")
        checked = []
        for member in members:
            if member.name.startswith("/") or (member.islnk() and member.linkname.startswith("/")):
                raise Refused(f"files: {member.name!r} refused: AbsolutePath (entries must be relative)")
            try:
                checked.append(tarfile.data_filter(member, str(dest)))
            except tarfile.FilterError as exc:
                raise Refused(f"files: {member.name!r} refused: {type(exc).__name__} ({exc})") from None
        tar.extractall(dest, members=checked, filter="data")
    return sum(1 for m in checked if m.isfile())


# --- isolation ----------------------------------------------------------------------------
#
# The limits, the namespace and the user change are applied by util-linux's ``unshare``,
# ``prlimit`` and ``setpriv`` exec'd in a chain before the interpreter, not by Python code run
# between fork and exec: the worker then spawns with vfork (no copy of its page tables, no
# interpreter in the child), which costs a tenth of the CPU per run. Each tool exits non-zero
# without running the rest when it cannot do its part, so a run never goes on with less.

NET_WAYS = (("--net",), ("--user", "--net"))  # as root; else with a user namespace
TOOLS = ("unshare", "prlimit", "setpriv")


@functools.cache
def _tool(name: str) -> str:
    """Where util-linux's ``name`` is (looked up once: every run's argv needs three of them)."""
    found = shutil.which(name, path=SAFE_PATH)
    if found is None:
        raise Refused(f"the sandbox needs util-linux's {name} (apt-get install util-linux)")
    return found


@dataclass(frozen=True)
class Isolation:
    drop_to: tuple[int, int] | None  # (uid, gid) to run as, when the worker is root
    net: tuple[str, ...]  # unshare options that gave a network namespace (empty: none could be had)
    names: tuple[str, ...]

    @staticmethod
    def probe() -> Isolation:
        """What this worker can do, found by trying it in a child process."""
        for name in TOOLS:
            _tool(name)
        drop = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("nobody")
                drop = (entry.pw_uid, entry.pw_gid)
            except KeyError:
                drop = None
        for net in NET_WAYS:
            if _probe_net(Isolation(drop, net, ())):
                return Isolation(drop, net, _names(drop, net))
        return Isolation(drop, (), _names(drop, ()))

    def argv(self, limits: Limits, command: list[str]) -> list[str]:
        """``command`` wrapped: network namespace, limits, then the user (and its process limit,
        counted against that user, set after the change)."""
        chain = [_tool("unshare"), *self.net, "--"] if self.net else []
        chain += [_tool("prlimit"), f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}",
                  f"--nofile={limits.open_files}", f"--fsize={limits.file_bytes}", "--core=0", "--"]
        if self.drop_to is not None:
            chain += [_tool("setpriv"), f"--reuid={self.drop_to[0]}", f"--regid={self.drop_to[1]}", "--clear-groups",
                      "--"]
        return [*chain, _tool("prlimit"), f"--nproc={limits.processes}", "--", *command]


def reachable_by(path: Path, uid: int) -> Path | None:
    """The first directory above ``path`` that ``uid`` cannot pass through (None: all can)."""
    for parent in path.resolve().parents:
        st = parent.stat()
        if not (st.st_mode & 0o001 or (st.st_uid == uid and st.st_mode & 0o100)):
            return parent
    return None


def _names(drop: tuple[int, int] | None, net: tuple[str, ...]) -> tuple[str, ...]:
    names = ["session", "rlimits"]
    if drop is not None:
        names.append("user:nobody")
    if net:
        names.append("net:none")
    return tuple(names)


def _probe_net(isolation: Isolation) -> bool:
    mine = os.readlink("/proc/self/ns/net")
    command = [interpreter_path("python3"), "-c", "import os; print(os.readlink('/proc/self/ns/net'))"]
    try:
        out = subprocess.run(isolation.argv(Limits(), command), capture_output=True, text=True, timeout=20,
                             start_new_session=True, cwd="/")
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() not in ("", mine)


# --- running ------------------------------------------------------------------------------

@dataclass
class RunResult:
    state: str  # completed | failed | timeout | cancelled
    exit_code: int | None
    signal: str | None
    cpu_seconds: float
    memory_peak_bytes: int
    wall_seconds: float
    stdout: str
    stderr: str
    isolation: list[str]
    limit: str | None = None  # which limit stopped it, when one did
    outputs: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"status": self.state, "exit_code": self.exit_code, "signal": self.signal,
                "execution_metadata": {"cpu_seconds": round(self.cpu_seconds, 3),
                                       "memory_peak_bytes": self.memory_peak_bytes,
                                       "wall_seconds": round(self.wall_seconds, 3), "isolation": self.isolation,
                                       "limit": self.limit},
                "stdout": self.stdout, "stderr": self.stderr, "outputs": self.outputs}


async def run(work: Path, results: Path, manifest: Manifest, limits: Limits, isolation: Isolation,
              cancel: trio.Event | None = None) -> RunResult:
    """Run ``manifest`` in ``work`` (already unpacked); copy its outputs to ``results``; remove
    ``work``. Cancelling the caller kills the process group too."""
    wall = min(limits.wall_seconds, manifest.timeout or limits.wall_seconds)
    if isolation.drop_to is not None:
        _chown_tree(work, *isolation.drop_to)
    out_path, err_path = work.parent / f"{work.name}.stdout", work.parent / f"{work.name}.stderr"
    env = {"PATH": SAFE_PATH, "HOME": str(work), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           **manifest.env}
    argv = [interpreter_path(manifest.interpreter), manifest.entrypoint, *manifest.args]
    began = time.monotonic()
    proc = await trio.to_thread.run_sync(_spawn, isolation.argv(limits, argv), work, env, out_path, err_path)
    stopped: list[str] = []  # why the group was killed before it ended by itself

    async def stopper() -> None:
        """Kills the process group at the wall-clock limit or on cancel — and in any case once
        the waiting ends, so nothing it started outlives the run."""
        try:
            with trio.move_on_after(wall):
                if cancel is None:
                    await trio.sleep_forever()
                await cancel.wait()
                stopped.append("cancelled")
            if not stopped:
                stopped.append("timeout")
        finally:
            _kill_group(proc.pid)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stopper)
        # not abandoned on cancel: the stopper's kill makes it return, and it reaps the child
        reaped = await trio.to_thread.run_sync(os.wait4, proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(reaped[1])  # reaped here: Popen must not wait again
        nursery.cancel_scope.cancel()
    state = stopped[0] if stopped else "completed"
    with trio.move_on_after(2.0):  # SIGKILL lands asynchronously: until nothing of the group still runs
        while _group_alive(proc.pid):
            _kill_group(proc.pid)
            await trio.sleep(0.02)
    _, status, usage = reaped
    wall_seconds = time.monotonic() - began
    code = os.waitstatus_to_exitcode(status)
    exit_code, sig = (code, None) if code >= 0 else (None, signal.Signals(-code).name)
    stdout, stderr = _head(out_path, limits.output_bytes), _head(err_path, limits.output_bytes)
    if state == "completed" and code != 0:
        state = "failed"
    result = RunResult(state=state, exit_code=exit_code, signal=sig, cpu_seconds=usage.ru_utime + usage.ru_stime,
                       memory_peak_bytes=usage.ru_maxrss * 1024, wall_seconds=wall_seconds, stdout=stdout,
                       stderr=stderr, isolation=list(isolation.names),
                       limit=_limit_hit(state, sig, stderr, wall_seconds, wall))
    try:
        result.outputs = _collect(work, results, manifest.outputs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        out_path.unlink(missing_ok=True)
        err_path.unlink(missing_ok=True)
    return result


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], out_path: Path, err_path: Path) -> subprocess.Popen[bytes]:
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, close_fds=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies, already dead, do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False  # the usual case, without reading /proc
    except PermissionError:
        pass
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _head(path: Path, limit: int) -> str:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    text = data[:limit].decode(errors="replace")
    return text + (f"\n… (cut at {limit:,} bytes)" if len(data) > limit else "")


def _limit_hit(state: str, sig: str | None, stderr: str, wall: float, allowed: float) -> str | None:
    if state == "timeout":
        return f"wall clock ({allowed:g} s)"
    if sig == "SIGXCPU":
        return "cpu seconds"
    if sig == "SIGXFSZ":
        return "file size"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory"
    if "Resource temporarily unavailable" in stderr or "BlockingIOError" in stderr:
        return "processes"
    return None


def _collect(work: Path, results: Path, declared: list[str]) -> list[str]:
    """Copy the declared outputs that exist as regular files inside ``work`` (no links)."""
    kept = []
    root = work.resolve()
    for name in declared:
        source = work / name
        try:
            if source.is_symlink() or not source.is_file() or not source.resolve().is_relative_to(root):
                continue
        except OSError:
            continue
        target = results / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target, follow_symlinks=False)
        kept.append(name)
    return kept
