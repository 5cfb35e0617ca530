"""kill -9 of the engine right after it broadcast a Structs proof: the transaction is included
while the engine is dead; after a restart the job finds its transaction, hashes nothing again
and sends no second one (the chain would answer "is built")."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from engine.chains.cometbft import tx as codec
from engine.devnets.structs import PREFIX, StructsDevnet
from engine.lifecycle import EngineProcess


class Devnet:
    """The local Structs chain (blocks only when the test says) in its own Trio thread."""

    def __init__(self) -> None:
        self.node = StructsDevnet(autoproduce=False)
        self.urls: tuple[str, str] = ("", "")
        self.ready = threading.Event()
        self.token: Any = None
        self.stop: Any = None
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        async with trio.open_nursery() as nursery:
            self.urls = await nursery.start(self.node.run)
            self.token, self.stop = trio.lowlevel.current_trio_token(), nursery.cancel_scope.cancel
            self.ready.set()

    def call(self, fn: Any, *args: Any) -> Any:
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)


@pytest.fixture
def devnet() -> Iterator[Devnet]:
    net = Devnet()
    net.thread.start()
    assert net.ready.wait(20)
    try:
        yield net
    finally:
        net.call(net.stop)
        net.thread.join(10)


def _txs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, state, hashes FROM cosmos_txs").fetchall()


def _wait(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


@pytest.mark.slow
def test_kill_9_after_the_proof_was_broadcast_sends_no_second_transaction(devnet: Devnet, tmp_path: Path) -> None:
    node = devnet.node
    key_file = tmp_path / "alice.key"
    address = codec.address(codec.create_key(key_file).public_key, PREFIX)

    def setup() -> Any:
        player = node.chain.add_player(address)
        for _ in range(30):
            node.produce_block()
        return player, node.chain.add_target(player, "build", 20, age=25)  # difficulty 1: hashed at once

    player, target = devnet.call(setup)
    rpc, rest = devnet.urls
    config = (f'[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[chains.structs]\nkind = "cometbft"\n'
              f'rpc = ["{rpc}"]\nrest = ["{rest}"]\npoll_interval = 0.1\n[chains.structs.keys]\nalice = "{key_file}"\n')
    engine = EngineProcess(tmp_path / "e", config).start()
    db = engine.data_dir / "shiftboss.db"
    payload = {"action": "build", "object_id": target.id, "block_start": target.block_start, "difficulty_range": 20,
               "signer": "alice", "player_id": player}
    try:
        with engine.client() as client:
            job_id = client.post("/v1/jobs", {"kind": "pow.structs", "payload": payload})["id"]
        (tx_id, _state, hashes), = _wait(lambda: [r for r in _txs(db) if r[1] == "sent"], 30, "the proof broadcast")
        engine.kill()  # kill -9: the proof is in the mempool, not yet in a block
        devnet.call(node.produce_block)  # …and is included while the engine is dead
        assert target.done
        engine.start()
        with engine.client() as client:
            def finished() -> Any:
                devnet.call(node.produce_block)
                job = client.get(f"/v1/jobs/{job_id}")["job"]
                return job["state"] in ("completed", "failed") and job
            job = _wait(finished, 40, "the job completes after the restart")
            assert job["state"] == "completed", job.get("error")
            assert job["result"]["proof_of_work"]["resumed"] is True
            assert job["result"]["transaction"]["id"] == tx_id and job["result"]["transaction"]["status"] == "included"
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.kill()
    assert [(r[0], r[1]) for r in _txs(db)] == [(tx_id, "success")]  # one transaction, ever
    included = [h for h in json.loads(hashes) if h in node.chain.included]
    assert len(included) == 1 and sum(len(b.txs) for b in node.chain.blocks) == 1
