"""What a job may ask for: archives a careful operator would refuse are refused before anything
is written; manifests with sandrun's fields are accepted, or refused naming the field."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from engine.sandbox import Limits, Refused, check_archive, parse_manifest, unpack
from tests.workers import tarball


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
        check_archive(archive, Limits(archive_bytes=4096))
    with pytest.raises(Refused, match=why):
        unpack(archive, str(dest), Limits(archive_bytes=4096))
    assert not any(dest.iterdir())
    assert not (tmp_path / "escape.py").exists()


def test_a_link_inside_the_tree_is_fine(tmp_path: Path) -> None:
    archive = tarball({"lib/a.py": b"A = 1\n"}, [link("b.py", "lib/a.py")])
    assert check_archive(archive, Limits()) == {"lib/a.py"}
    assert unpack(archive, str(tmp_path), Limits()) == 1
    assert (tmp_path / "b.py").read_text() == "A = 1\n"


@pytest.mark.parametrize(("manifest", "why"), [
    ('{"entrypoint": "../x.py"}', "entrypoint"),
    ('{"entrypoint": "/bin/sh"}', "entrypoint"),
    ('{"entrypoint": "m.py", "interpreter": "/usr/bin/perl"}', r"'/usr/bin/perl'.*interpreter"),
    ('{"entrypoint": "m.R", "interpreter": "Rscript"}', r"'Rscript'.*interpreter"),
    ('{"entrypoint": "m.rb"}', "interpreter: none given"),
    ('{"entrypoint": "m.py", "outputs": ["../../etc/passwd"]}', "outputs"),
    ('{"entrypoint": "m.py", "requirements": "requirements.txt"}', "requirements: installing packages"),
    ('{"entrypoint": "m.py", "gpu": {"required": true}}', "gpu: no GPU"),
    ('{"entrypoint": "m.py", "env": {"A-B": "1"}}', "env: 'A-B' is not a variable name"),
    ('{"entrypoint": "m.py", "memory_mb": -1}', "memory_mb"),
    ('{"entrypoint": "m.py", "surprise": 1}', "unknown field"),
    ("{not json", "not JSON"),
])
def test_bad_manifests_are_refused_naming_the_field(manifest: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        parse_manifest(manifest)


def test_sandruns_manifest_is_accepted_and_fitted_to_the_hosts_limits() -> None:
    manifest = parse_manifest('{"entrypoint": "train.js", "args": ["--n", "3"], "outputs": ["results/", "*.png"], '
                              '"timeout": 30, "memory_mb": 256, "cpu_seconds": 10}')
    assert manifest.program() == "node"
    fitted = manifest.fit(Limits(memory_bytes=2**30, cpu_seconds=60, wall_seconds=120))
    assert (fitted.memory_bytes, fitted.cpu_seconds, fitted.wall_seconds) == (256 * 2**20, 10, 30)
    with pytest.raises(Refused, match=r"memory_mb: 256 is more than this worker allows \(128 MiB\)"):
        manifest.fit(Limits(memory_bytes=128 * 2**20))
    with pytest.raises(Refused, match=r"timeout: 30 is more than this worker allows \(10 s\)"):
        manifest.fit(Limits(wall_seconds=10))
