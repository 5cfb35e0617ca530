"""What a job asks for: the manifest (the fields of sandrun's ``job.json`` that a sandbox can
honour), and the limits a host grants.

A field the sandbox cannot honour is refused with its name and the reason, never ignored:
``requirements`` (no package installs: a job brings its files, or picks an ``environment`` the
worker offers), ``gpu``, an interpreter the host does not have, or a limit above the host's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from engine.sandbox._errors import Refused

#: interpreters a job may name → the program run (looked up on the host's /usr)
INTERPRETERS = {"python3": "python3", "python": "python3", "node": "node", "bash": "bash", "sh": "sh"}
#: the interpreter of an entrypoint that names none, by its extension (sandrun's rule)
BY_EXTENSION = {".py": "python3", ".js": "node", ".mjs": "node", ".cjs": "node", ".sh": "bash"}


@dataclass(frozen=True)
class Limits:
    """What one job may use, for the whole job (every process it starts, together)."""

    cpu_seconds: int = 60
    memory_bytes: int = 1024 * 2**20
    processes: int = 64
    disk_bytes: int = 512 * 2**20  # the job's writable space: its folder, and /tmp, each a tmpfs this big
    open_files: int = 256
    file_bytes: int = 64 * 2**20  # the largest file it may write (stdout and stderr included)
    wall_seconds: float = 120.0
    output_bytes: int = 64 * 1024  # of stdout and of stderr, kept
    archive_bytes: int = 100 * 2**20  # unpacked, in total
    archive_members: int = 10_000


class Manifest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What to run from the job's files, and what to keep (sandrun's ``job.json`` fields)."""

    entrypoint: Annotated[str, Meta(description="the script to run, a path inside the files")]
    interpreter: Annotated[Literal["python3", "python", "node", "bash", "sh"],
                           Meta(description="run the entrypoint with; empty: by its extension (.py, .js, .sh)")] \
        | None = None
    environment: Annotated[str, Meta(description="a named environment the worker offers (its `environments`)")] \
        | None = None
    args: Annotated[list[str], Meta(description='arguments after the entrypoint, e.g. ["--n", "3"]')] = []
    env: Annotated[dict[str, str], Meta(description='extra environment, e.g. {"MODE": "fast"}')] = {}
    timeout: Annotated[float, Meta(gt=0, le=86_400, description="wall-clock seconds (at most the worker's)")] \
        | None = None
    memory_mb: Annotated[int, Meta(gt=0, description="memory for the whole job, MiB (at most the worker's)")] \
        | None = None
    cpu_seconds: Annotated[int, Meta(gt=0, description="CPU seconds (at most the worker's)")] | None = None
    outputs: Annotated[list[str], Meta(description='files to keep: paths, directories ("results/") or globs '
                                                   '("*.png", "logs/**"), e.g. ["out/result.json"]')] = []
    requirements: Annotated[str, Meta(description="refused: the sandbox installs nothing (use `environment`)")] \
        | None = None
    gpu: Annotated[Any, Meta(description="refused: no GPU is offered to sandboxed jobs")] = None

    def check(self) -> None:
        """Refuse what no host can honour (the host's own offers are checked by :meth:`fit`)."""
        _relative(self.entrypoint, "entrypoint")
        for i, out in enumerate(self.outputs):
            _relative(out.rstrip("/") or ".", f"outputs[{i}]", allow_dot=True)
        if self.requirements is not None:
            raise Refused("requirements: installing packages is not offered; bring them in the files or name an "
                          "`environment` the worker offers")
        if self.gpu is not None:
            raise Refused("gpu: no GPU is offered to sandboxed jobs")
        if self.interpreter is not None and self.interpreter not in INTERPRETERS:
            raise Refused(f"interpreter: {self.interpreter!r} is not offered (offered: {', '.join(INTERPRETERS)})")
        if self.interpreter is None and PurePosixPath(self.entrypoint).suffix not in BY_EXTENSION:
            raise Refused(f"interpreter: none given, and {self.entrypoint!r} has no extension that names one "
                          f"({', '.join(BY_EXTENSION)})")
        if self.timeout is not None and not 0 < self.timeout <= 86_400:
            raise Refused("timeout: must be between 0 and 86400 seconds")
        for name, value in self.env.items():
            if not name.isidentifier():
                raise Refused(f"env: {name!r} is not a variable name")
            if "\x00" in value:
                raise Refused(f"env: {name} holds a NUL byte")
        if any("\x00" in arg for arg in self.args):
            raise Refused("args: an argument holds a NUL byte")

    def program(self) -> str:
        """The interpreter to run (``python3``, ``node``, …)."""
        return INTERPRETERS[self.interpreter or BY_EXTENSION[PurePosixPath(self.entrypoint).suffix]]

    def fit(self, limits: Limits) -> Limits:
        """The limits of this run: the host's, lowered where the manifest asks for less; a field
        asking for more than the host grants is refused, naming the field and the host's figure."""
        asked: dict[str, Any] = {}
        for field, attr, unit, scale in (("memory_mb", "memory_bytes", "MiB", 2**20),
                                         ("cpu_seconds", "cpu_seconds", "s", 1),
                                         ("timeout", "wall_seconds", "s", 1)):
            value = getattr(self, field)
            if value is None:
                continue
            granted = getattr(limits, attr)
            if value * scale > granted:
                raise Refused(f"{field}: {value:g} is more than this worker allows ({granted / scale:g} {unit})")
            asked[attr] = type(granted)(value * scale)
        return replace(limits, **asked)


def _relative(path: str, field_name: str, *, allow_dot: bool = False) -> None:
    p = PurePosixPath(path)
    if path == "." and allow_dot:
        return
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
