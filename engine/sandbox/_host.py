"""What this host can give foreign code, probed once at start, and the command that gives it.

With **bubblewrap** (``bwrap``, Flatpak's sandbox; Debian package ``bubblewrap``) every run gets:

* new PID, mount, IPC, UTS, network (loopback only) and cgroup namespaces, ``--die-with-parent``
  and ``--new-session``: when the sandbox's init dies — the job ended, was stopped, or the
  worker or engine died, ``kill -9`` included — the kernel kills every process of the job;
* a read-only ``/usr`` (with ``/bin``, ``/lib*`` as on the host) and ``/etc`` with its secrets
  (``/etc/shadow``, host keys, …) and the caller's own files (keys, data dir, config) masked;
  nothing else of the host: no ``/home``, ``/root``, ``/var``, ``/proc`` of other processes;
* its folder ``/job``, ``/tmp`` and ``/dev/shm`` as size-limited tmpfs (the disk quota), and a
  small ``/run``: nothing of a job survives it;
* its own uid from a range (:mod:`engine.sandbox._uids`): a real one when the worker is root
  (dropped to by ``setpriv`` with every capability cleared), the job's own in a user namespace
  otherwise;
* whole-job memory and process limits through control groups where the host lets this process
  make them (:mod:`engine.sandbox._cgroup`); otherwise the process limit inside the job's own
  user namespace (or per its unique uid), per-process address space, and a watch of the job's
  processes that stops it at the memory and CPU limits.

``mode = "none"`` runs jobs without any of this (own session, rlimits, a host folder): only for
an operator who says so; it is logged loudly and reported everywhere isolation is shown.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from engine.sandbox._cgroup import Cgroups
from engine.sandbox._errors import Refused, Unavailable
from engine.sandbox._manifest import Limits, Manifest
from engine.sandbox._uids import DEFAULT_RANGE, UidPool

log = logging.getLogger("shiftboss.sandbox")

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
#: top-level system paths shown read-only (a symlink on the host, e.g. /bin → usr/bin, stays one)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
#: secrets under /etc a job never sees (masked with an empty file or folder where they exist)
SECRETS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
           "/etc/ssh", "/etc/ssl/private", "/etc/security/opasswd", "/etc/shiftboss", "/etc/krb5.keytab")
MODES = ("bwrap", "none")


@dataclass(frozen=True)
class Sandbox:
    """How this host runs foreign code (made by :meth:`probe`)."""

    mode: str  # bwrap | none
    bwrap: str | None
    root: bool
    cgroups: Cgroups | None
    uids: UidPool
    scratch: Path  # a private folder for each run's stdout and stderr
    environments: dict[str, Path] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    version: str = ""

    @staticmethod
    def probe(scratch: Path, *, mode: str = "bwrap", uid_range: tuple[int, int] = DEFAULT_RANGE,
              environments: dict[str, Path] | None = None, hide: tuple[Path, ...] = ()) -> Sandbox:
        """Find what this host gives, by trying it; :class:`Unavailable` (with what is missing
        and how to get it) when it cannot isolate and ``mode`` is not ``"none"``."""
        if mode not in MODES:
            raise Unavailable(f"sandbox: {mode!r} is not a sandbox (bwrap, or none to run jobs unisolated)")
        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch.chmod(0o700)
        _sweep(scratch)
        empty = scratch / "empty"  # what a masked secret reads as (a bind of /dev/null would be nodev)
        if not empty.exists():
            empty.touch(mode=0o444)
        root = os.geteuid() == 0
        envs = {}
        for name, path in (environments or {}).items():
            if not path.is_dir():
                raise Unavailable(f"environments: {name} = {path} is not a folder")
            envs[name] = path.resolve()
        hidden = tuple(str(p.resolve()) for p in hide if p.exists())
        uids = UidPool(*uid_range, locked=root and mode == "bwrap")
        if mode == "none":
            log.warning("sandbox = none: jobs of other people run UNISOLATED, as %s, with this host's files, "
                        "network and processes in reach", "root" if root else f"uid {os.getuid()}")
            return Sandbox("none", None, root, None, uids, scratch, envs, hidden)
        bwrap = os.environ.get("SHIFTBOSS_BWRAP") or shutil.which("bwrap", path=SYSTEM_PATH)
        if bwrap is None or not os.access(bwrap, os.X_OK):
            raise Unavailable("sandbox: bubblewrap is not installed (apt-get install bubblewrap, or `make system`); "
                              'to run jobs without isolation, knowingly, set sandbox = "none"')
        cgroups = Cgroups.find()
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        sandbox = Sandbox("bwrap", bwrap, root, cgroups, uids, scratch, envs, hidden, version)
        sandbox._try()
        return sandbox

    def _try(self) -> None:
        """Run a trivial job the way every job runs; :class:`Unavailable` with bwrap's reason."""
        with self.uids.lease() as uid:
            argv = self.argv(uid, Limits(), ["/bin/true"])
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False, cwd="/")
            except (OSError, subprocess.SubprocessError) as exc:
                raise Unavailable(f"sandbox: bubblewrap cannot run here ({exc})") from None
        if done.returncode != 0:
            why = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            hint = ("user namespaces are off (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces)"
                    if not self.root else "this host refuses new namespaces even to root")
            raise Unavailable(f"sandbox: bubblewrap cannot isolate here: {why[0]} — {hint}; "
                              'to run jobs without isolation, knowingly, set sandbox = "none"')

    @property
    def names(self) -> tuple[str, ...]:
        """What a job gets here, as shown in ``isolation`` (health, ``/pool``, results, console)."""
        if self.mode == "none":
            return ("none: NOT ISOLATED", "session", "rlimits")
        names = [self.version or "bubblewrap", "namespaces:pid,mount,ipc,uts,net,cgroup", "net:none",
                 "uid:per-job" if self.root else "uid:per-job (user namespace)", "fs:read-only system, tmpfs job"]
        names.append(f"{self.cgroups.name}:memory,pids" if self.cgroups else "limits:rlimits+watch")
        return tuple(names)

    @property
    def isolated(self) -> bool:
        return self.mode == "bwrap"

    # --- one run's command --------------------------------------------------------------------

    def program(self, manifest: Manifest) -> tuple[str, str | None]:
        """The interpreter's path and the environment folder a run uses; :class:`Refused` if this
        host offers neither."""
        env_dir = None
        if manifest.environment is not None:
            if manifest.environment not in self.environments:
                offered = ", ".join(self.environments) or "none"
                raise Refused(f"environment: {manifest.environment!r} is not offered by this worker (offered: {offered})")
            env_dir = str(self.environments[manifest.environment])
        name = manifest.program()
        path = shutil.which(name, path=f"{env_dir}/bin:{SYSTEM_PATH}" if env_dir else SYSTEM_PATH)
        if path is None:
            raise Refused(f"interpreter: {name} is not installed on this worker")
        if self.isolated and not _visible(path, env_dir):
            raise Refused(f"interpreter: {name} ({os.path.realpath(path)}) lies outside what jobs see")
        return path, env_dir

    def rlimits(self, limits: Limits) -> list[tuple[int, int, int]]:
        """The per-process limits of a run, as (resource, soft, hard): set on the sandbox's init
        before the job starts (inherited by all it starts). CPU: SIGXCPU at the limit, SIGKILL a
        second later; processes: counted per run (its own uid as root, its own user namespace
        otherwise); address space only where no control group caps the whole job's memory."""
        out = [(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
               (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
               (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
               (resource.RLIMIT_CORE, 0, 0),
               # with a control group, one over its count, so the group (which counts exactly and
               # names the limit) refuses first; the rlimit stays a backstop
               (resource.RLIMIT_NPROC, limits.processes + bool(self.cgroups), limits.processes + bool(self.cgroups))]
        if self.cgroups is None:
            out.append((resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes))
        return out

    def argv(self, uid: int, limits: Limits, command: list[str], *, env_dir: str | None = None,
             go_fd: int | None = None, info_fd: int | None = None) -> list[str]:
        """``command`` wrapped: bubblewrap (which reports its init on ``info_fd`` and waits on
        ``go_fd`` before it starts the job, so the job's files and limits can be put in first),
        then the uid change (as root). Without a sandbox: util-linux's ``prlimit`` with the
        limits."""
        if self.mode == "none":
            names = {resource.RLIMIT_CPU: "cpu", resource.RLIMIT_NOFILE: "nofile", resource.RLIMIT_FSIZE: "fsize",
                     resource.RLIMIT_CORE: "core", resource.RLIMIT_NPROC: "nproc", resource.RLIMIT_AS: "as"}
            return ["/usr/bin/prlimit", *(f"--{names[r]}={soft}:{hard}" for r, soft, hard in self.rlimits(limits)),
                    "--", *command]
        assert self.bwrap is not None
        argv = [self.bwrap]
        if info_fd is not None and go_fd is not None:
            argv += ["--info-fd", str(info_fd), "--block-fd", str(go_fd)]
        if not self.root:  # and no user namespace of its own inside: no mounts (tmpfs) beyond what is counted
            argv += ["--unshare-user", "--disable-userns", "--uid", str(uid), "--gid", str(uid)]
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
                 "--die-with-parent", "--new-session", "--hostname", "job"]
        for top in SYSTEM:
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += ["--ro-bind", top, top]
        for secret in self.masked:
            argv += ["--tmpfs", secret] if os.path.isdir(secret) else ["--ro-bind", str(self.scratch / "empty"), secret]
        if env_dir is not None and not _under_system(env_dir):
            argv += ["--ro-bind", env_dir, env_dir]
        disk = str(limits.disk_bytes)
        argv += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", disk, "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", disk, "--tmpfs", "/dev/shm",
                 "--perms", "0755", "--size", str(2**20), "--tmpfs", "/run",
                 "--perms", "0700", "--size", disk, "--tmpfs", "/job", "--chdir", "/job", "--"]
        if self.root:
            argv += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--"]
        return [*argv, *command]

    @functools.cached_property
    def masked(self) -> tuple[str, ...]:
        """What is masked in a job's view: the caller's own files (keys, data dir, config) where
        they lie under the system folders, and the host's secrets a job could read — as root
        the job is a uid of its own with no groups, so a secret others may not read needs no
        mask; without root it is the worker's own uid, so every secret that exists is masked."""
        out = [p for p in self.hidden if _under_system(p)]  # the caller's own files: always
        for secret in SECRETS:
            if os.path.lexists(secret) and (not self.root or _readable_by_others(secret)):
                out.append(secret)
        return tuple(out)


def _readable_by_others(path: str) -> bool:
    """Whether a uid with no groups could read the file ``path``, or list and enter the folder."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (st.st_mode & 0o005) == 0o005 if os.path.isdir(path) else bool(st.st_mode & 0o004)


def _sweep(scratch: Path) -> None:
    """Remove the scratch folders of runs whose worker or engine is gone (killed mid-run)."""
    for leftover in scratch.glob("run-*-*"):
        pid = leftover.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(leftover, ignore_errors=True)


def _under_system(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in SYSTEM)


def _visible(path: str, env_dir: str | None) -> bool:
    real = os.path.realpath(path)
    return _under_system(real) or (env_dir is not None and real.startswith(env_dir + "/"))
