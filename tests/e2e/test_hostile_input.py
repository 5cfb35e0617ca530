"""Hostile input against a real engine process: it answers with an error and keeps running."""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.lifecycle import EngineProcess


def _client(engine: EngineProcess) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(engine.socket)), base_url="http://engine", timeout=30)


def test_a_deeply_nested_body_is_refused_and_the_engine_lives(tmp_path: Path) -> None:
    """30,000 levels (an 80 KB body) used to segfault msgspec's decoder: py_ecc raises the
    recursion limit to 100,000 at import, which disables msgspec's own guard."""
    deep = b"[" * 30_000 + b"]" * 30_000
    with EngineProcess(tmp_path / "engine") as engine, _client(engine) as http:
        bodies = {
            "/v1/jobs": b'{"kind": "noop", "payload": {"note": ' + deep + b"}}",
            "/v1/jobs/cancel": b'{"filter": ' + deep + b', "dry_run": true}',
            "/v1/estop": b'{"reason": ' + deep + b"}",
        }
        for path, body in bodies.items():
            r = http.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400, (path, r.text)
            error = r.json()["error"]
            assert error["code"] == "malformed_json" and "levels deep; at most 64" in error["message"]
        assert engine.proc is not None and engine.proc.poll() is None
        status = http.get("/v1/status").json()
        assert status["estop"]["active"] is False and status["counts"] == {}
        nested = {"note": "fine"}
        r = http.post("/v1/jobs", json={"kind": "noop", "payload": nested})
        assert r.status_code == 201


def test_a_second_engine_on_the_same_socket_path_is_refused_and_the_first_keeps_it(tmp_path: Path) -> None:
    """The data-dir lock does not cover a socket configured outside the data dir."""
    import subprocess
    import sys

    shared = tmp_path / "shared.sock"
    config = f'[api]\nsocket = "{shared}"\n'
    first = EngineProcess(tmp_path / "one", config)
    assert first.proc is None
    first.socket = shared
    with first:
        (tmp_path / "two").mkdir()
        (tmp_path / "two" / "config.toml").write_text(config)
        second = subprocess.run([sys.executable, "-m", "engine", "run", "--data-dir", str(tmp_path / "two"),
                                 "--config", str(tmp_path / "two" / "config.toml")],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1, second.stderr
        assert "shared.sock" in second.stderr and ("already" in second.stderr)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(shared)), base_url="http://e") as http:
            assert http.get("/v1/status").json()["pid"] == first.proc.pid  # still the first's socket
    assert not shared.exists()  # removed by the engine that bound it
