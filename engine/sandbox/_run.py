"""One run: start the sandbox, put the job's files in, let it go, stop it at its limits, and
collect its outputs once every process of it is gone.

Resource handling: the uid lease, the control group, the descriptors of the job's tmpfs and the
run's scratch folder are released whatever happens, cancellation included; the sandbox's init
is held by a pidfd, so a stop never signals a recycled pid. Error handling: a run that could not
start raises :class:`SandboxError` (a failure of the attempt, not a result); everything the job
itself does — crash, limit, timeout — is a :class:`RunResult`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import trio

from engine.sandbox._cgroup import JobCgroup
from engine.sandbox._collect import collect
from engine.sandbox._errors import Refused, SandboxError
from engine.sandbox._host import SYSTEM_PATH, Sandbox
from engine.sandbox._manifest import Limits, Manifest
from engine.sandbox._watch import Usage, usage

START_TIMEOUT = 20.0
#: a file of this size or less left in a tmpfs means the job filled it (the disk quota)
FULL_SLACK = 64 * 1024


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
    limit: str | None = None  # memory | processes | file size | disk | cpu | wall clock
    outputs: list[str] = field(default_factory=list)
    outputs_refused: dict[str, str] = field(default_factory=dict)
    outputs_missing: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {"cpu_seconds": round(self.cpu_seconds, 3), "memory_peak_bytes": self.memory_peak_bytes,
                "wall_seconds": round(self.wall_seconds, 3), "isolation": self.isolation, "limit": self.limit,
                "outputs_refused": self.outputs_refused, "outputs_missing": self.outputs_missing}

    def public(self) -> dict[str, Any]:
        return {"status": self.state, "exit_code": self.exit_code, "signal": self.signal,
                "execution_metadata": self.metadata(), "stdout": self.stdout, "stderr": self.stderr,
                "outputs": self.outputs}


@dataclass
class _Started:
    proc: subprocess.Popen[bytes]
    pidfd: int | None  # the sandbox's init (bwrap mode)
    init_pid: int
    folders: dict[str, int]  # /job, /tmp, /dev/shm → descriptors that outlive the namespace
    streams: tuple[int, int]  # stdout, stderr: memory files (they name no host path to the job)
    began: float


async def run(sandbox: Sandbox, populate: Callable[[str], object], manifest: Manifest, limits: Limits,
              results: Path, cancel: trio.Event | None = None) -> RunResult:
    """Run ``manifest`` in a fresh sandbox whose job folder ``populate(path)`` fills; copy the
    declared outputs to ``results``."""
    limits = manifest.fit(limits)
    interpreter, env_dir = sandbox.program(manifest)
    command = [interpreter, manifest.entrypoint, *manifest.args]
    bins = f"{env_dir}/bin:" if env_dir else ""
    env = {"PATH": bins + SYSTEM_PATH, "HOME": "/job", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "USER": "job",
           "PYTHONDONTWRITEBYTECODE": "1", **manifest.env}
    with sandbox.uids.lease() as uid, _host_folder(sandbox) as scratch:
        if scratch is not None:
            env["HOME"] = env["TMPDIR"] = f"{scratch}/job"
        # + bwrap's monitor and the namespace's init, which are in the group too
        group = sandbox.cgroups.create(limits.memory_bytes, limits.processes + 2) if sandbox.cgroups else None
        try:
            started = await trio.to_thread.run_sync(_start, sandbox, uid, limits, command, env, env_dir,
                                                    scratch, group, populate, manifest.entrypoint)
            try:
                return await _follow(sandbox, started, limits, group, manifest, results, cancel)
            finally:
                for fd in (*started.folders.values(), *started.streams):
                    os.close(fd)
                if started.pidfd is not None:
                    os.close(started.pidfd)
        finally:
            if group is not None and not group.removed:  # a run that concluded removed it already
                await trio.to_thread.run_sync(group.remove)


@contextlib.contextmanager
def _host_folder(sandbox: Sandbox) -> Iterator[Path | None]:
    """Without a sandbox, the job's folder on the host (removed after); with one, none: the job
    lives in the sandbox's tmpfs."""
    if sandbox.isolated:
        yield None
        return
    with tempfile.TemporaryDirectory(dir=sandbox.scratch, prefix=f"run-{os.getpid()}-") as folder:
        yield Path(folder)


def _start(sandbox: Sandbox, uid: int, limits: Limits, command: list[str], env: dict[str, str], env_dir: str | None,
           scratch: Path | None, group: JobCgroup | None, populate: Callable[[str], object], entrypoint: str) -> _Started:
    """Start the sandbox; once its namespaces are set up (bwrap then waits on its go pipe), put
    in the job's files, its limits and its control group, then let the job go."""
    folders: dict[str, int] = {}
    pidfd = None
    proc: subprocess.Popen[bytes] | None = None
    streams = (os.memfd_create("stdout", os.MFD_CLOEXEC), os.memfd_create("stderr", os.MFD_CLOEXEC))
    go_r, go_w = os.pipe() if sandbox.isolated else (-1, -1)
    info_r, info_w = os.pipe() if sandbox.isolated else (-1, -1)
    passed = tuple(fd for fd in (go_r, info_w) if fd >= 0)
    try:
        if scratch is not None:  # no sandbox: the job's folder is on the host, filled before it starts
            cwd = scratch / "job"
            cwd.mkdir(mode=0o700)
            folders["job"] = os.open(cwd, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            _populate(populate, str(cwd), entrypoint)
        argv = sandbox.argv(uid, limits, command, env_dir=env_dir, go_fd=go_r if go_r >= 0 else None,
                            info_fd=info_w if info_w >= 0 else None)
        proc = subprocess.Popen(argv, cwd=str(cwd) if scratch is not None else "/", env=env, stdin=subprocess.DEVNULL,
                                stdout=streams[0], stderr=streams[1], pass_fds=passed, start_new_session=True)
        began = time.monotonic()
        for fd in passed:
            os.close(fd)
        passed = ()
        if group is not None:  # bwrap itself, while it sets up: the kernel's first move into a group
            group.add(proc.pid)  # waits out an RCU grace period (ms); its init, if forked by then, follows below
        if not sandbox.isolated:
            return _Started(proc, None, proc.pid, folders, streams, began)
        init_pid = int(_read_json(info_r, proc, streams[1])["child-pid"])
        pidfd = os.pidfd_open(init_pid)
        _until_set_up(init_pid, proc, streams[1])
        for name in ("job", "tmp", "dev/shm"):
            folders[name] = os.open(f"/proc/{init_pid}/root/{name}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for res, soft, hard in sandbox.rlimits(limits):  # the init forks the job after its go: it inherits them
            resource.prlimit(init_pid, res, (soft, hard))
        if group is not None:
            group.add(init_pid)
        dest = f"/proc/self/fd/{folders['job']}"
        _populate(populate, dest, entrypoint)
        if sandbox.root:
            _chown_tree(dest, uid)
        os.write(go_w, b"\n")
        return _Started(proc, pidfd, init_pid, folders, streams, began)
    except BaseException:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        for fd in (*folders.values(), *streams):
            os.close(fd)
        if pidfd is not None:
            os.close(pidfd)
        raise
    finally:
        for fd in (go_w, info_r, *passed):
            if fd >= 0:
                os.close(fd)


def _populate(populate: Callable[[str], object], dest: str, entrypoint: str) -> None:
    populate(dest)
    entry = os.path.join(dest, entrypoint)
    if os.path.islink(entry) or not os.path.isfile(entry):
        raise Refused(f"entrypoint: {entrypoint!r} is not a file in the job's files")


def _until_set_up(init_pid: int, proc: subprocess.Popen[bytes], stderr: int) -> None:
    """Wait until the sandbox's root is its own and holds ``/job`` (bwrap mounts everything
    before it pivots into the new root, then waits for its go)."""
    host_root = os.stat("/")
    deadline = time.monotonic() + START_TIMEOUT
    pause = 0.0002
    while True:
        try:
            root = os.stat(f"/proc/{init_pid}/root")
            if (root.st_dev, root.st_ino) != (host_root.st_dev, host_root.st_ino) and \
                    os.path.isdir(f"/proc/{init_pid}/root/job"):
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _fail_start(proc, stderr)
        time.sleep(pause)
        pause = min(0.005, pause * 2)


def _fail_start(proc: subprocess.Popen[bytes], stderr: int) -> NoReturn:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    why = _head(stderr, 500).strip()
    raise SandboxError(f"the sandbox did not start: {why or f'exit {proc.returncode}'}")


async def _follow(sandbox: Sandbox, started: _Started, limits: Limits, group: JobCgroup | None,
                  manifest: Manifest, results: Path, cancel: trio.Event | None) -> RunResult:
    stopped: list[str] = []  # why the run was stopped before it ended by itself
    peak, cpu, most = 0, 0.0, 0
    baseline = _tmpfs_used(started)  # the job's files, put in before it started

    def stop(why: str) -> None:
        if not stopped:
            stopped.append(why)
        _kill(sandbox, started)

    async def stopper() -> None:
        """Stops the run at its wall-clock limit or on cancel — and in any case once the waiting
        ends, so nothing it started outlives it."""
        try:
            with trio.move_on_after(limits.wall_seconds):
                if cancel is None:
                    await trio.sleep_forever()
                await cancel.wait()
                stopped.append("cancelled")
            if not stopped:
                stopped.append("wall clock")
        finally:
            _kill(sandbox, started)

    async def watch() -> None:
        """Whole-job memory (where no control group caps it), CPU and peak memory, sampled; a
        job one of whose processes the kernel killed for memory is stopped whole."""
        nonlocal peak, cpu, most
        interval = 0.02
        while True:
            await trio.sleep(interval)  # a job that ends at once is never sampled: it costs nothing
            interval = min(0.1, interval * 1.5)
            held, now, oom = await trio.to_thread.run_sync(_sample, started, group, baseline)
            peak, cpu, most = max(peak, held), max(cpu, now.cpu_seconds), max(most, now.processes)
            if oom or (group is None and held > limits.memory_bytes):
                stop("memory")
            elif group is None and now.processes > limits.processes + 2:  # + the sandbox's init, and a margin for the sampling
                stop("processes")
            elif now.cpu_seconds > limits.cpu_seconds:
                stop("cpu")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stopper)
        nursery.start_soon(watch)
        # not abandoned on cancel: the stopper's kill makes it return, and it reaps the child
        reaped = await trio.to_thread.run_sync(_reap, started)
        nursery.cancel_scope.cancel()
    if not sandbox.isolated:  # no namespace died with it: whatever its group left is killed now
        await _reap_group(started.proc.pid)
    wall = time.monotonic() - started.began
    return await trio.to_thread.run_sync(_conclude, sandbox, started, limits, group, manifest, results, reaped,
                                         stopped, wall, (peak, cpu, most))


def _sample(started: _Started, group: JobCgroup | None, baseline: int) -> tuple[int, Usage, bool]:
    """(memory held as a cgroup counts it, the processes' usage, whether the kernel OOM-killed one)."""
    now = usage(started.init_pid)
    held = now.rss_bytes + now.memfd_bytes + max(0, _tmpfs_used(started) - baseline)
    return held, now, group is not None and group.hit() == "memory"


def _reap(started: _Started) -> tuple[int, int, Any]:
    """Wait for the sandbox to end: bwrap's monitor, then its init (the monitor may exit first;
    the init's end is the namespace's: every process of the job is gone after it)."""
    reaped = os.wait4(started.proc.pid, 0)
    started.proc.returncode = os.waitstatus_to_exitcode(reaped[1])  # reaped here: Popen must not wait again
    if started.pidfd is not None:
        _readable(started.pidfd, 10.0)
    return reaped


def _conclude(sandbox: Sandbox, started: _Started, limits: Limits, group: JobCgroup | None, manifest: Manifest,
              results: Path, reaped: tuple[int, int, Any], stopped: list[str], wall: float,
              watched: tuple[int, float, int]) -> RunResult:
    """The run's result, once every process of it is gone: its exit, the limit that stopped it,
    its outputs copied, its group removed."""
    peak, cpu, most = watched
    _, status, rusage = reaped
    code = os.waitstatus_to_exitcode(status)
    exit_code, sig = _exit(code, sandbox.isolated)
    state = {"cancelled": "cancelled", "wall clock": "timeout"}.get(stopped[0], "failed") if stopped else \
        ("completed" if code == 0 else "failed")
    cgroup_peak = group.peak_bytes() if group else None
    cpu = max(cpu, rusage.ru_utime + rusage.ru_stime)
    limit = _limit(stopped, sig, group, started, limits, cpu=cpu, peak=peak, processes=most)
    outs = collect(started.folders["job"], manifest.outputs, results, limits.disk_bytes)
    if group is not None:
        group.remove()
    return RunResult(state=state, exit_code=exit_code, signal=sig, cpu_seconds=cpu,
                     memory_peak_bytes=cgroup_peak or peak, wall_seconds=wall,
                     stdout=_head(started.streams[0], limits.output_bytes),
                     stderr=_head(started.streams[1], limits.output_bytes), isolation=list(sandbox.names),
                     limit=limit, outputs=outs.kept, outputs_refused=outs.refused, outputs_missing=outs.unmatched)


def _kill(sandbox: Sandbox, started: _Started) -> None:
    """End the run: the sandbox's init (the kernel then kills its whole namespace), or, without
    a sandbox, the session's process group."""
    if started.pidfd is not None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(started.pidfd, signal.SIGKILL)
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(started.proc.pid, signal.SIGKILL)


async def _reap_group(pgid: int) -> None:
    with trio.move_on_after(2.0):
        while True:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                return
            await trio.sleep(0.02)


def _exit(code: int, isolated: bool) -> tuple[int | None, str | None]:
    """(exit code, signal name): the sandbox's init reports a job killed by a signal as
    128 + the signal's number, as shells do."""
    if code < 0:
        return None, signal.Signals(-code).name
    if isolated and code > 128:
        with contextlib.suppress(ValueError):
            return None, signal.Signals(code - 128).name
    return code, None


def _limit(stopped: list[str], sig: str | None, group: JobCgroup | None, started: _Started, limits: Limits, *,
           cpu: float, peak: int, processes: int) -> str | None:
    """Which limit stopped the job, when one did — told from what the sandbox measured, never
    from what the job printed."""
    if stopped and stopped[0] != "cancelled":
        return stopped[0]
    if group is not None and (hit := group.hit()):
        return hit
    if sig in ("SIGXCPU", "SIGKILL") and cpu >= limits.cpu_seconds * 0.9:
        return "cpu"
    if sig == "SIGXFSZ" or _largest_file(started) >= limits.file_bytes:  # Python ignores SIGXFSZ: EFBIG instead
        return "file size"
    for fd in started.folders.values():
        st = os.fstatvfs(fd)
        if st.f_blocks and st.f_bavail * st.f_frsize <= FULL_SLACK:
            return "disk"
    if group is None and peak >= limits.memory_bytes * 0.9:
        return "memory"
    if group is None and processes >= limits.processes - 1:
        return "processes"
    return None


def _tmpfs_used(started: _Started) -> int:
    used = 0
    for fd in started.folders.values():
        st = os.fstatvfs(fd)
        used += (st.f_blocks - st.f_bfree) * st.f_frsize
    return used


def _largest_file(started: _Started, most: int = 2_000) -> int:
    """The size of the largest file the job wrote (its folders, stdout, stderr; a bounded look)."""
    largest = max(os.fstat(fd).st_size for fd in started.streams)
    stack = list(started.folders.values())
    opened: list[int] = []
    try:
        while stack and most > 0:
            dir_fd = stack.pop()
            for entry in os.scandir(dir_fd):
                most -= 1
                if entry.is_dir(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        opened.append(os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd))
                        stack.append(opened[-1])
                elif entry.is_file(follow_symlinks=False):
                    largest = max(largest, entry.stat(follow_symlinks=False).st_size)
    except OSError:
        pass
    finally:
        for fd in opened:
            os.close(fd)
    return largest


def _readable(fd: int, timeout: float) -> bool:
    ready, _, _ = select.select([fd], [], [], timeout)
    return bool(ready)


def _read_json(fd: int, proc: subprocess.Popen[bytes], stderr: int) -> dict[str, Any]:
    """bwrap's ``--info-fd`` object (read until it parses)."""
    data = b""
    while _readable(fd, START_TIMEOUT) and (chunk := os.read(fd, 65536)):
        data += chunk
        try:
            found = json.loads(data)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    _fail_start(proc, stderr)


def _chown_tree(root: str, uid: int) -> None:
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)


def _head(fd: int, limit: int) -> str:
    data = os.pread(fd, limit + 1, 0)
    text = data[:limit].decode(errors="replace")
    return text + (f"\n… (cut at {limit:,} bytes)" if len(data) > limit else "")
