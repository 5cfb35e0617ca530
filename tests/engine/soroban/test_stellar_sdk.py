"""The local KALE chain judged by a client nobody here wrote: the official JS SDK
(@stellar/stellar-sdk, pinned in package.json) runs ``tests/js/kale_sdk.mjs`` against it over
plain http — friendbot through ``requestAirdrop``, ``getLatestLedger`` with its header and
close meta, ``getVersionInfo``, ``getFeeStats``, prepare → send → poll of a plant with the
farmer as source, a plant paid by another account with the farmer's entry signed by
``authorizeEntry``, a refused work read back as FAILED with its meta and diagnostic event, and
the resend of an applied transaction (``txBAD_SEQ``, as stellar-core answers)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import trio
from stellar_sdk import Keypair

from engine.devnets.kale.contract import KaleFarm
from engine.devnets.kale.ledger import PASSPHRASE, Ledger
from engine.devnets.kale.server import Devnet
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "js" / "kale_sdk.mjs"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@stellar" / "stellar-sdk").is_dir():
        message = "node and @stellar/stellar-sdk are not installed (`make node` installs the SDK into ./node_modules)"
        if IN_CI:
            pytest.fail(message + " — required under CI")
        pytest.skip(message)
    return node


@pytest.mark.trio
async def test_the_official_js_sdk_farms_on_the_local_chain() -> None:
    node = _node()
    now = int(time.time())
    ledger = Ledger(sequence=10, close_time=now, farm=KaleFarm(Keypair.random().public_key, now=now, block_interval=60))
    devnet = Devnet(ledger, ledger_seconds=0.3)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(devnet.run)
        with trio.fail_after(60):
            done = await trio.run_process([node, str(SCRIPT), url, PASSPHRASE, ledger.farm_id], capture_stdout=True,
                                          capture_stderr=True, check=False, cwd=ROOT)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        out = json.loads(done.stdout)
        nursery.cancel_scope.cancel()
    assert out["latest"]["header_sequence"] == out["latest"]["sequence"] >= 10 and out["latest"]["meta_version"] == 2
    assert out["version"] == 23 and out["fee_p50"] == "100"
    assert int(out["airdrop_sequence"]) > 0
    assert out["own_plant"] == {"status": "SUCCESS", "ledger": out["own_plant"]["ledger"], "void": "scvVoid"}
    assert out["recorded_credentials"] == "sorobanCredentialsAddress" and out["paid_plant"]["status"] == "SUCCESS"
    assert len([p for p in ledger.farm.state.pails]) == 2  # both farmers planted, on the chain itself
    assert out["work_simulation_error"] == "HostError: Error(Contract, #13)"  # HashInvalid
    assert out["failed_work"] == {"status": "FAILED", "has_meta": True, "diagnostic": 1, "result": "txFailed"}
    assert out["resend"] == {"status": "ERROR", "code": "txBadSeq"}
