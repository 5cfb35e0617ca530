"""The committed contract artifacts are what `make contracts` builds from contracts/*.sol."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "engine" / "chains" / "evm" / "artifacts"


def test_committed_artifacts_match_the_sources(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "solc").is_dir():
        message = "node and the npm solc package are needed (`make node`)"
        if IN_CI:
            pytest.fail(message + " — required under CI")
        pytest.skip(message)
    subprocess.run(["node", str(ROOT / "contracts" / "compile.js")], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "ARTIFACTS_OUT": str(tmp_path)})
    built = sorted(p.name for p in tmp_path.glob("*.json"))
    assert built == sorted(p.name for p in ARTIFACTS.glob("*.json")) == [
        "ActionExecutor.json", "DemoTarget.json", "FeeEscrow.json", "WorkflowRegistry.json"]
    for name in built:
        assert json.loads((tmp_path / name).read_text()) == json.loads((ARTIFACTS / name).read_text()), (
            f"{name} is stale: run `make contracts` and commit the artifacts")
