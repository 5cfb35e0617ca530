"""``shiftboss kale farmers add|remove|list``, ``status``, ``blocks`` and ``compensations`` as a
subprocess against a real engine farming on the local KALE chain: the secret comes from stdin
or a file, never argv; a secret that is not the address's is refused without being echoed; the
audit log and every answer show it sealed, never in clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from stellar_sdk import Keypair

from engine.chains.soroban import _farmstore as farmstore
from tests.conftest import running_engine, wait_for
from tests.e2e.test_cli import shiftboss
from tests.engine.soroban.test_farm import farm_settings, local_chain


async def cli(*args: str, socket: Path, input: str | None = None) -> tuple[int, str, str]:
    result = await trio.to_thread.run_sync(lambda: shiftboss(*args, socket=socket, input=input))
    return result.returncode, result.stdout, result.stderr


@pytest.mark.trio
async def test_farmers_are_added_listed_and_removed_and_secrets_never_show(tmp_path: Path) -> None:
    node = local_chain(block=30)
    farmer, stranger = Keypair.random(), Keypair.random()
    node.ledger.fund(farmer.public_key, kale=50_000)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        settings = farm_settings(tmp_path, url, node, **{"kale.block_interval": 30, "kale.stake": 700})
        async with running_engine(settings) as (engine, client):
            sock = settings.socket_path
            code, out, err = await cli("kale", "farmers", "add", farmer.public_key, "--secret-stdin", socket=sock,
                                       input=stranger.secret + "\n")
            assert code == 1 and f"belongs to {stranger.public_key}" in err and stranger.secret not in out + err
            code, out, err = await cli("kale", "farmers", "add", farmer.public_key, socket=sock)
            assert code == 2 and "--secret-stdin" in err
            secret_file = tmp_path / "farmer.secret"
            secret_file.write_text(farmer.secret)
            code, out, err = await cli("kale", "farmers", "add", farmer.public_key, "--secret-file", str(secret_file),
                                       "--stake", "1234", "--reason", "new member", socket=sock)
            assert code == 0 and "added" in out, err

            code, out, _ = await cli("kale", "farmers", "list", "--json", socket=sock)
            listed = json.loads(out)["farmers"]
            assert [(f["address"], f["stake"], f["active"]) for f in listed] == [(farmer.public_key, "1234", True)]
            # the engine farms for it at once: its plant lands on the chain
            async def planted() -> bool:
                return any(f == farmer.public_key for f, _i in node.ledger.farm.state.pails)

            await wait_for(planted, within=15)
            code, out, _ = await cli("kale", "status", socket=sock)
            assert code == 0 and farmer.public_key[:6] in out and "block" in out
            code, out, _ = await cli("kale", "blocks", "--json", socket=sock)
            assert json.loads(out)["blocks"][0]["index"] >= 0
            code, out, _ = await cli("kale", "compensations", socket=sock)
            assert code == 0 and "no compensations" in out

            code, out, err = await cli("kale", "farmers", "remove", farmer.public_key, "--reason", "left", socket=sock)
            assert code == 0 and "removed" in out, err
            code, _, err = await cli("kale", "farmers", "remove", farmer.public_key, socket=sock)
            assert code == 1 and "not farmed here" in err
            assert not await engine.store.read(farmstore.farmers)
            audit = (await client.get("/v1/audit", params={"limit": 50})).text
            assert "kale.farmer.add" in audit and "[sealed]" in audit and farmer.secret not in audit
            log = settings.data_dir.joinpath("engine.log")
            assert not log.exists() or farmer.secret not in log.read_text()
            sealed = (await engine.store.read(farmstore.farmers, active=None))[0].sealed
            assert farmer.secret not in sealed and engine.services.kale.vault.open(sealed) == farmer.secret  # type: ignore[union-attr]
        nursery.cancel_scope.cancel()
