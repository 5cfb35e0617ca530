"""Schemathesis against a real engine over TCP with a token: every operation of /openapi.json gets
generated requests (valid and invalid); no 5xx, and the answers match the declared schemas."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.lifecycle import EngineProcess
from engine.ports import free_port

pytestmark = pytest.mark.slow


def test_the_api_and_its_spec_stay_in_step(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis is not None, "schemathesis is a test dependency (pip install -e '.[test]')"
    port = free_port()
    (tmp_path / "token").write_text("fuzz-token\n")
    config = f'[api]\ntcp = "127.0.0.1:{port}"\ntoken_file = "{tmp_path / "token"}"\n[engine]\nlog_level = "warning"\n'
    with EngineProcess(tmp_path / "engine", config) as engine:
        run = subprocess.run(
            [schemathesis, "run", f"http://127.0.0.1:{port}/openapi.json", "-H", "Authorization: Bearer fuzz-token",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
             "--max-examples", "15", "--seed", "1", "--request-timeout", "10",
             # a stream never ends, and a shutdown would end the run
             "--exclude-path", "/v1/events", "--exclude-path", "/v1/shutdown"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache goes there, not in the repo
        assert engine.proc is not None and engine.proc.poll() is None, "the engine died under the fuzzer"
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases is not None and cases.group(1) == cases.group(2) and int(cases.group(1)) >= 500, run.stdout[-3000:]
    assert re.search(r"Tested: (\d+)", run.stdout) and int(re.search(r"Tested: (\d+)", run.stdout)[1]) >= 20
