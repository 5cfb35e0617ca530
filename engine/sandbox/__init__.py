"""The one sandbox for other people's code (trusted-pool jobs, CloudMesh jobs): bubblewrap
namespaces, a uid per run, tmpfs job space with a quota, whole-job limits, outputs collected
without following links. See :mod:`engine.sandbox._host` for what a job can and cannot do."""

from engine.sandbox._archive import check as check_archive
from engine.sandbox._archive import unpack
from engine.sandbox._errors import Refused, SandboxError, Unavailable
from engine.sandbox._host import MODES, Sandbox
from engine.sandbox._manifest import INTERPRETERS, Limits, Manifest, parse_manifest
from engine.sandbox._run import RunResult, run
from engine.sandbox._uids import DEFAULT_RANGE, parse_range

__all__ = ["DEFAULT_RANGE", "INTERPRETERS", "MODES", "Limits", "Manifest", "Refused", "RunResult", "Sandbox",
           "SandboxError", "Unavailable", "check_archive", "parse_manifest", "parse_range", "run", "unpack"]
