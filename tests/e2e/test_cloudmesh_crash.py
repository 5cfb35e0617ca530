"""kill -9 of the engine right after it sent complete_job: the transaction lands while the
engine is dead; after a restart the job finds its transaction, does not run the code again and
sends no second complete_job (the program would answer JobAlreadyCompleted)."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from engine.chains.solana import cloudmesh as cm
from engine.devnets.ipfs import IpfsDevnet
from engine.devnets.solana import SolanaDevnet
from engine.jobs.cloudmesh import load_or_create_key
from engine.lifecycle import EngineProcess
from tests.engine.solana.test_program import PROGRAM, Chain

CODE = b'print("ran")\n'


class Devnets:
    """The Solana node (slots only when the test says) and the IPFS endpoint, in their own Trio
    thread; ``call`` runs a function on that thread."""

    def __init__(self) -> None:
        self.node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, autoproduce=False)
        self.ipfs = IpfsDevnet()
        self.urls: list[str] = []
        self.ready = threading.Event()
        self.token: Any = None
        self.stop: Any = None
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        async with trio.open_nursery() as nursery:
            self.urls = [await nursery.start(self.node.run), await nursery.start(self.ipfs.run)]
            self.token, self.stop = trio.lowlevel.current_trio_token(), nursery.cancel_scope.cancel
            self.ready.set()

    def call(self, fn: Any, *args: Any) -> Any:
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)


@pytest.fixture
def devnets() -> Iterator[Devnets]:
    Chain()
    nets = Devnets()
    nets.thread.start()
    assert nets.ready.wait(20)
    try:
        yield nets
    finally:
        nets.call(nets.stop)
        nets.thread.join(10)


def _txs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, state, signatures FROM solana_txs").fetchall()


def _wait(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


@pytest.mark.slow
def test_kill_9_after_complete_job_was_sent_completes_it_once(devnets: Devnets, tmp_path: Path) -> None:
    node = devnets.node
    owner = Keypair()
    worker, _ = load_or_create_key(tmp_path / "worker.json")
    cid = devnets.call(devnets.ipfs.store, CODE)

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
        (tx_id, _state, signatures), = _wait(lambda: [r for r in _txs(db) if r[1] == "sent"], 30, "complete_job sent")
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
            run = _wait(finished, 40, "the run completes after the restart")
            assert run["result"]["resumed"] is True and run["result"]["tx"]["id"] == tx_id
            assert client.get("/v1/jobs", kind="cloudmesh.run")["total"] == 1
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.kill()
    assert [(r[0], r[1]) for r in _txs(db)] == [(tx_id, "success")]  # one complete_job, ever
    landed = [s for s in node.landed if s in signatures]
    assert len(landed) == 1
