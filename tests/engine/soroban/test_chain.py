"""A `[chains.<name>] kind = "soroban"` section in a real engine: its head watcher follows the
local KALE chain's ledgers into /v1/chains and `chain.head`, a wrong network refuses to start, an
unreachable RPC leaves the engine running with the error shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from stellar_sdk import Keypair

from engine.devnets.kale.contract import KaleFarm
from engine.devnets.kale.ledger import PASSPHRASE, Ledger
from engine.devnets.kale.server import Devnet
from engine.errors import WrongChain
from tests.conftest import make_settings, running_engine
from tests.engine.soroban.test_rpc import dead_url


def devnet() -> Devnet:
    return Devnet(Ledger(sequence=500, close_time=0, farm=KaleFarm(Keypair.random().public_key, now=0)),
                  ledger_seconds=0.2)


@pytest.mark.trio
async def test_the_head_watcher_follows_the_ledgers(tmp_path: Path) -> None:
    node = devnet()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        settings = make_settings(tmp_path, **{"chains.kale.kind": "soroban", "chains.kale.rpc": [dead_url(), url],
                                              "chains.kale.network_passphrase": PASSPHRASE,
                                              "chains.kale.poll_interval": 0.1})
        async with running_engine(settings) as (_engine, client):
            with trio.fail_after(10):
                while True:
                    chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
                    if (chains.get("kale") or {}).get("head", 0) >= 502:
                        break
                    await trio.sleep(0.1)
            kale = chains["kale"]
            assert kale["kind"] == "soroban" and kale["detail"]["network_passphrase"] == PASSPHRASE
            assert kale["detail"]["endpoints"][0]["failures"] >= 1  # the dead endpoint, failed over
            with trio.fail_after(5):
                async with client.stream("GET", "/v1/events", params={"since": 0}) as resp:
                    async for line in resp.aiter_lines():
                        event = json.loads(line)
                        if event["type"] == "chain.head" and event["data"].get("chain") == "kale":
                            break
            assert event["data"]["height"] >= 500
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_the_wrong_network_refuses_to_start(tmp_path: Path) -> None:
    node = devnet()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        settings = make_settings(tmp_path, **{"chains.kale.kind": "soroban", "chains.kale.rpc": [url],
                                              "chains.kale.network_passphrase": "Test SDF Network ; September 2015"})
        with pytest.raises(BaseException) as info:
            async with running_engine(settings):
                pass
        found = info.value
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        assert isinstance(found, WrongChain) and "Shiftboss KALE devnet" in str(found)
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_an_unreachable_rpc_is_shown_and_the_engine_runs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **{"chains.kale.kind": "soroban", "chains.kale.rpc": [dead_url()],
                                          "chains.kale.poll_interval": 0.1})
    async with running_engine(settings) as (_engine, client):
        chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
        assert chains["kale"]["head"] is None and "no RPC endpoint answered" in chains["kale"]["detail"]["error"]
        assert (await client.post("/v1/jobs", json={"kind": "noop"})).status_code == 201
