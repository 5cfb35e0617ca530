"""``shiftboss solana`` and ``shiftboss cloudmesh`` against the local Solana node and IPFS
endpoint started as the commands an operator runs (real processes, real ports)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from engine.ports import free_port
from tests.engine.solana.test_program import Chain


def shiftboss(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) == ok, done.stderr
    return done


@pytest.fixture
def nodes() -> Iterator[tuple[str, str]]:
    Chain()
    rpc_port, ipfs_port = free_port(), free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "engine", "solana", "devnet", "--port", str(rpc_port),
                               "--slot-seconds", "0.05"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-m", "engine", "ipfs", "devnet", "--port", str(ipfs_port), "--jwt-file",
                               "/dev/null"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    rpc, ipfs = f"http://127.0.0.1:{rpc_port}", f"http://127.0.0.1:{ipfs_port}"
    try:
        deadline = time.monotonic() + 30
        for url, probe in ((rpc, lambda u: httpx.post(u, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"})),
                           (ipfs, lambda u: httpx.get(u + "/ipfs/x"))):
            while True:
                try:
                    probe(url)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a devnet did not start"
                    time.sleep(0.1)
        yield rpc, ipfs
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_keys_airdrop_and_a_job_created_and_listed(nodes: tuple[str, str], tmp_path: Path) -> None:
    rpc, ipfs = nodes
    keypair = tmp_path / "owner.json"
    made = shiftboss("solana", "keys", "--keypair", str(keypair))
    address = made.stdout.strip()
    assert "made" in made.stderr and oct(keypair.stat().st_mode & 0o777) == "0o600"
    assert shiftboss("solana", "keys", "--keypair", str(keypair)).stdout.strip() == address  # never remade
    secret = bytes(json.loads(keypair.read_text()))
    printed = made.stdout + made.stderr
    assert keypair.read_text().strip() not in printed and str(Keypair.from_bytes(secret)) not in printed
    shiftboss("solana", "airdrop", "--sol", "2", "--keypair", str(keypair), "--rpc", rpc)
    time.sleep(0.2)
    balance = json.loads(shiftboss("solana", "balance", "--keypair", str(keypair), "--rpc", rpc, "--json").stdout)
    assert balance == {"account": address, "lamports": 2 * 10**9}

    code = tmp_path / "job.py"
    code.write_text('print("hello")\n')
    created = json.loads(shiftboss("cloudmesh", "submit", str(code), "--title", "hello", "--ipfs", ipfs,
                                   "--keypair", str(keypair), "--rpc", rpc, "--json").stdout)
    assert created["code_cid"].startswith("Qm")
    deadline = time.monotonic() + 10
    while not (listed := json.loads(shiftboss("cloudmesh", "jobs", "--rpc", rpc, "--json").stdout)["jobs"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert listed[0]["account"] == created["account"] and listed[0]["state"] == "pending"
    assert listed[0]["owner"] == address and listed[0]["code_cid"] == created["code_cid"]
    again = shiftboss("cloudmesh", "submit", str(code), "--title", "hello", "--ipfs", ipfs, "--keypair", str(keypair),
                      "--rpc", rpc, ok=False)
    assert "refused" in again.stderr
    long = shiftboss("cloudmesh", "submit", str(code), "--title", "x" * 33, "--keypair", str(keypair), "--rpc", rpc,
                     ok=False)
    assert "--title" in long.stderr
