"""What `make demo` does for KALE: the local KALE chain started in the background with demo
farmers (seeds 0600, funded by its friendbot), and an engine run with `--kale-devnet` that farms
for them."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from engine.cli._console import _ensure_kale_devnet
from engine.lifecycle import EngineProcess


@pytest.mark.slow
def test_the_demo_starts_the_kale_chain_and_farms_for_its_demo_farmers(tmp_path: Path) -> None:
    folder = tmp_path / ".demo"
    state_path = _ensure_kale_devnet(folder, farmers=2)
    assert state_path is not None
    state = json.loads(state_path.read_text())
    try:
        seeds = sorted((folder / "kale-farmers").glob("*.secret"))
        assert len(seeds) == 2 and all(stat.S_IMODE(s.stat().st_mode) == 0o600 for s in seeds)
        assert _ensure_kale_devnet(folder, farmers=2) == state_path  # a second `make demo` reuses both
        assert sorted((folder / "kale-farmers").glob("*.secret")) == seeds
        engine = EngineProcess(tmp_path / "engine", "[engine]\ngrace_period = 0.5\n",
                               extra_args=["--kale-devnet", str(state_path)]).start()
        try:
            with engine.client() as client:
                deadline = time.monotonic() + 30
                while True:
                    kale = client.get("/v1/kale")
                    pails = [f["pail"] for f in kale["farmers"] if f["pail"]]
                    if len(pails) == 2 and all(p["state"] in ("planted", "hashing", "worked") for p in pails):
                        break
                    assert time.monotonic() < deadline, kale
                    time.sleep(0.2)
                assert kale["block"]["index"] >= 0 and kale["settings"]["block_interval"] == 60
            log = engine.log_path.read_text()
            assert "kale" in log.lower() and not any(s.read_text().strip() in log for s in seeds)
        finally:
            engine.terminate(30)
    finally:
        os.kill(state["pid"], signal.SIGTERM)
