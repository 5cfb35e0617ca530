"""`shiftboss db migrate|status` on both backends, and `run --store` in the background: the
engine keeps its queue in PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.lifecycle import EngineProcess


def shiftboss(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_db_migrate_and_status_on_both_backends(pg_cluster: Any, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    migrated = shiftboss("db", "migrate", "--store", url, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema version" in migrated.stdout
    status = json.loads(shiftboss("db", "status", "--store", url, "--json", cwd=tmp_path).stdout)
    assert status["backend"] == "postgresql" and status["jobs"] == {} and status["database_id"]
    (tmp_path / "config.toml").write_text(f'[engine]\ndata_dir = "{tmp_path / "data"}"\n')
    local = json.loads(shiftboss("db", "status", "--json", cwd=tmp_path).stdout)
    assert local["backend"] == "sqlite" and local["where"].endswith("shiftboss.db")
    refused = shiftboss("db", "status", "--store", "postgresql://nobody@/none?host=/nonexistent", cwd=tmp_path)
    assert refused.returncode == 2 and "cannot connect" in refused.stderr


def test_an_engine_started_with_store_keeps_its_queue_in_postgresql(pg_cluster: Any, tmp_path: Path) -> None:
    url = pg_cluster.new_database()
    with EngineProcess(tmp_path / "engine", "[engine]\ngrace_period = 0.5\n", extra_args=["--store", url]) as engine, \
            engine.client() as client:
        job = client.post("/v1/jobs", {"kind": "noop"})
        assert job["state"] in ("queued", "running", "completed")
    status = json.loads(shiftboss("db", "status", "--store", url, "--json", cwd=tmp_path).stdout)
    assert sum(status["jobs"].values()) == 1 and status["last_event"] > 0
    assert not (tmp_path / "engine" / "shiftboss.db").exists()  # nothing went to SQLite
