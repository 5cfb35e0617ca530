"""``shiftboss kale …``: the KALE farm (more commands follow the farm service) and its local chain."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import click
import trio

from engine.cli._common import EXIT_ERROR, fail


@click.group()
def kale() -> None:
    """KALE farming on Stellar/Soroban: the local KALE chain (devnet)."""


@kale.command("devnet")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The Soroban RPC port on 127.0.0.1 (0: any free one; the state file says which).")
@click.option("--ledger-seconds", type=click.FloatRange(0.05, 60), default=5.0, show_default=True,
              help="Seconds between ledger closes (Stellar: ~5).")
@click.option("--block-seconds", type=click.IntRange(1, 3600), default=300, show_default=True,
              help="The farm's block interval. The real contract's is 300; shorter is a devnet-only speed-up for demos.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".demo/kale-devnet.json"), show_default=True,
              help="Where to write the RPC URL, network passphrase and contract ids (the engine's config reads it).")
def devnet(port: int, ledger_seconds: float, block_seconds: int, state_path: Path) -> None:
    """Run a local KALE chain: a Soroban-RPC-compatible JSON-RPC server whose ledger runs a model of
    the KALE farm contract (KALE-sc @96a0241: every rule and error code, checked signatures and
    sequence numbers). It is a devnet, not a Stellar node: only the farm contract (and the KALE
    asset it mints and burns) exists on it; accounts are created by its friendbot
    (GET <rpc>/friendbot?addr=G…&kale=STROOPS). Ctrl-C or SIGTERM stops it."""
    from stellar_sdk import Keypair

    from engine.devnets.kale.contract import KaleFarm
    from engine.devnets.kale.ledger import PASSPHRASE, Ledger
    from engine.devnets.kale.server import Devnet

    now = int(time.time())
    farm = KaleFarm(Keypair.random().public_key, now=now, block_interval=block_seconds)
    node = Devnet(Ledger(sequence=1, close_time=now, farm=farm), ledger_seconds=ledger_seconds)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(node.run, "127.0.0.1", port)
            state = {"rpc": url, "passphrase": PASSPHRASE, "farm_contract": node.ledger.farm_id,
                     "asset_contract": node.ledger.asset_id, "friendbot": node.friendbot_url,
                     "ledger_seconds": ledger_seconds, "block_seconds": block_seconds, "pid": os.getpid()}
            await trio.Path(state_path).write_text(json.dumps(state, indent=2) + "\n")
            click.echo(f"KALE devnet (a local model, not a Stellar node) at {url}\n"
                       f"farm contract {node.ledger.farm_id}, a ledger every {ledger_seconds:g} s, "
                       f"a block every {block_seconds} s\nstate {state_path}; Ctrl-C stops it")
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        trio.run(main)
    except* OSError as group:
        first = group.exceptions[0]
        why = first.strerror if isinstance(first, OSError) and first.strerror else first
        fail(f"the KALE devnet could not start on 127.0.0.1:{port}: {why}", EXIT_ERROR)
    finally:
        state_path.unlink(missing_ok=True)
