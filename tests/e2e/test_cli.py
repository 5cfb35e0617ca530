"""The real ``shiftboss`` CLI as a subprocess against real engine processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.lifecycle import EngineProcess


def shiftboss(*args: str, socket: Path | None = None, input: str | None = None, env: dict[str, str] | None = None,
              cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTBOSS_")}
    full_env.update(env or {})
    if socket is not None:
        full_env["SHIFTBOSS_SOCKET"] = str(socket)
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, input=input,
                          env=full_env, cwd=cwd, timeout=timeout)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def running_sleep_job(engine: EngineProcess, seconds: float) -> dict[str, Any]:
    """Submit a sleep job through the CLI and wait until it runs."""
    job = as_json(shiftboss("jobs", "submit", "sleep", "-p", f"seconds={seconds}", "--json", socket=engine.socket))
    deadline = time.monotonic() + 10
    while as_json(shiftboss("jobs", "show", job["id"], "--json", socket=engine.socket))["job"]["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job  # type: ignore[no-any-return]


def test_estop_survives_a_restart_until_resume(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e").start()
    sock = engine.socket
    out = shiftboss("estop", "--reason", "suspicious gas prices", socket=sock)
    assert out.returncode == 0 and "E-STOP engaged" in out.stdout
    job = as_json(shiftboss("jobs", "submit", "noop", "--json", socket=sock))
    assert engine.terminate() == 0
    engine = EngineProcess(tmp_path / "e").start()
    try:
        status = as_json(shiftboss("status", "--json", socket=sock))
        assert status["estop"]["active"] is True
        assert status["estop"]["reason"] == "suspicious gas prices"
        time.sleep(0.3)
        assert as_json(shiftboss("jobs", "show", job["id"], "--json", socket=sock))["job"]["state"] == "queued"
        human = shiftboss("status", socket=sock).stdout
        assert "E-STOP ACTIVE" in human and "suspicious gas prices" in human
        assert shiftboss("resume", "--reason", "prices normal", socket=sock).returncode == 0
        shown = shiftboss("jobs", "submit", "noop", "--wait", "--json", socket=sock)
        assert as_json(shown)["state"] == "completed"
        assert as_json(shiftboss("status", "--json", socket=sock))["estop"]["active"] is False
        log = shiftboss("audit", socket=sock).stdout
        assert "estop" in log and "suspicious gas prices" in log and "prices normal" in log
        records = as_json(shiftboss("audit", "--json", "--limit", "5", socket=sock))["records"]
        assert [r["action"] for r in records][:2] == ["submit", "resume"]
    finally:
        assert engine.terminate() == 0


def test_sigterm_stops_gracefully_with_exit_0_and_puts_running_work_back(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e", "[engine]\ngrace_period = 0.5\n").start()
    job = running_sleep_job(engine, 60)
    # pausing lets the running job go on; the pause (persisted) keeps it queued after the restart
    assert shiftboss("pools", "pause", "default", "--reason", "inspect", socket=engine.socket).returncode == 0
    started = time.monotonic()
    assert engine.terminate(timeout=20) == 0
    assert time.monotonic() - started < 10
    assert not engine.socket.exists()
    assert not (tmp_path / "e" / "engine.pid").exists()
    with EngineProcess(tmp_path / "e"):
        shown = as_json(shiftboss("jobs", "show", job["id"], "--json", socket=engine.socket))["job"]
    assert shown["state"] == "queued" and shown["attempts"] == 0
    assert shown["history"][0]["outcome"] == "interrupted"


def test_detach_then_stop(tmp_path: Path) -> None:
    data = tmp_path / "d"
    out = shiftboss("run", "--detach", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert "engine started" in out.stdout
    pid = int((data / "engine.pid").read_text())
    try:
        os.kill(pid, 0)
        assert (data / "engine.log").exists()
        again = shiftboss("run", "--detach", "--data-dir", str(data))
        assert again.returncode == 1 and f"pid {pid}" in again.stderr and "already running" in again.stderr
        stopped = shiftboss("stop", "--data-dir", str(data))
        assert stopped.returncode == 0, stopped.stderr
        assert f"engine stopped (pid {pid})" in stopped.stdout
        assert not (data / "engine.sock").exists()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_second_engine_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "e") as first:
        second = shiftboss("run", "--data-dir", str(tmp_path / "e"), timeout=30)
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr
        assert shiftboss("status", socket=first.socket).returncode == 0  # the first still serves


def test_a_corrupted_database_gets_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "e"
    data.mkdir()
    (data / "shiftboss.db").write_bytes(os.urandom(8192))
    out = shiftboss("run", "--data-dir", str(data), timeout=30)
    assert out.returncode == 2
    assert "not an SQLite database" in out.stderr
    assert "Traceback" not in out.stderr


def test_config_check_names_every_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\nsynchronous = "FAST"\n[pools.default]\nconcurency = 4\n[api]\ntoken = "hunter2"\n')
    out = shiftboss("config", "check", "--config", str(bad), env={"SHIFTBOSS_ENGINE__GRACE_PERIOD": "-1"})
    assert out.returncode == 2
    assert "store.synchronous: Input should be 'NORMAL' or 'FULL'" in out.stderr
    assert "pools.default.concurency: unknown key" in out.stderr
    assert "api.token: unknown key; secrets are never read from the TOML" in out.stderr
    assert "engine.grace_period:" in out.stderr and "[from SHIFTBOSS_ENGINE__GRACE_PERIOD]" in out.stderr
    assert "hunter2" not in out.stderr + out.stdout
    js = shiftboss("config", "check", "--config", str(bad), "--json")
    assert js.returncode == 2
    problems = {p["key"] for p in json.loads(js.stdout)["problems"]}
    assert problems == {"store.synchronous", "pools.default.concurency", "api.token"}
    good = tmp_path / "good.toml"
    good.write_text('[store]\nsynchronous = "FULL"\n[pools.default]\nconcurrency = 4\n')
    ok = shiftboss("config", "check", "--config", str(good))
    assert ok.returncode == 0 and "configuration OK" in ok.stdout and "synchronous=FULL" in ok.stdout
    repo_config = Path(__file__).parents[2] / "config.toml"
    assert shiftboss("config", "check", "--config", str(repo_config)).returncode == 0
    unknown_kind = tmp_path / "kinds.toml"
    unknown_kind.write_text('[pools.default]\nkinds = ["noop", "teleport"]\n')
    out = shiftboss("config", "check", "--config", str(unknown_kind))
    assert out.returncode == 2 and "pools.default.kinds[1]: unknown job kind 'teleport'" in out.stderr


def test_an_invalid_config_never_half_starts_the_engine(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scheduler]\nbackoff_cap = 0\n")
    out = shiftboss("run", "--data-dir", str(tmp_path / "e"), "--config", str(bad), timeout=30)
    assert out.returncode == 2 and "scheduler.backoff_cap" in out.stderr
    assert not (tmp_path / "e" / "shiftboss.db").exists()


def test_clients_without_an_engine_say_so(tmp_path: Path) -> None:
    out = shiftboss("status", socket=tmp_path / "none.sock")
    assert out.returncode == 3
    assert "no engine answers" in out.stderr and "shiftboss run" in out.stderr
    js = shiftboss("status", "--json", socket=tmp_path / "none.sock")
    assert js.returncode == 3 and json.loads(js.stdout)["error"]["code"] == "unreachable"


def test_jobs_commands_round_trip(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "e") as engine:
        sock = engine.socket
        assert shiftboss("pools", "pause", "default", "--reason", "staging", socket=sock).returncode == 0
        created = as_json(shiftboss("jobs", "submit", "noop", "--count", "12", "--json", socket=sock))
        assert len(created["jobs"]) == 12
        bad = shiftboss("jobs", "submit", "sleep", "-p", "seconds=forever", socket=sock)
        assert bad.returncode == 1 and "payload.seconds" in bad.stderr
        listed = as_json(shiftboss("jobs", "list", "--state", "queued", "--limit", "5", "--json", socket=sock))
        assert listed["total"] == 12 and len(listed["jobs"]) == 5
        table = shiftboss("jobs", "list", "--state", "queued", socket=sock).stdout
        assert "12 of 12" in table.splitlines()[-1] or "of 12" in table
        dry = shiftboss("jobs", "cancel", "--kind", "noop", "--dry-run", socket=sock)
        assert "12 job(s) would be cancelled" in dry.stdout
        refused = shiftboss("jobs", "cancel", "--kind", "noop", socket=sock, input="n\n")
        assert refused.returncode == 1 and "Aborted" in refused.stderr
        assert as_json(shiftboss("status", "--json", socket=sock))["counts"] == {"queued": 12}
        done = shiftboss("jobs", "cancel", "--kind", "noop", "--reason", "wrong batch", socket=sock, input="y\n")
        assert done.returncode == 0 and "cancel: 12 of 12" in done.stdout
        one = created["jobs"][0]["id"]
        shown = as_json(shiftboss("jobs", "show", one, "--json", socket=sock))
        assert shown["job"]["state"] == "cancelled"
        assert shown["audit"] == [] or all(r["action"] != "retry" for r in shown["audit"])
        retried = as_json(shiftboss("jobs", "retry", one, "--reason", "try again", "--json", socket=sock))
        assert retried == {"id": one, "state": "queued"}
        conflict = shiftboss("jobs", "retry", one, socket=sock)
        assert conflict.returncode == 1 and "it is queued" in conflict.stderr
        audit = as_json(shiftboss("jobs", "show", one, "--json", socket=sock))["audit"]
        assert [(r["action"], r["reason"]) for r in audit] == [("retry", "try again")]
        assert audit[0]["actor"].endswith(os.uname().nodename)
        missing = shiftboss("jobs", "show", "noop_NOPE", socket=sock)
        assert missing.returncode == 1 and "no job with id" in missing.stderr


def test_schema_import_stays_light() -> None:
    code = "import sys, engine.schema; print(sorted(m for m in ('trio', 'hypercorn', 'starlette', 'engine.store') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_watch_follows_one_job_to_its_end(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "e", "[scheduler]\nbackoff_base = 0.05\n") as engine:
        job = as_json(shiftboss("jobs", "submit", "demo.flaky", "-p", "fail_times=1", "--json", socket=engine.socket))
        out = shiftboss("jobs", "watch", job["id"], socket=engine.socket, timeout=30)
        assert out.returncode == 0
        lines = out.stdout.splitlines()
        assert any("running → retrying" in line and "demo_flaky" in line for line in lines)
        assert "running → completed" in lines[-1]


def test_reload_applies_live_keys_reports_the_rest_and_refuses_a_bad_file(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e", "[pools.default]\nconcurrency = 2\n")
    config = tmp_path / "e" / "config.toml"
    with engine:
        sock = engine.socket
        config.write_text("[pools.default]\nconcurrency = 5\n[scheduler]\nbackoff_base = 2.5\n"
                          "[store]\nlease_ttl = 10\n[pools.extra]\nkinds = [\"sleep\"]\n")
        result = as_json(shiftboss("reload", "--reason", "more capacity", "--json", socket=sock))
        assert result["applied"] == ["pools.default.concurrency", "scheduler.backoff_base"]
        assert result["restart_needed"] == ["pools.extra.concurrency", "pools.extra.device", "pools.extra.hash_on",
                                            "pools.extra.health_interval", "pools.extra.kinds", "pools.extra.remote",
                                            "pools.extra.threads", "pools.extra.workers", "store.lease_ttl"]
        pools = as_json(shiftboss("pools", "list", "--json", socket=sock))["pools"]
        assert [(p["name"], p["concurrency"]) for p in pools] == [("default", 5)]
        record = as_json(shiftboss("audit", "--json", "--limit", "1", socket=sock))["records"][0]
        assert (record["action"], record["reason"]) == ("config-reload", "more capacity")
        config.write_text("[pools.default]\nconcurrency = 0\n")
        bad = shiftboss("reload", socket=sock)
        assert bad.returncode == 1 and "pools.default.concurrency" in bad.stderr and "not reloaded" in bad.stderr
        assert as_json(shiftboss("pools", "list", "--json", socket=sock))["pools"][0]["concurrency"] == 5
        config.write_text("[pools.default]\nconcurrency = 7\n")
        assert engine.proc is not None
        engine.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while as_json(shiftboss("pools", "list", "--json", socket=sock))["pools"][0]["concurrency"] != 7:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_stop_falls_back_to_sigterm_when_the_api_is_gone(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e").start()
    engine.socket.unlink()  # the engine lives on, but no client can reach it
    out = shiftboss("stop", socket=engine.socket, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "sending SIGTERM" in out.stderr and "engine stopped" in out.stdout
    assert engine.proc is not None and engine.proc.wait(10) == 0


def test_a_second_sigterm_cuts_the_grace_period_short(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e", "[engine]\ngrace_period = 120\n").start()
    running_sleep_job(engine, 300)
    assert engine.proc is not None
    started = time.monotonic()
    engine.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert engine.proc.poll() is None  # waiting out the grace period for the running job
    engine.proc.send_signal(signal.SIGTERM)
    engine.proc.send_signal(signal.SIGTERM)  # and a third, late one: still a clean exit
    assert engine.proc.wait(20) == 0
    assert time.monotonic() - started < 15
    log = engine.log_path.read_text()
    assert "interrupting running jobs now" in log and "engine stopped" in log
    assert not (tmp_path / "e" / "engine.pid").exists()


def test_chains_set_height_and_list(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "e") as engine:
        out = shiftboss("chains", "set-height", "structs", "1234", "--reason", "manual", socket=engine.socket)
        assert out.returncode == 0 and "structs at height 1,234" in out.stdout
        listed = as_json(shiftboss("chains", "list", "--json", socket=engine.socket))["chains"]
        assert [(c["name"], c["head"]) for c in listed] == [("structs", 1234)]
        bad = shiftboss("chains", "set-height", "structs", "-1", socket=engine.socket)
        assert bad.returncode == 2
        bare = shiftboss("chains", socket=engine.socket)  # no subcommand: the list, not help with exit 2
        assert bare.returncode == 0 and "structs" in bare.stdout and "1,234" in bare.stdout
        pools = shiftboss("pools", socket=engine.socket)
        assert pools.returncode == 0 and "default" in pools.stdout and "pow" in pools.stdout
    with EngineProcess(tmp_path / "e") as again:  # persisted
        assert as_json(shiftboss("chains", "list", "--json", socket=again.socket))["chains"][0]["head"] == 1234


def test_console_refuses_clearly_without_an_engine_a_token_or_a_known_key(tmp_path: Path) -> None:
    r = shiftboss("console", "--data-dir", str(tmp_path / "d"), "--no-start")
    assert r.returncode == 3, r.stderr
    assert "no engine answers at" in r.stderr and "shiftboss run --detach" in r.stderr
    assert not (tmp_path / "d" / "engine.pid").exists()  # nothing was started
    r = shiftboss("console", "--attach", "http://127.0.0.1:9")
    assert r.returncode == 2 and "needs a token" in r.stderr
    r = shiftboss("console", "--attach", str(tmp_path / "elsewhere.sock"), "--start")
    assert r.returncode == 3 and "elsewhere.sock" in r.stderr  # never starts an engine for a foreign socket
    r = subprocess.run([sys.executable, "-m", "console", "--attach", "x.sock", "--keymap", '{"estopp": "x"}'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown action 'estopp'" in r.stderr


def test_usage_errors_under_json_are_one_json_document() -> None:
    out = shiftboss("jobs", "lisst", "--json")
    assert out.returncode == 2
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "usage" and "No such command 'lisst'" in error["message"]
    plain = shiftboss("jobs", "lisst")
    assert plain.returncode == 2 and "No such command" in plain.stderr and not plain.stdout
