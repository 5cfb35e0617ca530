"""The CUDA KALE kernel keeps the CPU kernel's search contract: run under Numba's CUDA simulator
(no GPU needed), on small ranges, against the reference Keccak."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
from engine.pow import _kale_cuda
from engine.pow.kale import KaleWork
work = KaleWork(0, bytes(32), bytes(31) + bytes([4]))  # the test vector: nonce 26428569 has 6 zeros
out = []
for start, count, per_thread in ((0, 40, 4), (2**32 - 13, 27, 3), (26428560, 16, 16)):
    out.append([start, count, *_kale_cuda.search(work.base, start, count, threads_per_block=4, per_thread=per_thread)])
found = work.search_cuda(26428560, 16, 6)
out.append([found.hashes, found.best_nonce, found.best_zeros, found.found])
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_cuda_kernel_finds_what_the_reference_finds() -> None:
    from engine.pow._result import leading_zero_nibbles
    from engine.pow.kale import MAX_ZEROS, KaleWork

    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    work = KaleWork(0, bytes(32), bytes(31) + bytes([4]))  # the test vector: nonce 26428569 has 6 zeros
    *ranges, found = json.loads(run.stdout)
    assert found == [16, 26428569, 6, True]  # KaleWork.search_cuda: the CPU kernel's contract
    for start, count, nonce, zeros in ranges:
        scores = [(leading_zero_nibbles(work.hash(n)), -n) for n in range(start, start + count)]
        best, negative = max(scores)
        assert (nonce, zeros) == (-negative, min(best, 16)), (start, count)
        assert zeros <= MAX_ZEROS


def test_a_cuda_pool_without_a_cuda_device_refuses_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import trio

    from engine.errors import ConfigError
    from tests.conftest import make_settings, running_engine

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("the CUDA simulator counts as a device")
    settings = make_settings(tmp_path, **{"pools.pow.device": "cuda"})

    async def start() -> None:
        async with running_engine(settings):
            pass

    with pytest.raises(BaseException) as info:
        trio.run(start)
    errors = [info.value] if not isinstance(info.value, BaseExceptionGroup) else list(info.value.exceptions)
    while errors and isinstance(errors[0], BaseExceptionGroup):
        errors = list(errors[0].exceptions)
    assert isinstance(errors[0], ConfigError) and "pools.pow.device" in str(errors[0])
