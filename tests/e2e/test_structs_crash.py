"""kill -9 of the engine right after it broadcast a Structs proof: the transaction is included
while the engine is dead; after a restart the job finds its transaction, hashes nothing again
and sends no second one (the chain would answer "is built")."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.chains.cometbft import tx as codec
from engine.devnets.structs import PREFIX, StructsDevnet
from engine.lifecycle import EngineProcess
from tests.e2e._devnet_thread import DevnetThread, wait_until


@pytest.fixture
def devnet() -> Iterator[DevnetThread]:
    with DevnetThread(StructsDevnet(autoproduce=False)) as net:
        yield net


def _txs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, state, hashes FROM cosmos_txs").fetchall()


@pytest.mark.slow
def test_kill_9_after_the_proof_was_broadcast_sends_no_second_transaction(devnet: DevnetThread, tmp_path: Path) -> None:
    node = devnet.parts[0]
    key_file = tmp_path / "alice.key"
    address = codec.address(codec.create_key(key_file).public_key, PREFIX)

    def setup() -> Any:
        player = node.chain.add_player(address)
        for _ in range(30):
            node.produce_block()
        return player, node.chain.add_target(player, "build", 20, age=25)  # difficulty 1: hashed at once

    player, target = devnet.call(setup)
    rpc, rest = devnet.urls[0]
    config = (f'[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[chains.structs]\nkind = "cometbft"\n'
              f'rpc = ["{rpc}"]\nrest = ["{rest}"]\npoll_interval = 0.1\n[chains.structs.keys]\nalice = "{key_file}"\n')
    engine = EngineProcess(tmp_path / "e", config).start()
    db = engine.data_dir / "shiftboss.db"
    payload = {"action": "build", "object_id": target.id, "block_start": target.block_start, "difficulty_range": 20,
               "signer": "alice", "player_id": player}
    try:
        with engine.client() as client:
            job_id = client.post("/v1/jobs", {"kind": "pow.structs", "payload": payload})["id"]
        (tx_id, _state, hashes), = wait_until(lambda: [r for r in _txs(db) if r[1] == "sent"], 30, "the proof broadcast")
        engine.kill()  # kill -9: the proof is in the mempool, not yet in a block
        devnet.call(node.produce_block)  # …and is included while the engine is dead
        assert target.done
        engine.start()
        with engine.client() as client:
            def finished() -> Any:
                devnet.call(node.produce_block)
                job = client.get(f"/v1/jobs/{job_id}")["job"]
                return job["state"] in ("completed", "failed") and job
            job = wait_until(finished, 40, "the job completes after the restart")
            assert job["state"] == "completed", job.get("error")
            assert job["result"]["proof_of_work"]["resumed"] is True
            assert job["result"]["transaction"]["id"] == tx_id and job["result"]["transaction"]["status"] == "included"
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.kill()
    assert [(r[0], r[1]) for r in _txs(db)] == [(tx_id, "success")]  # one transaction, ever
    included = [h for h in json.loads(hashes) if h in node.chain.included]
    assert len(included) == 1 and sum(len(b.txs) for b in node.chain.blocks) == 1
