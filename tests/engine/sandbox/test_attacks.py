"""The sandbox attacked as a stranger's job would: each attack its own test, each run twice —
with the sandbox's owner (a worker, an engine) running as root and as an unprivileged user —
through the real module in a process of its own (tests/engine/sandbox/runner.py), on the real
bubblewrap. Every test checks that the job's code really ran (its output), not only the verdict."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.workers import NOBODY, as_owner, daemons, owner_variant, processes_with

ROOT_DIR = Path(__file__).resolve().parents[3]


@dataclass
class Owner:
    """Who runs the sandbox: ``root`` or ``user`` (nobody), and where its files are."""

    who: str
    home: Path

    def command(self, spec: Path) -> list[str]:
        return [*as_owner(self.who), sys.executable, "-m", "tests.engine.sandbox.runner", str(spec)]

    def spec(self, jobs: list[dict[str, Any]], **extra: Any) -> Path:
        path = self.home / f"spec-{time.monotonic_ns()}.json"
        path.write_text(json.dumps({"scratch": str(self.home / "scratch"), "results": str(self.home / "results"),
                                    "jobs": jobs, **extra}))
        self.own(path)
        return path

    def own(self, path: Path) -> None:
        if self.who == "user" and os.geteuid() == 0:
            os.chown(path, NOBODY, NOBODY)

    def start(self, jobs: list[dict[str, Any]], **extra: Any) -> subprocess.Popen[str]:
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT_DIR), "ENGINE_SECRET": "s3cr3t-token-in-env"}
        return subprocess.Popen(self.command(self.spec(jobs, **extra)), cwd=ROOT_DIR, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, jobs: list[dict[str, Any]], timeout: float = 60, **extra: Any) -> list[dict[str, Any]]:
        proc = self.start(jobs, **extra)
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        results: list[dict[str, Any]] = json.loads(out)
        return results

    def one(self, code: str, *, limits: dict[str, Any] | None = None, outputs: list[str] | None = None,
            **extra: Any) -> dict[str, Any]:
        return self.run([job(code, limits=limits, outputs=outputs)], **extra)[0]


def job(code: str, *, limits: dict[str, Any] | None = None, outputs: list[str] | None = None) -> dict[str, Any]:
    return {"files": {"main.py": code}, "manifest": {"entrypoint": "main.py", "outputs": outputs or []},
            "limits": {"wall_seconds": 20, **(limits or {})}}


@pytest.fixture(params=["root", "user"])
def owner(request: pytest.FixtureRequest) -> Iterator[Owner]:
    owner_variant(request.param)
    home = Path(tempfile.mkdtemp(prefix="shiftboss-sbx-", dir="/tmp"))
    who = Owner(request.param, home)
    for sub in ("scratch", "results"):
        (home / sub).mkdir()
        who.own(home / sub)
    who.own(home)
    yield who
    shutil.rmtree(home, ignore_errors=True)


def test_a_job_runs_as_its_own_uid_and_only_declared_outputs_survive(owner: Owner) -> None:
    code = ("import os, pathlib\nprint('uid', os.getuid(), 'cwd', os.getcwd())\n"
            "pathlib.Path('results/deep').mkdir(parents=True)\npathlib.Path('results/deep/a.txt').write_text('A')\n"
            "pathlib.Path('b.png').write_text('B')\npathlib.Path('scratch.txt').write_text('not kept')\n"
            "os.symlink('/etc/hostname', 'link.png')\nos.link('b.png', 'hard.txt')\nos.mkfifo('fifo.txt')\n")
    result = owner.one(code, outputs=["results/", "*.png", "hard.txt", "fifo.txt", "missing/*.csv"])
    uid = int(result["stdout"].split()[1])
    assert result["status"] == "completed" and result["stdout"].endswith("cwd /job\n")
    assert uid >= 2_000_000_000 and uid != result["uid"] or owner.who == "user"
    assert sorted(result["outputs"]) == ["results/deep/a.txt"]  # b.png has a second link: refused with hard.txt
    assert result["kept"] == {"results/deep/a.txt": "A"}
    refused = result["execution_metadata"]["outputs_refused"]
    assert refused == {"b.png": "a hardlink", "hard.txt": "a hardlink", "link.png": "a symlink",
                       "fifo.txt": "not a regular file (FIFO, device or socket)"}
    assert result["execution_metadata"]["outputs_missing"] == ["missing/*.csv"]


def test_two_jobs_get_two_uids(owner: Owner) -> None:
    """As root, two real uids; unprivileged, two uids inside their user namespaces (both the
    owner's own uid outside: the only one it may map — reported as such)."""
    code = "import os, time\nprint(os.getuid())\ntime.sleep(0.5)\n"
    first, second = owner.run([job(code), job(code)])
    assert first["stdout"] != second["stdout"]
    assert int(first["stdout"]) >= 2_000_000_000 and int(second["stdout"]) >= 2_000_000_000
    expected = "uid:per-job" if owner.who == "root" else "uid:per-job (user namespace)"
    assert expected in first["execution_metadata"]["isolation"]


def test_setsid_and_double_fork_leftovers_die_with_the_job(owner: Owner) -> None:
    marker = f"sbx{time.monotonic_ns()}"
    result = owner.one(daemons(marker))
    assert result["status"] == "completed" and result["stdout"].startswith("left ")
    assert int(result["stdout"].split()[1]) >= 3  # they really were running beside it
    assert processes_with(marker) == []


def test_leftovers_die_when_the_owner_is_killed(owner: Owner) -> None:
    marker = f"sbx{time.monotonic_ns()}"
    proc = owner.start([job(daemons(marker) + "time.sleep(120)\n", limits={"wall_seconds": 120})])
    deadline = time.monotonic() + 20
    while len(processes_with(marker)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    deadline = time.monotonic() + 5
    while processes_with(marker):
        assert time.monotonic() < deadline, f"left running after kill -9 of the owner: {processes_with(marker)}"
        time.sleep(0.05)


def test_jobs_cannot_see_each_other(owner: Owner) -> None:
    marker = f"sbx{time.monotonic_ns()}"
    first = (f"import os, time, pathlib\npathlib.Path('/tmp/{marker}').write_text('mine')\n"
             f"pathlib.Path('/dev/shm/{marker}').write_text('mine')\npathlib.Path('secret').write_text('mine')\n"
             f"os.execv('/bin/bash', ['bash', '-c', 'exec -a {marker}-first sleep 3'])\n")
    second = (f"import os, time\ntime.sleep(1)\n"
              "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
              "names = [open(f'/proc/{p}/cmdline', 'rb').read() for p in pids]\n"
              f"print('pids', len(pids), 'seen', any(b'{marker}' in n for n in names))\n"
              f"print('tmp', os.path.exists('/tmp/{marker}'), 'shm', os.path.exists('/dev/shm/{marker}'))\n"
              "print('dirs', sorted(os.listdir('/job')), sorted(os.listdir('/tmp')))\n")
    _, seen = owner.run([job(first), job(second)])  # pids: its init and itself
    assert seen["stdout"].splitlines() == ["pids 2 seen False", "tmp False shm False", "dirs ['main.py'] []"], seen
    later = owner.one(f"import os\nprint(os.path.exists('/tmp/{marker}'), os.path.exists('/dev/shm/{marker}'))\n")
    assert later["stdout"] == "False False\n"  # nothing of a job survives it


def test_the_owners_files_environment_and_host_secrets_are_out_of_reach(owner: Owner) -> None:
    key = owner.home / "worker.key"
    key.write_text("PRIVATE-KEY")
    key.chmod(0o600)
    owner.own(key)
    etc_secret = Path(f"/etc/shiftboss-test-{time.monotonic_ns()}.key")
    etc_secret.write_text("ETC-SECRET")
    etc_secret.chmod(0o600)
    owner.own(etc_secret)
    try:
        code = (f"import os\n"
                f"for path in ['{key}', '{etc_secret}', '/etc/shadow', '/root', '{owner.home}', '/proc/1/environ']:\n"
                "    try:\n        data = open(path).read() if not os.path.isdir(path) else os.listdir(path)\n"
                "        print(path, 'READ', repr(data)[:40])\n"
                "    except OSError as exc:\n        print(path, type(exc).__name__)\n"
                "print('env', sorted(os.environ))\n")
        result = owner.one(code, hide=[str(etc_secret)])
    finally:
        etc_secret.unlink()
    out = result["stdout"]
    assert "PRIVATE-KEY" not in out and "ETC-SECRET" not in out and "s3cr3t" not in out, out
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines[str(key)] == "FileNotFoundError" and lines[str(owner.home)] == "FileNotFoundError"
    assert lines["/root"] == "FileNotFoundError"
    assert lines["/etc/shadow"] in ("READ ''", "PermissionError")  # masked with an empty file
    assert lines[str(etc_secret)] == "READ ''"
    assert "ENGINE_SECRET" not in lines["env"]


def test_no_network_not_even_the_hosts_loopback(owner: Owner) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        code = (f"import socket\nfor host in ['127.0.0.1', '1.1.1.1']:\n    s = socket.socket()\n    s.settimeout(2)\n"
                f"    try:\n        s.connect((host, {port}))\n        print(host, 'connected')\n"
                "    except OSError as exc:\n        print(host, 'refused', type(exc).__name__)\n")
        result = owner.one(code)
    finally:
        server.close()
    assert "connected" not in result["stdout"] and result["stdout"].count("refused") == 2, result


def test_memory_is_limited_for_the_whole_job(owner: Owner) -> None:
    code = ("import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        block = b'x' * (600 * 2**20)\n"
            "        time.sleep(20)\n        os._exit(0)\nprint('forked three', flush=True)\n"
            "for _ in range(3):\n    os.wait()\n")
    result = owner.one(code, limits={"memory_bytes": 2**30, "wall_seconds": 30})
    assert result["stdout"].startswith("forked three")
    assert result["execution_metadata"]["limit"] == "memory", result
    assert result["execution_metadata"]["wall_seconds"] < 15


def test_a_fork_bomb_stops_at_the_jobs_limit_without_starving_others(owner: Owner) -> None:
    bomb = ("import os, time\nn = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(10)\n"
            "            os._exit(0)\n        n += 1\n    except OSError as exc:\n"
            "        print('refused after', n, exc.errno, flush=True)\n        break\ntime.sleep(3)\n")
    neighbour = ("import os, time\ntime.sleep(1)\nkids = []\nfor _ in range(10):\n    pid = os.fork()\n"
                 "    if pid == 0:\n        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)\n"
                 "print('forked 10')\n")
    bombed, other = owner.run([job(bomb, limits={"processes": 20, "wall_seconds": 10}), job(neighbour)])
    assert bombed["stdout"].startswith("refused after") and int(bombed["stdout"].split()[2]) <= 20, bombed
    assert bombed["execution_metadata"]["limit"] == "processes", bombed  # the limit that stopped it, named
    assert other["stdout"] == "forked 10\n" and other["status"] == "completed"


def test_a_huge_write_stops_at_the_disk_quota(owner: Owner) -> None:
    code = ("import sys\nchunk = b'\\0' * 2**20\nwritten = 0\n"
            "for target in ['big.bin', '/tmp/big.bin']:\n    try:\n        with open(target, 'wb') as f:\n"
            "            for _ in range(5 * 1024):\n                f.write(chunk)\n                written += 1\n"
            "    except OSError as exc:\n        print(target, 'stopped', exc.strerror, flush=True)\n"
            "print('MiB', written)\nsys.exit(1)\n")
    result = owner.one(code, limits={"disk_bytes": 32 * 2**20, "file_bytes": 1 << 30})
    assert "big.bin stopped No space left on device" in result["stdout"], result
    assert int(result["stdout"].split()[-1]) <= 2 * 33
    assert result["execution_metadata"]["limit"] == "disk"


def test_the_file_size_limit_is_named(owner: Owner) -> None:
    code = "print('writing', flush=True)\nopen('big.bin', 'wb').write(b'x' * 2**21)\n"
    result = owner.one(code, limits={"file_bytes": 2**20})
    assert result["stdout"] == "writing\n" and "File too large" in result["stderr"]  # Python ignores SIGXFSZ
    assert result["execution_metadata"]["limit"] == "file size"


def test_wall_clock_and_cpu_limits_are_named(owner: Owner) -> None:
    looped, burned = owner.run([job("print('looping', flush=True)\nwhile True:\n    pass\n",
                                    limits={"wall_seconds": 1.5, "cpu_seconds": 30}),
                                job("print('burning', flush=True)\nwhile True:\n    pass\n",
                                    limits={"wall_seconds": 30, "cpu_seconds": 1})])
    assert looped["status"] == "timeout" and looped["execution_metadata"]["limit"] == "wall clock"
    assert looped["stdout"] == "looping\n"
    assert burned["status"] == "failed" and burned["execution_metadata"]["limit"] == "cpu", burned
    assert burned["stdout"] == "burning\n" and burned["execution_metadata"]["cpu_seconds"] < 3


def test_peak_memory_is_the_jobs_own(owner: Owner) -> None:
    small, big = owner.run([job("print('small')\n"), job("import time\nblock = b'x' * (200 * 2**20)\nprint('big')\ntime.sleep(0.5)\n")])
    assert small["stdout"] == "small\n" and big["stdout"] == "big\n"
    assert small["execution_metadata"]["memory_peak_bytes"] < 60 * 2**20  # not the owner's ~130 MB
    assert big["execution_metadata"]["memory_peak_bytes"] > 150 * 2**20


def test_a_deep_tree_and_a_huge_listing_are_cut_not_fatal(owner: Owner) -> None:
    deep = ("import os\nos.mkdir('out')\nos.chdir('out')\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n"
            "open('leaf.txt', 'w').write('x')\nprint('deep')\n")
    wide = "import os\nos.mkdir('w')\nfor i in range(25_000):\n    open(f'w/{i}', 'w').close()\nprint('wide')\n"
    neighbour = "import time\ntime.sleep(2)\nopen('n.txt', 'w').write('fine')\nprint('neighbour')\n"
    cut, listed, other = owner.run([job(deep, outputs=["out/"]), job(wide, outputs=["w/"]),
                                    job(neighbour, outputs=["n.txt"])])
    assert cut["stdout"] == "deep\n" and cut["outputs"] == []
    assert any("folders deep" in why for why in cut["execution_metadata"]["outputs_refused"].values())
    assert listed["stdout"] == "wide\n" and 0 < len(listed["outputs"]) < 25_000
    assert "the rest was not looked at" in listed["execution_metadata"]["outputs_refused"]["…"]
    assert other["kept"] == {"n.txt": "fine"}  # the owner went on running its other jobs


def test_sparse_files_cannot_blow_up_the_owners_disk(owner: Owner) -> None:
    code = "for i in range(10):\n    open(f's{i}', 'wb').truncate(64 * 2**20 - 1)\nprint('sparse')\n"
    result = owner.one(code, outputs=["*"], limits={"disk_bytes": 32 * 2**20, "file_bytes": 2**30})
    assert result["stdout"] == "sparse\n" and result["outputs"] == ["main.py"]  # the job's own file, nothing else
    refused = result["execution_metadata"]["outputs_refused"]
    assert len(refused) == 10 and all("over what is left" in why for why in refused.values())
    assert not any((owner.home / "results").rglob("s*"))


def test_memory_files_count_as_memory(owner: Owner) -> None:
    code = ("import os, time\nfds = []\nfor _ in range(24):\n    fd = os.memfd_create('m')\n"
            "    os.write(fd, b'x' * (60 * 2**20))\n    fds.append(fd)\nprint('held', len(fds), flush=True)\n"
            "time.sleep(5)\n")
    result = owner.one(code, limits={"memory_bytes": 256 * 2**20, "file_bytes": 2**30, "wall_seconds": 30})
    assert result["execution_metadata"]["limit"] == "memory", result
    assert result["execution_metadata"]["wall_seconds"] < 5


def test_no_user_namespace_of_its_own_where_no_cgroup_counts_its_mounts(owner: Owner) -> None:
    code = ("import subprocess\nr = subprocess.run(['unshare', '-Urm', 'true'], capture_output=True, text=True)\n"
            "print('unshare', r.returncode)\n")
    result = owner.one(code)
    assert result["stdout"].startswith("unshare ")
    if owner.who == "user":
        assert result["stdout"] != "unshare 0\n"  # refused: --disable-userns


def test_a_job_cannot_name_a_limit_it_did_not_reach(owner: Owner) -> None:
    liar = ("import os, sys\nprint('MemoryError', 'OSError: [Errno 27] File too large', 'No space left on device',\n"
            "      'Resource temporarily unavailable', file=sys.stderr, flush=True)\nos.kill(os.getpid(), 24)\n")
    result = owner.one(liar)
    assert result["signal"] == "SIGXCPU" and result["execution_metadata"]["limit"] is None, result
    assert "MemoryError" in result["stderr"]


def test_stdout_names_no_path_of_the_owner(owner: Owner) -> None:
    result = owner.one("import os\nprint(os.readlink('/proc/self/fd/1'), os.readlink('/proc/self/fd/2'))\n")
    assert result["stdout"] == "/memfd:stdout (deleted) /memfd:stderr (deleted)\n", result
