"""kill -9 of the engine right after it sent complete_job: the transaction lands while the
engine is dead; after a restart the job finds its transaction, does not run the code again and
sends no second complete_job (the program would answer JobAlreadyCompleted)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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

CODE = b'print("ran")\n'


@pytest.fixture
def devnets() -> Iterator[DevnetThread]:
    Chain()
    with DevnetThread(SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, autoproduce=False), IpfsDevnet()) as nets:
        yield nets


def _txs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, state, signatures FROM solana_txs").fetchall()


@pytest.mark.slow
def test_kill_9_after_complete_job_was_sent_completes_it_once(devnets: DevnetThread, tmp_path: Path) -> None:
    node, ipfs_node = devnets.parts
    owner = Keypair()
    worker, _ = load_or_create_key(tmp_path / "worker.json")
    cid = devnets.call(ipfs_node.store, CODE)

    def setup() -> None:
        for key in (owner, worker):
            node.svm.airdrop(key.pubkey(), 10**10)
        blockhash = node.svm.latest_blockhash()
        ix = cm.initialize_job(owner.pubkey(), "once", cid)
        node.svm.send_transaction(Transaction([owner], Message.new_with_blockhash([ix], owner.pubkey(), blockhash),
                                              blockhash))

    devnets.call(setup)
    job = cm.job_address(owner.pubkey(), "once")
    work = Path(tempfile.mkdtemp(prefix="shiftboss-cloudmesh-crash-", dir="/tmp"))
    rpc, ipfs = devnets.urls
    config = (f'[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[chains.sol]\nkind = "solana"\nrpc = ["{rpc}"]\n'
              f'poll_interval = 0.1\n[cloudmesh]\nchain = "sol"\nkeypair = "{tmp_path / "worker.json"}"\n'
              f'poll_interval = 0.5\nipfs_api = "{ipfs}"\nwork_dir = "{work}"\n')
    engine = EngineProcess(tmp_path / "e", config).start()
    db = engine.data_dir / "shiftboss.db"
    try:
        (tx_id, _state, signatures), = wait_until(lambda: [r for r in _txs(db) if r[1] == "sent"], 30, "complete_job sent")
        engine.kill()  # kill -9: complete_job is out, not yet in a slot
        devnets.call(node.produce_slot)  # …and lands while the engine is dead
        devnets.call(node.produce_slot)
        assert cm.JobAccount.decode(bytes(node.svm.get_account(job).data)).status == cm.JobStatus.COMPLETED
        engine.start()
        with engine.client() as client:
            def finished() -> Any:
                devnets.call(node.produce_slot)
                jobs = client.get("/v1/jobs", kind="cloudmesh.run")["jobs"]
                return jobs and jobs[0]["state"] == "completed" and jobs[0]
            run = wait_until(finished, 40, "the run completes after the restart")
            assert run["result"]["resumed"] is True and run["result"]["tx"]["id"] == tx_id
            assert client.get("/v1/jobs", kind="cloudmesh.run")["total"] == 1
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.kill()
    assert [(r[0], r[1]) for r in _txs(db)] == [(tx_id, "success")]  # one complete_job, ever
    landed = [s for s in node.landed if s in signatures]
    assert len(landed) == 1
