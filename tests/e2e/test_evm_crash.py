"""kill -9 of the engine between persisting a transaction and its receipt: after a restart the
job finds its transaction and nothing is sent twice (checked on chain)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from eth_account import Account

from engine.chains.evm import DEV_KEYS, Anvil
from engine.chains.evm._devnet import Rpc
from engine.chains.evm._keys import write_private
from engine.lifecycle import EngineProcess
from tests.engine.evm.conftest import require_anvil

SIGNER = Account.from_key(DEV_KEYS[2])
TO = Account.from_key(DEV_KEYS[1]).address


def _tx_rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT id, state, hashes FROM evm_txs").fetchall()


def _wait(check, within: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")


@pytest.mark.slow
def test_kill_9_between_persist_and_receipt_sends_nothing_twice(tmp_path: Path) -> None:
    require_anvil()
    write_private(tmp_path / "signer.key", DEV_KEYS[2])
    with Anvil() as anvil:
        rpc = Rpc(anvil.url)
        rpc("evm_setAutomine", False)  # the transaction stays pending until we mine
        config = (f'[engine]\ngrace_period = 0.5\n[store]\nlease_ttl = 2\n[chains.devnet]\nrpc = ["{anvil.url}"]\n'
                  f'chain_id = 31337\nkey_file = "{tmp_path / "signer.key"}"\npoll_interval = 0.2\n')
        engine = EngineProcess(tmp_path / "e", config).start()
        try:
            with engine.client() as client:
                job_id = client.post("/v1/jobs", {"kind": "evm.tx", "payload": {"chain": "devnet", "to": TO,
                                                                                 "value": 12345}})["id"]
                db = engine.data_dir / "shiftboss.db"
                (tx_id, _state, hashes), = _wait(lambda: [r for r in _tx_rows(db) if r[1] == "sent"], 20, "sent")
            engine.kill()  # kill -9: the job is mid-wait, the transaction is out
            rpc("evm_mine")  # …and gets mined while the engine is dead
            engine.start()
            with engine.client() as client:
                job = _wait(lambda: (j := client.get(f"/v1/jobs/{job_id}")["job"])["state"] == "completed" and j,
                            30, "the job completes after the restart")
                assert job["result"]["tx"] == tx_id and job["result"]["hash"] in hashes
        finally:
            engine.kill() if engine.proc and engine.proc.poll() is None else None
        assert int(rpc("eth_getTransactionCount", SIGNER.address, "latest"), 16) == 1  # one transaction, ever
        head = int(rpc("eth_blockNumber"), 16)
        sent = [tx for n in range(head + 1) for tx in rpc("eth_getBlockByNumber", hex(n), True)["transactions"]
                if tx["from"].lower() == SIGNER.address.lower()]
        assert len(sent) == 1 and int(sent[0]["value"], 16) == 12345
        assert [r[0] for r in _tx_rows(db)] == [tx_id]
