"""``shiftboss console`` and ``shiftboss up``: open the operator console (a separate program,
:mod:`console`, which this module never imports — it execs it), starting an engine first if
none answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.cli._common import EXIT_CONFIG, EXIT_UNREACHABLE
from engine.cli._engine_cmds import CONFIG_OPTION, load_or_exit, print_status, start_detached
from engine.client import Client, socket_accepts
from engine.config import Settings, default_config_path
from engine.output import fail

ATTACH_HELP = "Engine to attach to: a Unix socket PATH, or an http(s)://HOST:PORT URL (needs a token)."


@click.command()
@CONFIG_OPTION
@click.option("--data-dir", type=click.Path(file_okay=False), help="Engine data dir (its socket is the default).")
@click.option("--attach", metavar="PATH|URL", envvar="SHIFTBOSS_ATTACH", help=ATTACH_HELP + " [env SHIFTBOSS_ATTACH]")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True),
              help="File with the bearer token for an http(s) --attach (or set SHIFTBOSS_TOKEN).")
@click.option("--read-only", is_flag=True, help="Hide every action that changes the engine (also: a read-only token).")
@click.option("--start/--no-start", default=None,
              help="Start a detached engine if none answers at the local socket [default: ask].")
@click.option("--demo", is_flag=True, help="Give an engine started here demo load.")
def console(config_path: Path | None, data_dir: str | None, attach: str | None, token_file: str | None,
            read_only: bool, start: bool | None, demo: bool) -> None:
    """Open the operator console: live pools, workers, jobs; trigger, retry, cancel, e-stop.

    \b
    Keys: d dashboard · j jobs · a audit · t trigger · f freeze · ? help · ctrl+p palette
          ctrl+s EMERGENCY STOP (asks for a reason, then confirms) · ctrl+r resume · q quit
    Remap keys in config.toml [console.keymap] (action id = "keys").

    The console is only a client: quitting it, Ctrl-C, a closed terminal or a dropped SSH
    session never stops the engine. With no engine answering at the local socket it offers to
    start one (detached: it keeps running after the console exits; `shiftboss stop` stops it).
    """
    overrides = {"engine.data_dir": data_dir} if data_dir else {}
    settings = load_or_exit(config_path, overrides)
    exec_console(settings, config_path, attach=attach, token_file=token_file, read_only=read_only, start=start,
                 demo=demo)


@click.command()
@CONFIG_OPTION
@click.option("--data-dir", type=click.Path(file_okay=False), help="Engine data dir.")
@click.option("--follow", "follow_only", is_flag=True, help="Print events instead of opening the console.")
@click.option("--no-devnet", is_flag=True, help="Do not start the local chains (anvil + workflow contracts, KALE, Solana).")
def up(config_path: Path | None, data_dir: str | None, follow_only: bool, no_devnet: bool) -> None:
    """Start a devnet and an engine with demo load (if not running) and open the console.

    This is what `make demo` runs: a local anvil chain with the workflow executor's contracts
    (state in ./.demo, see `shiftboss devnet`), the local KALE chain (a devnet with 60 s blocks,
    see `shiftboss kale devnet`) with three demo farmers, the local Solana node and IPFS endpoint
    with a demo CloudMesh job every 20 s (see `shiftboss cloudmesh devnet`), and an engine with
    demo jobs that also executes the demo workflows, farms KALE for those farmers (press K in the
    console) and runs the CloudMesh jobs (press M), and the local Structs chain (see `shiftboss
    structs devnet`) where the demo starts a struct build every 30 s and proves it.
    Without a terminal (or with --follow) it prints events instead. The engine and the chains
    keep running afterwards (`shiftboss stop`; the chains' pids are in .demo/anvil.pid,
    .demo/kale-devnet.json and .demo/cloudmesh-devnet.json).
    """
    overrides = {"engine.data_dir": data_dir} if data_dir else {}
    settings = load_or_exit(config_path, overrides)
    devnet_state = None if no_devnet else _ensure_devnet(Path(".demo"))
    kale_state = None if no_devnet else _ensure_kale_devnet(Path(".demo"))
    mesh_state = None if no_devnet else _ensure_cloudmesh_devnet(Path(".demo"))
    structs_state = None if no_devnet else _ensure_structs_devnet(Path(".demo"))
    if not socket_accepts(settings.socket_path):
        click.echo("starting the engine with demo load …")
        start_detached(settings, config_path or default_config_path(), demo=True, devnet_state=devnet_state,
                       kale_state=kale_state, cloudmesh_state=mesh_state, structs_state=structs_state)
    else:
        click.echo(f"attached to the running engine at {settings.socket_path}")
    if not follow_only and sys.stdin.isatty() and sys.stdout.isatty():
        exec_console(settings, config_path, attach=None, token_file=None, read_only=False, start=False, demo=True)
    from engine.cli._jobs import follow

    client = Client(socket_path=settings.socket_path)
    try:
        print_status(client.get("/v1/status"))
        click.echo("\nfollowing events — Ctrl-C to stop following (the engine keeps running)\n")
        follow(client, None, None, "job.state,estop,pool.state")
    except KeyboardInterrupt:
        click.echo("\nstopped following; the engine is still running (`shiftboss status`, `shiftboss stop`)")
    finally:
        client.close()


def _ensure_devnet(folder: Path) -> Path | None:
    """The demo devnet's state file: the running one, or a new devnet started detached."""
    from engine.chains.evm import find_anvil
    from engine.chains.evm._devnet import DevnetState, Rpc
    from engine.errors import ChainError
    from engine.ports import free_port

    state_path = folder / "devnet.json"
    if state_path.exists():
        try:
            state = DevnetState.read(state_path)
            Rpc(state.rpc)("eth_chainId")
            Rpc(state.rpc)("eth_getCode", state.executor, "latest")
            click.echo(f"devnet running at {state.rpc}")
            return state_path
        except (ChainError, OSError):
            state_path.unlink()
    if find_anvil() is None:
        click.echo("no anvil here (`make node` installs it): the demo runs without a chain")
        return None
    port = 8545 if _port_free(8545) else free_port()
    click.echo(f"starting a local devnet on :{port}: anvil, then deploying the workflow contracts (~10 s) …")
    result = subprocess.run([sys.executable, "-m", "engine", "devnet", "--detach", "--port", str(port),
                             "--state", str(state_path), "--key-file", str(folder / "signer.key")],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        click.echo(f"the devnet did not start ({result.stderr.strip()}); the demo runs without a chain")
        return None
    click.echo(result.stdout.strip())
    return state_path


def _ensure_kale_devnet(folder: Path, farmers: int = 3) -> Path | None:
    """The demo's local KALE chain (60 s blocks, 2 s ledgers): the running one, or a new one
    started in the background; and ``farmers`` demo farmers, their seeds in kale-farmers/ (0600),
    funded by its friendbot."""
    import httpx
    from stellar_sdk import Keypair

    state_path = folder / "kale-devnet.json"
    state = _running_or_started(
        state_path, "KALE devnet", "starting the local KALE chain (a devnet: 60 s blocks, a ledger every 2 s) …",
        ["kale", "devnet", "--detach", "--port", "0", "--block-seconds", "60", "--ledger-seconds", "2"])
    if state is None:
        return None
    keys_dir = folder / "kale-farmers"
    keys_dir.mkdir(mode=0o700, exist_ok=True)
    for n in range(farmers):
        path = keys_dir / f"farmer{n + 1}.secret"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(Keypair.random().secret + "\n")
        address = Keypair.from_secret(path.read_text().strip()).public_key
        try:
            httpx.get(state["friendbot"], params={"addr": address, "kale": str(10**10)}, timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            click.echo(f"could not fund demo farmer {address}: {exc}")
    return state_path


def _ensure_cloudmesh_devnet(folder: Path) -> Path | None:
    """The demo's local Solana node and IPFS endpoint (a demo job every 20 s): the running ones, or
    new ones started in the background; and the CloudMesh worker's key, funded."""
    state_path = folder / "cloudmesh-devnet.json"
    state = _running_or_started(
        state_path, "CloudMesh devnet",
        "starting the local Solana node and IPFS endpoint for CloudMesh (devnets; a demo job every 20 s) …",
        ["cloudmesh", "devnet", "--detach", "--rpc-port", "0", "--ipfs-port", "0", "--demo-jobs", "20"])
    if state is None:
        return None
    funded = subprocess.run([sys.executable, "-m", "engine", "solana", "airdrop", "--sol", "10", "--keypair",
                             str(folder / "cloudmesh-worker.json"), "--rpc", state["rpc"]],
                            capture_output=True, text=True, timeout=60)
    if funded.returncode != 0:
        click.echo(f"could not fund the CloudMesh worker: {funded.stderr.strip()}")
    return state_path


def _ensure_structs_devnet(folder: Path) -> Path | None:
    """The demo's local Structs chain (a block every second, one demo player whose key is
    structs-player.key): the running one, or a new one started in the background."""
    state_path = folder / "structs-devnet.json"
    state = _running_or_started(
        state_path, "Structs devnet", "starting the local Structs chain (a devnet: a block every 1 s) …",
        ["structs", "devnet", "--detach", "--rpc-port", "0", "--rest-port", "0", "--player",
         str(folder / "structs-player.key")])
    return None if state is None else state_path


def _running_or_started(state_path: Path, what: str, starting: str, args: list[str]) -> dict[str, Any] | None:
    """The state of the devnet whose state file is ``state_path`` if it answers ``getHealth``
    on its ``rpc``; else one started now (``shiftboss <args> --state …``); None if it cannot start."""
    import httpx

    if state_path.exists():
        try:
            state: dict[str, Any] = json.loads(state_path.read_text())
            httpx.post(state["rpc"], json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=2).raise_for_status()
            click.echo(f"{what} running at {state['rpc']}")
            return state
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            state_path.unlink(missing_ok=True)
    click.echo(starting)
    result = subprocess.run([sys.executable, "-m", "engine", *args, "--state", str(state_path)], capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        click.echo(f"the {what} did not start ({result.stderr.strip()}); the demo runs without it")
        return None
    click.echo(result.stdout.strip())
    return dict(json.loads(state_path.read_text()))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def exec_console(settings: Settings, config_path: Path | None, *, attach: str | None, token_file: str | None,
                 read_only: bool, start: bool | None, demo: bool) -> NoReturn:
    env: dict[str, Any] = dict(os.environ)
    if attach and attach.startswith(("http://", "https://")):
        token = Path(token_file).read_text().strip() if token_file else os.environ.get("SHIFTBOSS_TOKEN", "")
        if not token:
            fail(f"--attach {attach}: a TCP engine needs a token: --token-file FILE or SHIFTBOSS_TOKEN", EXIT_CONFIG)
        env["SHIFTBOSS_TOKEN"] = token  # the environment, never argv (ps shows argv)
        where = attach
    else:
        path = Path(attach) if attach else Path(os.environ.get("SHIFTBOSS_SOCKET") or settings.socket_path)
        if not socket_accepts(path):
            local = path == settings.socket_path
            if start is None and local and sys.stdin.isatty():
                start = click.confirm(f"No engine answers at {path}. Start one (detached) now?", default=True)
            if not (start and local):
                hint = ("start one with `shiftboss run --detach` or pass --start" if local else
                        f"start an engine that serves it: SHIFTBOSS_API__SOCKET={path} shiftboss run --detach")
                fail(f"no engine answers at {path}; {hint}", EXIT_UNREACHABLE)
            start_detached(settings, config_path or default_config_path(), demo=demo)
        where = str(path)
    args = [sys.executable, "-m", "console", "--attach", where, "--keymap", json.dumps(settings.console.keymap)]
    if read_only or settings.console.read_only:
        args.append("--read-only")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, args, env)
