"""PoW threads report their health from their batches, and 0 H/s when they are not hashing."""

from __future__ import annotations

import time

from engine.pow.runtime import PowRuntime


def test_a_thread_whose_batch_does_not_come_back_is_degraded_then_down() -> None:
    runtime = PowRuntime("pow", threads=2)
    now = time.time()
    slot = runtime._slots[0]
    slot.state, slot.job_id, slot.began = "hashing", "pow-kale_X", now - 1
    slot.meter.add(5_000_000)
    healthy = {w.id: w for w in runtime.workers(now)}
    assert healthy["pow/thread-0"].health == "ok" and healthy["pow/thread-0"].detail["hashrate"]["10s"] > 0
    assert healthy["pow/thread-1"].detail["hashrate"] == {"10s": 0.0, "60s": 0.0, "15m": 0.0}  # idle: 0 H/s
    stuck = {w.id: w for w in runtime.workers(now + 20)}
    assert stuck["pow/thread-0"].health == "degraded" and "no batch back for 21 s" in (stuck["pow/thread-0"].reason or "")
    assert stuck["pow/threads"].health == "degraded"
    assert {w.id: w for w in runtime.workers(now + 120)}["pow/thread-0"].health == "down"
    slot.state = "idle"
    assert {w.id: w for w in runtime.workers(now + 120)}["pow/thread-0"].detail["hashrate"]["10s"] == 0.0


def test_the_pool_total_is_zero_when_no_thread_hashes() -> None:
    runtime = PowRuntime("pow", threads=2)
    slot = runtime._slots[0]
    slot.state, slot.job_id, slot.began = "hashing", "pow-kale_X", time.time() - 1
    runtime.meter.add(5_000_000)
    assert {w.id: w for w in runtime.workers()}["pow/threads"].detail["hashrate"]["10s"] > 0
    slot.state, slot.job_id = "idle", None
    assert {w.id: w for w in runtime.workers()}["pow/threads"].detail["hashrate"] == {"10s": 0.0, "60s": 0.0, "15m": 0.0}
