"""kill -9 of a farming engine between persisting a work transaction and sending it: after a
restart exactly one transaction per work intent reaches the ledger, and the farmer is worked.

The local KALE chain runs as a process; between it and the engine sits a proxy that holds back
every work ``sendTransaction`` while told to (the fault: the send never reaches the node), and
records every transaction the node accepted."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Keypair, TransactionEnvelope

from engine.lifecycle import EngineProcess

BLOCK = 24


class Proxy:
    def __init__(self, upstream: str, passphrase: str) -> None:
        self.upstream, self.passphrase = upstream, passphrase
        self.hold = threading.Event()
        self.held = threading.Event()  # a work send is being held
        self.release = threading.Event()
        self.accepted: list[tuple[str, str]] = []  # (function, hash) the node answered PENDING to
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                call = json.loads(body)
                function = proxy.function(call)
                if function == "work" and proxy.hold.is_set():
                    proxy.held.set()
                    proxy.release.wait(120)
                    self.send_response(502)  # never forwarded: the node did not see it
                    self.end_headers()
                    return
                answer = httpx.post(proxy.upstream, content=body, headers={"content-type": "application/json"},
                                    timeout=30)
                result = answer.json().get("result") if isinstance(call, dict) else None
                if function and isinstance(result, dict) and result.get("status") == "PENDING":
                    proxy.accepted.append((function, result["hash"]))
                self.send_response(answer.status_code)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def function(self, call: Any) -> str | None:
        if not isinstance(call, dict) or call.get("method") != "sendTransaction":
            return None
        envelope = TransactionEnvelope.from_xdr(call["params"]["transaction"], self.passphrase)
        invoke = envelope.transaction.operations[0].host_function.invoke_contract  # type: ignore[attr-defined]
        return str(invoke.function_name.sc_symbol.decode())


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql).fetchall()


def wait(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = check()
        except sqlite3.OperationalError:  # the engine has not created its tables yet
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")


@pytest.mark.slow
def test_kill_9_between_persist_and_send_of_a_work_tx_lands_it_once(tmp_path: Path) -> None:
    state_path = tmp_path / "devnet.json"
    devnet = subprocess.Popen([sys.executable, "-m", "engine", "kale", "devnet", "--port", "0", "--state",
                               str(state_path), "--block-seconds", str(BLOCK), "--ledger-seconds", "0.5"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine: EngineProcess | None = None
    proxy: Proxy | None = None
    try:
        state = wait(lambda: state_path.exists() and state_path.read_text().strip().endswith("}") and
                     json.loads(state_path.read_text()), 20, "the local KALE chain")
        proxy = Proxy(state["rpc"], state["passphrase"])
        farmer = Keypair.random()
        httpx.get(state["friendbot"], params={"addr": farmer.public_key, "kale": "100000000"}).raise_for_status()
        secret = tmp_path / "farmer.secret"
        secret.write_text(farmer.secret)
        secret.chmod(0o600)
        config = f"""
[engine]
grace_period = 0.5
[store]
lease_ttl = 2
[chains.kale]
kind = "soroban"
rpc = ["{proxy.url}"]
poll_interval = 0.25
[kale]
chain = "kale"
contract = "{state['farm_contract']}"
block_interval = {BLOCK}
work_delay = 4
work_margin = 6
[[kale.farmers]]
address = "{farmer.public_key}"
secret_file = "{secret}"
"""
        proxy.hold.set()
        engine = EngineProcess(tmp_path / "engine", config).start()
        db = engine.data_dir / "shiftboss.db"
        (intent, tx_id, hashes), = wait(lambda: rows(db, "SELECT intent, id, hashes FROM soroban_txs WHERE"
                                                          " function = 'work' AND state = 'signed'"),
                                        30, "a work transaction persisted, its send held")
        assert wait(proxy.held.is_set, 10, "the send is in flight")
        engine.kill()  # kill -9 between persist and send
        proxy.hold.clear()
        proxy.release.set()
        assert not [h for f, h in proxy.accepted if f == "work"]  # the node never saw it

        engine.start()
        worked = wait(lambda: rows(db, "SELECT state FROM kale_pails WHERE state IN ('worked', 'harvested')"),
                      BLOCK, "the farmer is worked after the restart")
        assert worked
        records = rows(db, "SELECT intent, id, hashes, state FROM soroban_txs WHERE function = 'work'")
        landed = [h for f, h in proxy.accepted if f == "work"]
        assert len(landed) == len(records) == len({r[0] for r in records})  # one transaction per work intent
        cut = next(r for r in records if r[0] == intent)
        assert cut[1] == tx_id and cut[3] == "success" and sum(1 for h in landed if h in json.loads(cut[2])) == 1
    finally:
        if engine is not None and engine.proc is not None and engine.proc.poll() is None:
            engine.kill()
        if proxy is not None:
            proxy.release.set()
            proxy.server.shutdown()
            proxy.server.server_close()
        devnet.terminate()
        devnet.wait(10)
