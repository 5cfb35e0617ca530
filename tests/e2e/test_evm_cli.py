"""`shiftboss keys` and `shiftboss devnet` as subprocesses: secrets stay secret, the devnet is
set up for the engine's signer."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from eth_account import Account

from engine.chains.evm._contracts import WORKER_ROLE, load
from engine.chains.evm._devnet import Rpc
from engine.ports import free_port
from tests.e2e.test_cli import shiftboss
from tests.engine.evm.conftest import require_anvil

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = Account.from_key(KEY).address


def test_keys_are_written_private_and_never_printed_unless_revealed(tmp_path: Path) -> None:
    r = shiftboss("keys", "import", str(tmp_path / "k.json"), "--key-env", "SB_KEY", "--password-env", "SB_PW",
                  env={"SB_KEY": KEY, "SB_PW": "hunter2"})
    assert r.returncode == 0, r.stderr
    assert ADDRESS in r.stdout and KEY[2:] not in r.stdout + r.stderr
    assert (tmp_path / "k.json").stat().st_mode & 0o777 == 0o600
    assert KEY[2:] not in (tmp_path / "k.json").read_text()  # encrypted
    r = shiftboss("keys", "show", str(tmp_path / "k.json"), "--address")
    assert r.stdout.strip() == ADDRESS and KEY[2:] not in r.stdout  # no password needed for the address
    r = shiftboss("keys", "show", str(tmp_path / "k.json"), "--reveal", "--password-env", "SB_PW", "--json",
                  env={"SB_PW": "wrong"})
    assert r.returncode == 2 and "cannot decrypt" in r.stderr and KEY[2:] not in r.stderr
    r = shiftboss("keys", "show", str(tmp_path / "k.json"), "--reveal", "--password-env", "SB_PW", "--json",
                  env={"SB_PW": "hunter2"})
    assert json.loads(r.stdout) == {"address": ADDRESS, "private_key": KEY}
    r = shiftboss("keys", "new", str(tmp_path / "k.json"), "--plain")
    assert r.returncode == 1 and "never overwritten" in r.stderr
    r = shiftboss("keys", "new", str(tmp_path / "plain.key"), "--plain", "--json")
    plain = tmp_path / "plain.key"
    assert plain.stat().st_mode & 0o777 == 0o600 and json.loads(r.stdout)["address"] not in plain.read_text()
    os.chmod(plain, 0o644)
    r = shiftboss("keys", "show", str(plain))
    assert r.returncode == 2 and "chmod 600" in r.stderr


def test_devnet_deploys_for_the_signer_and_grant_role_is_idempotent(tmp_path: Path) -> None:
    require_anvil()
    port = free_port()
    state_path, key = tmp_path / "devnet.json", tmp_path / "signer.key"
    r = shiftboss("devnet", "--port", str(port), "--block-time", "0", "--state", str(state_path), "--key-file",
                  str(key), "--workflows", "2", "--detach", cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr
    pid = int((tmp_path / "anvil.pid").read_text())
    try:
        state = json.loads(state_path.read_text())
        signer = shiftboss("keys", "show", str(key), "--address").stdout.strip()
        assert state["signer"] == signer and state["workflows"] == [1, 2]
        rpc = Rpc(state["rpc"])
        has_role = load("ActionExecutor").fn("hasRole")
        call = {"to": state["executor"], "data": "0x" + has_role.encode(WORKER_ROLE, signer).hex()}
        assert has_role.decode(bytes.fromhex(rpc("eth_call", call, "latest")[2:])) == (True,)
        assert int(rpc("eth_getBalance", signer, "latest"), 16) == 100 * 10**18
        other = Account.create().address
        assert "granted to" in shiftboss("evm", "grant-role", other, "--state", str(state_path)).stdout
        assert "already held" in shiftboss("evm", "grant-role", other, "--state", str(state_path)).stdout
        r = shiftboss("evm", "grant-role", "0x123", "--state", str(state_path))
        assert r.returncode == 2 and "not an address" in r.stderr
        r = shiftboss("devnet", "--stop", "--state", str(state_path))
        assert r.returncode == 0 and f"anvil pid {pid}" in r.stdout
        assert not state_path.exists() and not (tmp_path / "anvil.pid").exists()
        r = shiftboss("devnet", "--stop", "--state", str(state_path))
        assert r.returncode == 1 and "no detached devnet" in r.stderr
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGTERM)
