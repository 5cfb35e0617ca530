"""The worker's sandbox, for real: archives a careful operator would refuse are refused before
anything is written; a fork bomb, a memory hog and an infinite loop are contained and named;
only declared outputs survive; the run directory is gone afterwards."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from engine.remote._sandbox import Isolation, Limits, Manifest, Refused, parse_manifest, run, unpack

ISOLATION = Isolation.probe()


def tarball(files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(("archive", "why"), [
    (tarball({"../escape.py": b"x"}), "OutsideDestination"),
    (tarball({"/etc/evil": b"x"}), "AbsolutePath"),
    (tarball({"main.py": b"x"}, [link("out", "/etc/passwd")]), "AbsoluteLink"),
    (tarball({"main.py": b"x"}, [link("up", "../../outside")]), "LinkOutsideDestination"),
    (tarball({"main.py": b"x"}, [link("dev", "", tarfile.CHRTYPE)]), "SpecialFile"),
    (tarball({"big.bin": b"\0" * 5000}), "bytes unpacked"),
    (b"not a tarball at all", "not a tar archive"),
])
def test_bad_archives_are_refused_and_nothing_is_written(tmp_path: Path, archive: bytes, why: str) -> None:
    dest = tmp_path / "work"
    dest.mkdir()
    with pytest.raises(Refused, match=why):
        unpack(archive, dest, Limits(archive_bytes=4096))
    assert not any(dest.iterdir())
    assert not (tmp_path / "escape.py").exists()


def test_a_link_inside_the_tree_is_fine(tmp_path: Path) -> None:
    dest = tmp_path / "work"
    dest.mkdir()
    assert unpack(tarball({"lib/a.py": b"A = 1\n"}, [link("b.py", "lib/a.py")]), dest, Limits()) == 1
    assert (dest / "b.py").read_text() == "A = 1\n"


@pytest.mark.parametrize(("manifest", "why"), [
    ('{"entrypoint": "../x.py"}', "entrypoint"),
    ('{"entrypoint": "/bin/sh"}', "entrypoint"),
    ('{"entrypoint": "m.py", "interpreter": "/usr/bin/perl"}', "interpreter"),
    ('{"entrypoint": "m.py", "outputs": ["../../etc/passwd"]}', "outputs"),
    ('{"entrypoint": "m.py", "surprise": 1}', "unknown field"),
    ("{not json", "not JSON"),
])
def test_bad_manifests_are_refused(manifest: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        parse_manifest(manifest)


@pytest.fixture
def tmp_path(tmp_path: Path) -> Iterator[Path]:
    """A job folder others may pass through: as root, jobs run as nobody (pytest's own temp
    folder is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="shiftboss-sandbox-", dir="/tmp"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def run_code(tmp_path: Path, code: str, limits: Limits | None = None, **manifest: object) -> tuple[object, Path]:
    base = tmp_path / "job"
    (base / "work").mkdir(parents=True)
    base.chmod(0o711)
    (base / "outputs").mkdir()
    unpack(tarball({"main.py": code.encode()}), base / "work", Limits())
    result = await run(base / "work", base / "outputs", Manifest(entrypoint="main.py", **manifest),  # type: ignore[arg-type]
                       limits or Limits(wall_seconds=20), ISOLATION)
    assert not (base / "work").exists()  # the run directory is gone, whatever happened
    return result, base / "outputs"


@pytest.mark.trio
async def test_a_job_runs_and_only_declared_outputs_survive(tmp_path: Path) -> None:
    code = ("import os, pathlib\nprint('ok', os.getcwd().endswith('work'))\n"
            "pathlib.Path('results').mkdir()\npathlib.Path('results/out.txt').write_text('42')\n"
            "pathlib.Path('scratch.txt').write_text('not kept')\nos.symlink('/etc/passwd', 'leak')\n")
    result, outputs = await run_code(tmp_path, code, outputs=["results/out.txt", "scratch-missing", "leak"])
    assert result.state == "completed" and result.exit_code == 0 and result.stdout == "ok True\n"  # type: ignore[attr-defined]
    assert result.outputs == ["results/out.txt"]  # type: ignore[attr-defined]
    assert (outputs / "results/out.txt").read_text() == "42" and not (outputs / "leak").exists()
    assert result.cpu_seconds > 0 and result.memory_peak_bytes > 1_000_000  # type: ignore[attr-defined]
    assert "rlimits" in result.isolation and "session" in result.isolation  # type: ignore[attr-defined]


@pytest.mark.trio
async def test_an_infinite_loop_is_stopped_by_the_wall_clock(tmp_path: Path) -> None:
    with trio.fail_after(15):
        result, _ = await run_code(tmp_path, "while True:\n    pass\n", Limits(wall_seconds=1.5, cpu_seconds=30))
    assert result.state == "timeout" and result.signal == "SIGKILL" and "wall clock" in result.limit  # type: ignore[attr-defined,operator]


@pytest.mark.trio
async def test_cpu_seconds_are_limited(tmp_path: Path) -> None:
    result, _ = await run_code(tmp_path, "while True:\n    pass\n", Limits(wall_seconds=30, cpu_seconds=1))
    assert result.state == "failed" and result.signal in ("SIGXCPU", "SIGKILL") and result.cpu_seconds < 3  # type: ignore[attr-defined]


@pytest.mark.trio
async def test_a_memory_hog_hits_the_memory_limit(tmp_path: Path) -> None:
    result, _ = await run_code(tmp_path, "x = bytearray(2 * 1024**3)\n", Limits(memory_bytes=256 * 2**20))
    assert result.state == "failed" and result.limit == "memory"  # type: ignore[attr-defined]


@pytest.mark.trio
async def test_a_fork_bomb_is_contained(tmp_path: Path) -> None:
    code = ("import os, time\nn = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(30)\n"
            "            os._exit(0)\n        n += 1\n    except OSError as exc:\n"
            "        print('refused after', n, exc, flush=True)\n        break\ntime.sleep(30)\n")
    with trio.fail_after(20):
        result, _ = await run_code(tmp_path, code, Limits(wall_seconds=3, processes=20))
    assert result.state == "timeout"  # type: ignore[attr-defined]
    assert "refused after" in result.stdout  # type: ignore[attr-defined]
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and _cwd(p).startswith(str(tmp_path))]
    assert not leftovers  # the whole group was killed


def _cwd(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cwd").resolve().as_posix()
    except OSError:
        return ""


@pytest.mark.trio
async def test_no_network_where_a_namespace_can_be_had(tmp_path: Path) -> None:
    if "net:none" not in ISOLATION.names:
        pytest.skip("this machine gives no network namespace to the worker (reported as such)")
    code = ("import socket\ns = socket.socket()\ns.settimeout(2)\n"
            "try:\n    s.connect(('1.1.1.1', 53))\n    print('connected')\nexcept OSError as exc:\n    print('no network', exc)\n")
    result, _ = await run_code(tmp_path, code)
    assert "no network" in result.stdout  # type: ignore[attr-defined]


@pytest.mark.trio
async def test_as_root_the_job_runs_as_nobody(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a worker running as root drops to nobody")
    result, _ = await run_code(tmp_path, "import os\nprint(os.getuid())\nopen('/root/x', 'w')\n")
    assert result.stdout.startswith("65534") and "Permission denied" in result.stderr  # type: ignore[attr-defined]
