"""An engine running CloudMesh jobs, started as root and as an unprivileged user, against jobs
written as attacks: the code really runs (its output is the script's, as its own uid), it sees
nothing of the engine (database, socket, worker key, environment), the daemon it leaves dies with
it, and a job still running when the engine is killed -9 takes everything it started with it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from multiformats import CID
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from engine.chains.solana import cloudmesh as cm
from engine.devnets.ipfs import IpfsDevnet
from engine.devnets.solana import SolanaDevnet
from engine.jobs.cloudmesh import load_or_create_key
from engine.lifecycle import EngineProcess
from tests.e2e._devnet_thread import DevnetThread, wait_until
from tests.engine.solana.test_program import PROGRAM, Chain
from tests.workers import NOBODY, as_owner, daemons, owner_variant, processes_with


@pytest.fixture
def devnets() -> Iterator[DevnetThread]:
    Chain()
    with DevnetThread(SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, slot_seconds=0.05), IpfsDevnet()) as nets:
        yield nets


@pytest.fixture(params=["root", "user"])
def home(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    owner_variant(request.param)
    folder = Path(tempfile.mkdtemp(prefix="shiftboss-cm-sandbox-", dir="/tmp"))
    yield request.param, folder
    shutil.rmtree(folder, ignore_errors=True)


def create(devnets: DevnetThread, owner: Keypair, title: str, code: bytes) -> Any:
    node, ipfs = devnets.parts
    cid = devnets.call(ipfs.store, code)

    def send() -> None:
        blockhash = node.svm.latest_blockhash()
        ix = cm.initialize_job(owner.pubkey(), title, cid)
        node.svm.send_transaction(Transaction([owner], Message.new_with_blockhash([ix], owner.pubkey(), blockhash),
                                              blockhash))

    devnets.call(send)
    return cm.job_address(owner.pubkey(), title)


def engine_as(who: str, folder: Path, devnets: DevnetThread) -> EngineProcess:
    rpc, ipfs = devnets.urls
    key_path = folder / "worker.json"
    config = (f'[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[chains.sol]\nkind = "solana"\nrpc = ["{rpc}"]\n'
              f'poll_interval = 0.1\n[cloudmesh]\nchain = "sol"\nkeypair = "{key_path}"\n'
              f'poll_interval = 0.3\nipfs_api = "{ipfs}"\ntimeout = 60\n')
    engine = EngineProcess(folder / "engine", config)
    prefix = as_owner(who)
    if prefix:
        engine.log_path.touch(mode=0o600)  # opened here for its output: it must be the engine's own
        for path in (folder, folder / "engine", folder / "engine" / "config.toml", engine.log_path, key_path):
            os.chown(path, NOBODY, NOBODY)
        engine.args[0:0] = prefix
    return engine


@pytest.mark.slow
def test_cloudmesh_code_runs_isolated_under_an_engine_of_either_owner(devnets: DevnetThread,
                                                                       home: tuple[str, Path]) -> None:
    who, folder = home
    node, ipfs = devnets.parts
    worker, _ = load_or_create_key(folder / "worker.json")
    owner = Keypair()
    devnets.call(lambda: [node.svm.airdrop(k.pubkey(), 10**10) for k in (owner, worker)])
    marker = f"cm{time.monotonic_ns()}"
    data = folder / "engine"
    spy = (f"import os\nprint('uid', os.getuid())\n"
           f"print('sees', [p for p in ['{data}/shiftboss.db', '{data}/engine.sock', '{folder}/worker.json'] "
           f"if os.path.exists(p)])\n"
           f"print('env', sorted(k for k in os.environ if k.startswith('SHIFTBOSS')))\n").encode()
    spy_job = create(devnets, owner, "spy", spy)
    daemon_job = create(devnets, owner, "daemon", daemons(marker).encode())
    engine = engine_as(who, folder, devnets).start()
    try:
        def completed(job: Any) -> Any:
            account = cm.JobAccount.decode(bytes(node.svm.get_account(job).data))
            return account.status == cm.JobStatus.COMPLETED and account

        results = {}
        for name, job in (("spy", spy_job), ("daemon", daemon_job)):
            account = wait_until(lambda job=job: devnets.call(completed, job), 60, f"the {name} job completes")
            results[name] = json.loads(ipfs.files[bytes(CID.decode(account.result_cid).digest)])
        spied = results["spy"]["stdout"].splitlines()
        assert spied[0].startswith("uid ") and int(spied[0].split()[1]) >= 2_000_000_000, results["spy"]
        assert spied[1:] == ["sees []", "env []"], spied  # nothing of the engine
        assert results["daemon"]["stdout"].startswith("left ") and results["daemon"]["returncode"] == 0
        assert processes_with(marker) == []  # the job's leftovers died with it

        long_marker = f"cmk{time.monotonic_ns()}"
        create(devnets, owner, "long", (daemons(long_marker) + "time.sleep(60)\n").encode())
        wait_until(lambda: len(processes_with(long_marker)) >= 2, 60, "the long job's daemons run")
        engine.kill()  # kill -9 of the engine mid-run
        wait_until(lambda: not processes_with(long_marker), 5, "the long job's processes die with the engine")
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.kill()
