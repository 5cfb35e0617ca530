"""What `make demo` does for Structs: `shiftboss structs devnet --detach` with a player key, and
an engine started with `--structs-devnet STATE --demo`, whose demo starts struct builds and
proves them from waiting to included; and the key commands (0600, never overwritten, the secret
never printed)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from engine.chains.cometbft import tx as codec
from engine.lifecycle import EngineProcess
from tests.engine.solana.test_cli import shiftboss


def test_the_demo_devnet_and_an_engine_prove_demo_builds(tmp_path: Path) -> None:
    state_path, key = tmp_path / "structs-devnet.json", tmp_path / "player.key"
    started = shiftboss("structs", "devnet", "--detach", "--rpc-port", "0", "--rest-port", "0", "--block-seconds",
                        "0.2", "--player", str(key), "--state", str(state_path))
    state = json.loads(state_path.read_text())
    assert "fake chain" in started.stdout and state["players"][0]["address"].startswith("structs1")
    assert key.stat().st_mode & 0o777 == 0o600
    try:
        config = "[engine]\ngrace_period = 0.5\n[demo]\ninterval = 60\nstructs_every = 1\n"
        with EngineProcess(tmp_path / "engine", config, extra_args=["--structs-devnet", str(state_path), "--demo"]) \
                as engine, engine.client() as client:
            deadline = time.monotonic() + 90
            while True:
                done = client.get("/v1/jobs", kind="pow.structs", state="completed")["jobs"]
                if done:
                    break
                assert time.monotonic() < deadline, client.get("/v1/jobs", kind="pow.structs")
                time.sleep(0.3)
            tx = done[0]["result"]["transaction"]
            assert tx["status"] == "included" and tx["height"] and done[0]["result"]["proof_of_work"]["valid"]
            chains = {c["name"]: c for c in client.get("/v1/chains")["chains"]}
            assert chains["structs"]["detail"]["signers"] == {"demo": state["players"][0]["address"]}
    finally:
        os.kill(state["pid"], signal.SIGTERM)


def test_key_commands_make_and_show_keys_without_printing_secrets(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    made = shiftboss("structs", "keys", "new", str(path))
    address = made.stdout.strip()
    assert address == codec.address(codec.load_key(path).public_key, "structs") and path.stat().st_mode & 0o777 == 0o600
    assert shiftboss("structs", "keys", "show", str(path)).stdout.strip() == address
    secret = path.read_text().strip()
    again = shiftboss("structs", "keys", "new", str(path), ok=False)
    assert again.returncode == 2 and "never overwritten" in again.stderr and path.read_text().strip() == secret
    path.chmod(0o644)
    loose = shiftboss("structs", "keys", "show", str(path), ok=False)
    assert loose.returncode == 2 and "chmod 600" in loose.stderr and secret not in loose.stdout + loose.stderr
