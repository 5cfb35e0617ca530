"""`shiftboss bench pow` runs end to end: our kernel, the C references built here, Python, and
the engine's e-stop latency and loop lag."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_tool


@pytest.mark.slow
def test_bench_pow_reports_every_figure_beside_its_baseline() -> None:
    require_tool("cc")
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "pow", "--seconds", "0.5", "--estops", "5",
                          "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    kale = r["kale"]
    for name in ("ours_1_thread", "ours_all_threads", "c_scalar", "c_simd", "python_pycryptodome"):
        assert kale[name]["hashes_per_s"] > 0, name
    # the C references hash the same job: over the same nonces they find what our kernel finds
    assert kale["c_scalar"]["matches_ours"] and kale["c_simd"]["matches_ours"]
    assert r["estop_ms"]["samples"] == 5 and r["estop_ms"]["p99"] < 1000
    assert r["loop_lag_ms"]["samples"] > 10
    assert set(r["ratios"]) == {"ours_vs_c_intrinsics_per_thread", "ours_vs_c_simd_per_thread", "ours_vs_c_scalar",
                                "ours_vs_python", "scaling"}
    # the intrinsics miners pass their own test vectors and are the yardstick (the fastest of them)
    for intrinsics in (kale["c_intrinsics"], r["structs"]["c_intrinsics"]):
        assert intrinsics["verified"] and intrinsics["hashes_per_s"] == max(intrinsics["rates"].values())
    assert r["target"]["vector_bits"] in (128, 256, 512) and r["cpu_model"]
    assert set(r["met"]) == {"kale", "structs", "hashcash", "scaling", "estop", "loop_lag"}
    structs = r["structs"]
    for name in ("ours_1_thread", "ours_all_threads", "c_scalar", "c_simd", "openssl_low_level", "python_hashlib"):
        assert structs[name]["hashes_per_s"] > 0, name
    for name in ("c_scalar", "c_simd", "openssl_sha256", "openssl_low_level"):
        assert structs[name]["matches_ours"], name
    assert structs["ratios"]["ours_vs_openssl"] > 0
    for name in ("ours_1_thread", "ours_all_threads", "python_hashlib", "c_scalar", "c_simd"):
        assert r["hashcash"][name]["hashes_per_s"] > 0, name
    assert r["hashcash"]["c_scalar"]["matches_ours"] and r["hashcash"]["c_simd"]["matches_ours"]
