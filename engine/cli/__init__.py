"""The ``shiftboss`` command line."""

from __future__ import annotations

import sys

import click

from engine.bench import bench
from engine.cli._console import console, up
from engine.cli._db import db
from engine.cli._engine_cmds import audit, chains, config, estop, pools, reload, resume, run, status, stop
from engine.cli._evm import devnet, evm, keys
from engine.cli._ipfs import ipfs
from engine.cli._jobs import jobs
from engine.cli._kale import kale
from engine.cli._solana import cloudmesh, solana
from engine.cli._structs import structs
from engine.cli._worker import worker, workers
from engine.output import emit_json


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option("0.1.0", prog_name="shiftboss")
def cli() -> None:
    """Shiftboss: run and steer on-chain work — PoW farming, keeper transactions, compute jobs.

    \b
    Start:    shiftboss run [--detach] [--data-dir DIR]   (engine; Ctrl-C/SIGTERM stops it gracefully)
              shiftboss up                                 (engine with demo load + the console)
    Watch:    shiftboss console [--attach PATH|URL] [--read-only] · status · jobs list · jobs watch · audit
    Steer:    jobs submit|retry|cancel · pools pause|resume|drain · estop --reason · resume
              chains set-height (manual height source for pow.structs)
    Chains:   shiftboss devnet (local anvil + workflow contracts) · keys new|show|import · evm grant-role
              shiftboss kale devnet (the local KALE chain: a Soroban-RPC devnet running the farm contract)
              shiftboss ipfs devnet (a local Kubo RPC + gateway + Pinata endpoint, CIDs as kubo makes them)
              shiftboss solana devnet|keys|balance|airdrop · cloudmesh jobs|submit FILE --title T
              shiftboss structs devnet|keys new|show|player|struct (the local Structs chain: CometBFT + REST)
    Workers:  shiftboss workers [drain|undrain ID] · worker keygen FILE · worker run --key FILE --coordinator ID
    Config:   shiftboss config check · reload (or SIGHUP) · db migrate|status [--store postgresql://…]
    Measure:  shiftboss bench queue · pow · evm · kale · pool · cloudmesh · structs · console

    Clients find the engine through --socket PATH or SHIFTBOSS_SOCKET (default: the socket in
    the data dir), or --url with a token over TCP. Every client command takes --json.
    """


for command in (run, stop, up, console, status, estop, resume, pools, jobs, chains, audit, config, reload, bench,
                devnet, keys, evm, kale, ipfs, solana, cloudmesh, structs, worker, workers, db):
    cli.add_command(command)


def main() -> None:
    """Run the CLI. Under ``--json`` a usage error is one JSON error document too (exit 2)."""
    if "--json" not in sys.argv[1:]:
        cli(prog_name="shiftboss")
        return
    try:
        cli.main(prog_name="shiftboss", standalone_mode=False)
    except click.UsageError as exc:
        emit_json({"error": {"code": "usage", "message": exc.format_message(),
                             "details": {"command": exc.ctx.command_path if exc.ctx else "shiftboss"}}})
        raise SystemExit(2) from None
    except click.exceptions.Abort:
        raise SystemExit(1) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None


__all__ = ["cli", "main"]
