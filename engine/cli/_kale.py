"""``shiftboss kale …``: the KALE farm of a running engine (status, farmers, blocks,
compensations; adding and removing farmers) and the local KALE chain."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import trio

from engine.cli._common import EXIT_CONFIG, client_options, detach_devnet, fail, serve_until_stopped
from engine.client import Client
from engine.output import ago, emit_json, table


@click.group()
def kale() -> None:
    """KALE farming on Stellar/Soroban: the farm of a running engine ([kale] in config.toml) and
    the local KALE chain (devnet)."""


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _kale(amount: str | int | None) -> str:
    """Stroops as KALE (7 decimals)."""
    if amount in (None, ""):
        return "-"
    value = int(amount)  # type: ignore[arg-type]
    return f"{value / 10**7:,.7f}".rstrip("0").rstrip(".")


@kale.command("status")
@client_options
def status(client: Client, as_json: bool) -> None:
    """The current block (index, age, entropy), each farmer's pail in it, and when work goes out."""
    data = client.get("/v1/kale")
    if as_json:
        emit_json(data)
        return
    block = data["block"]
    if data.get("error"):
        click.echo(f"! {data['error']}")
    if block is None:
        click.echo(f"{data['chain']}: no block yet (the farm opens one on its first plant)")
    else:
        now = time.time()
        click.echo(f"block {block['index']}  age {block['age_s']} s  entropy {block['entropy'][:16]}…  "
                   f"ledger {data['ledger']}{'  PAUSED' if data['paused'] else ''}")
        click.echo(f"work goes out {ago(data['next_work_at'], now)}, block may end {ago(data['block_ends_at'], now)}; "
                   f"{data['compensations']} compensation(s), reports {data['reports']}")
    rows = []
    for f in data["farmers"]:
        pail = f["pail"] or {}
        rows.append([_short(f["address"]), _kale(f["stake"]), f["origin"], pail.get("state", "-"),
                     pail.get("zeros", pail.get("best_zeros", "-")), pail.get("gap", "-"), _kale(pail.get("reward")),
                     pail.get("error") or ""])
    table(["farmer", "stake", "origin", "state", "zeros", "gap", "reward", "note"], rows, empty="no farmers")


@kale.group("farmers", invoke_without_command=True)
@click.pass_context
def farmers(ctx: click.Context) -> None:
    """The farmers this engine farms for; alone, lists them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(farmers_list)


@farmers.command("list")
@client_options
def farmers_list(client: Client, as_json: bool) -> None:
    """Every farmer, active or removed (secrets are never shown)."""
    data = client.get("/v1/kale/farmers")
    if as_json:
        emit_json(data)
        return
    table(["farmer", "stake", "origin", "active", "added"],
          [[f["address"], _kale(f["stake"]), f["origin"], "yes" if f["active"] else "no", ago(f["added_at"])]
           for f in data["farmers"]], empty="no farmers")


@farmers.command("add")
@click.argument("address")
@click.option("--secret-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File holding the farmer's secret seed (S…) …")
@click.option("--secret-stdin", is_flag=True, help="… or read it from standard input (never from an argument).")
@click.option("--stake", type=click.IntRange(0), help="KALE stroops to stake per block (default: kale.stake).")
@click.option("--reason", default="", help="Why, for the audit log.")
@client_options
def farmers_add(client: Client, as_json: bool, address: str, secret_file: Path | None, secret_stdin: bool,
                stake: int | None, reason: str) -> None:
    """Farm for ADDRESS (G…). Its secret is checked against the address and sealed in the store."""
    secret = secret_file.read_text() if secret_file else (sys.stdin.readline() if secret_stdin else "")
    if not secret.strip():
        fail("no secret given: --secret-file FILE or --secret-stdin", EXIT_CONFIG)
    body = {"address": address, "secret": secret.strip(), "reason": reason, **({} if stake is None else {"stake": stake})}
    data = client.post("/v1/kale/farmers", body)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{address} {'added' if data['added'] else 'updated'}")


@farmers.command("remove")
@click.argument("address")
@click.option("--reason", default="", help="Why, for the audit log.")
@client_options
def farmers_remove(client: Client, as_json: bool, address: str, reason: str) -> None:
    """Stop farming for ADDRESS (its pails already planted are still worked and harvested)."""
    data = client.post(f"/v1/kale/farmers/{address}/remove", {"reason": reason})
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{address} removed")


@kale.command("blocks")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@client_options
def blocks(client: Client, as_json: bool, limit: int) -> None:
    """The blocks the farm has seen, newest first."""
    data = client.get("/v1/kale/blocks", limit=limit)
    if as_json:
        emit_json(data)
        return
    table(["block", "opened", "entropy", "staked", "zeros", "gap"],
          [[b["index"], ago(b["timestamp"]), b["entropy"][:16] + "…", _kale(b["staked_total"]),
            f"{b['min_zeros']}–{b['max_zeros']}", f"{b['min_gap']}–{b['max_gap']}"] for b in data["blocks"]],
          empty="no blocks seen yet")


@kale.command("compensations")
@client_options
def compensations(client: Client, as_json: bool) -> None:
    """Farmers whose work failed for good, with their stake and why (what the Backend pays back)."""
    data = client.get("/v1/kale/compensations")
    if as_json:
        emit_json(data)
        return
    table(["farmer", "block", "stake", "reason", "when"],
          [[c["farmer"], c["block"], _kale(c["stake"]), c["reason"], ago(c["created_at"])] for c in data["compensations"]],
          empty="no compensations")


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
@click.option("--detach", is_flag=True, help="Run in the background (log beside the state file); return once it answers.")
def devnet(port: int, ledger_seconds: float, block_seconds: int, state_path: Path, detach: bool) -> None:
    """Run a local KALE chain: a Soroban-RPC-compatible JSON-RPC server whose ledger runs a model of
    the KALE farm contract (KALE-sc @96a0241: every rule and error code, checked signatures and
    sequence numbers). It is a devnet, not a Stellar node: only the farm contract (and the KALE
    asset it mints and burns) exists on it; accounts are created by its friendbot
    (GET <rpc>/friendbot?addr=G…&kale=STROOPS). Ctrl-C or SIGTERM stops it."""
    if detach:
        _detach_devnet(port, ledger_seconds, block_seconds, state_path)
        return
    from stellar_sdk import Keypair

    from engine.devnets.kale.contract import KaleFarm
    from engine.devnets.kale.ledger import PASSPHRASE, Ledger
    from engine.devnets.kale.server import Devnet

    now = int(time.time())
    farm = KaleFarm(Keypair.random().public_key, now=now, block_interval=block_seconds)
    node = Devnet(Ledger(sequence=1, close_time=now, farm=farm), ledger_seconds=ledger_seconds)

    async def start(nursery: trio.Nursery) -> dict[str, Any]:
        url = await nursery.start(node.run, "127.0.0.1", port)
        click.echo(f"KALE devnet (a local model, not a Stellar node) at {url}\n"
                   f"farm contract {node.ledger.farm_id}, a ledger every {ledger_seconds:g} s, "
                   f"a block every {block_seconds} s\nstate {state_path}; Ctrl-C stops it")
        return {"rpc": url, "passphrase": PASSPHRASE, "farm_contract": node.ledger.farm_id,
                "asset_contract": node.ledger.asset_id, "friendbot": node.friendbot_url,
                "ledger_seconds": ledger_seconds, "block_seconds": block_seconds}

    serve_until_stopped("KALE devnet", f"127.0.0.1:{port}", start, state_path=state_path)


def _detach_devnet(port: int, ledger_seconds: float, block_seconds: int, state_path: Path) -> None:
    state = detach_devnet("KALE devnet", ["kale", "devnet", "--port", str(port), "--ledger-seconds",
                                           str(ledger_seconds), "--block-seconds", str(block_seconds)], state_path)
    click.echo(f"KALE devnet (a local model, not a Stellar node) at {state['rpc']}, pid {state['pid']}; "
               f"state {state_path}, log {state['log']}")
