"""`shiftboss bench queue` runs end to end and reports each figure beside its baseline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_tool


@pytest.mark.slow
def test_bench_queue_reports_figures_and_the_redis_baseline() -> None:
    require_tool("redis-server")
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "queue", "--jobs", "2000", "--batch", "500",
                          "--samples", "50", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("submit_rate", "claim_complete_rate", "lifecycle_rate"):
        assert result[key] > 0
    assert 0 < result["submit_latency_ms"]["p50"] <= result["submit_latency_ms"]["p99"]
    baseline = result["baseline"]
    assert baseline["push_rate"] > 0 and baseline["pop_rate"] > 0 and baseline["loop_rate"] > 0
    assert result["lifecycle_vs_redis"] == round(result["lifecycle_rate"] / baseline["loop_rate"], 2)
    assert result["targets"] == {"submit_rate": 20000, "lifecycle_rate": 5000, "lifecycle_vs_redis": 1.0}


@pytest.mark.slow
def test_bench_console_times_keys_to_fresh_frames_with_jobs_streaming() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "console", "--jobs", "3000", "--samples", "5",
                          "--load", "200", "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["jobs_in_store"] >= 3000
    for key, n in (("open_jobs", 5), ("page_down", 10), ("filter", 5)):
        figures = result[key]
        assert figures["n"] == n and 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert result["cursor_row"] > 0  # the page-downs really moved through the table
    assert 20 < result["rss_mb"] < 2000
    assert result["events_per_s"] > 0 and result["events_received"] > 0  # the console followed a live stream
    assert result["targets"] == {"p99_ms": 100.0, "rss_mb": 200.0}


@pytest.mark.slow
def test_bench_evm_runs_both_sides_on_anvil() -> None:
    from tests.engine.evm.conftest import require_anvil

    require_anvil()
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "evm", "--workflows", "10", "--burst", "10",
                          "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["workflows"] == 10 and result["target_speedup"] == 3.0 and result["target_of_raw_send"] == 0.3
    assert result["engine"]["per_s"] > 0 and result["baseline"]["per_s"] > 0 and result["raw_send"]["per_s"] > 0
    assert result["speedup"] == round(result["engine"]["per_s"] / result["baseline"]["per_s"], 2)
    assert result["of_raw_send"] == round(result["engine"]["per_s"] / result["raw_send"]["per_s"], 2)
    assert result["raw_send"]["per_s"] == sorted(result["raw_send"]["rounds_per_s"])[1]  # the median of 3 rounds
    assert result["engine"]["per_s"] == sorted(result["engine"]["rounds_per_s"])[1]  # taken in turn with them
    assert result["sign_backend"] == "coincurve"  # a dependency: eth-keys signs natively
    burst = result["burst"]
    assert burst["workflows"] == 10 and 0 < burst["p50_s"] <= burst["seconds"] and result["target_burst_s"] == 6.0
    assert burst["raw_send_seconds"] > 0  # the floor, measured beside it


@pytest.mark.slow
def test_bench_kale_runs_both_sides_on_the_local_chain() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "kale", "--farmers", "3", "--block-seconds", "20",
                          "--work-delay", "10", "--margin", "3", "--ledger-seconds", "1", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    (size,) = report["sizes"]
    ours, seed = size["engine"], size["seed_shape"]
    assert ours["planted"] == 3 and ours["worked"] == 3 and ours["hashes_median"] > 0
    assert seed["planted"] == 3 and seed["hashes_median"] > 0
    assert size["hashes_ratio"] == round(ours["hashes_median"] / seed["hashes_median"], 1)
    assert report["miner_hashes_per_s"] > 0 and report["target"]["hashes_ratio"] == 10.0
    assert ours["resubmissions"] >= ours["resubmitted_farmers"] >= 0 and "pails" not in ours
    shared = size["shared_block"]  # the reward split recomputed from the pails on chain
    assert shared["block_reward"] > 0 and 0 < shared["engine_share"] <= 1
    assert shared["engine"] + shared["seed_shape"] <= shared["block_reward"] and shared["engine"] > 0


@pytest.mark.slow
def test_bench_pool_runs_both_sides_on_real_workers() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "pool", "--jobs", "20", "--workers", "2", "--slots",
                          "2", "--paced", "5", "--hash-seconds", "1", "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    ours, seed = report["engine"], report["seed_shape"]
    assert ours["jobs_per_s"] > 0 and seed["jobs_per_s"] > 0
    assert report["speedup"] == round(ours["jobs_per_s"] / seed["jobs_per_s"], 2)
    assert 0 < ours["dispatch_p50_ms"] <= ours["dispatch_p99_ms"]
    hashing = report["hashing"]
    assert hashing["local_hps"] > 0 and hashing["remote_share"] > 0  # the workers hashed ranges
    assert hashing["efficiency"] == round(hashing["with_remote_hps"] / hashing["local_hps"], 3)


@pytest.mark.slow
def test_bench_cloudmesh_runs_both_sides_on_the_local_node() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "cloudmesh", "--jobs", "12", "--seed-jobs", "1",
                          "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    ours, seed = report["engine"], report["seed_shape"]
    assert ours["exactly_once"] and ours["transactions"] == {"success": 12}
    assert ours["jobs_per_s"] > 0 and seed["jobs_per_s"] > 0
    assert report["speedup"] == round(ours["jobs_per_s"] / seed["jobs_per_s"], 1)


@pytest.mark.slow
def test_bench_structs_runs_both_sides_on_the_local_chain() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "structs", "--proofs", "4", "--range", "30",
                          "--start-age", "40", "--block-seconds", "0.3", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    ours, seed = report["engine"], report["seed_shape"]
    assert ours["exactly_once"] and seed["exactly_once"] and ours["included"] == seed["included"] == 4
    assert ours["first_age"] >= 40 and 0 < ours["p50_s"] <= ours["p99_s"]
    assert report["speedup"] == round(ours["proofs_per_min"] / seed["proofs_per_min"], 1)
