"""``shiftboss devnet``, ``shiftboss keys new|show|import`` and ``shiftboss evm grant-role``:
the local chain and the signer's key (the seed's helper scripts, done properly)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from engine.cli._common import EXIT_CONFIG, EXIT_ERROR
from engine.errors import ChainError, ConfigError
from engine.output import emit_json, fail

KEY_FILE = click.Path(dir_okay=False, path_type=Path)


def _password_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--password-env", metavar="VAR", help="Environment variable holding the keystore password.")(fn)
    return click.option("--password-file", type=click.Path(dir_okay=False, exists=True),
                        help="File holding the keystore password.")(fn)


# --- keys ---------------------------------------------------------------------------------------

@click.group()
def keys() -> None:
    """Signer keys: encrypted JSON keystores or 0600 key files. Never printed unless --reveal."""


@keys.command("new")
@click.argument("path", type=KEY_FILE)
@click.option("--plain", is_flag=True, help="Write a plain 0600 key file instead of an encrypted keystore.")
@_password_options
@click.option("--json", "as_json", is_flag=True, help="Print the address as JSON.")
def keys_new(path: Path, plain: bool, password_file: str | None, password_env: str | None, as_json: bool) -> None:
    """Create a new key at PATH (never overwrites) and print its address."""
    from eth_account import Account

    _store_key(Account.create(), path, plain, password_file, password_env, as_json)


@keys.command("import")
@click.argument("path", type=KEY_FILE)
@click.option("--key-env", metavar="VAR", help="Read the private key from this environment variable …")
@click.option("--key-stdin", is_flag=True, help="… or from standard input (never from an argument: ps shows those).")
@click.option("--plain", is_flag=True, help="Write a plain 0600 key file instead of an encrypted keystore.")
@_password_options
@click.option("--json", "as_json", is_flag=True, help="Print the address as JSON.")
def keys_import(path: Path, key_env: str | None, key_stdin: bool, plain: bool, password_file: str | None,
                password_env: str | None, as_json: bool) -> None:
    """Store an existing private key at PATH (keystore, or --plain 0600 file)."""
    from eth_account import Account

    raw = os.environ.get(key_env, "") if key_env else (sys.stdin.readline() if key_stdin else "")
    if not raw.strip():
        fail("no key given: --key-env VAR or --key-stdin", EXIT_CONFIG)
    try:
        account = Account.from_key(raw.strip())
    except (ValueError, TypeError):
        fail("that is not a private key (64 hex digits)", EXIT_CONFIG)
    _store_key(account, path, plain, password_file, password_env, as_json)


@keys.command("show")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--address", "address_only", is_flag=True, help="Print only the address (the seed's get_worker_address).")
@click.option("--reveal", is_flag=True, help="Also print the private key. It will be on your screen and in scrollback.")
@_password_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def keys_show(path: Path, address_only: bool, reveal: bool, password_file: str | None, password_env: str | None,
              as_json: bool) -> None:
    """The address of the key at PATH (a keystore shows it without its password)."""
    from engine.chains.evm import _keys

    address = None if reveal else _keys.address_of(path)
    key = None
    if address is None:
        try:
            password = _keys.password_from(password_file, password_env) if path.read_text().lstrip().startswith("{") \
                else None
            account = _keys.load(path, password)
        except ConfigError as exc:
            fail(str(exc), EXIT_CONFIG)
        address = account.address
        key = account.key.hex() if reveal else None
    if as_json:
        emit_json({"address": address, **({"private_key": "0x" + key.removeprefix("0x")} if key else {})})
    elif address_only:
        click.echo(address)
    else:
        click.echo(f"address {address}\nfile    {path}")
        if key:
            click.echo(f"key     0x{key.removeprefix('0x')}   (revealed on request)")


def _store_key(account: Any, path: Path, plain: bool, password_file: str | None, password_env: str | None,
               as_json: bool) -> None:
    """Write ``account`` to PATH (keystore, or a 0600 file with --plain) and print its address."""
    from engine.chains.evm import _keys

    try:
        _keys.save(account, path, None if plain else _keys.password_from(password_file, password_env))
    except FileExistsError:
        fail(f"{path} exists: a key is never overwritten", EXIT_ERROR)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    if as_json:
        emit_json({"address": account.address, "path": str(path)})
    else:
        click.echo(f"address {account.address}\nkey     {path} (mode 600)")


# --- devnet -------------------------------------------------------------------------------------

@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True, help="anvil's RPC port.")
@click.option("--block-time", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Seconds per block (0: mine on every transaction).")
@click.option("--state", "state_path", type=KEY_FILE, default=Path(".demo/devnet.json"), show_default=True,
              help="Where to write the contract addresses (config: chains.<name>.state_file).")
@click.option("--key-file", type=KEY_FILE, default=Path(".demo/signer.key"), show_default=True,
              help="The engine's signer: created (0600) if missing; gets WORKER_ROLE and 100 ETH.")
@click.option("--workflows", type=click.IntRange(0, 1000), default=3, show_default=True, help="Demo workflows.")
@click.option("--interval", type=click.IntRange(1), default=30, show_default=True, help="Seconds between runs.")
@click.option("--detach", is_flag=True, help="Leave anvil running in the background (pid in the state file's dir).")
@click.option("--stop", is_flag=True, help="Stop a detached devnet (the anvil.pid beside --state) and exit.")
def devnet(port: int, block_time: float, state_path: Path, key_file: Path, workflows: int, interval: int,
           detach: bool, stop: bool) -> None:
    """Start a local EVM chain (anvil) with the workflow executor's contracts.

    Deploys WorkflowRegistry, FeeEscrow, ActionExecutor and DemoTarget; grants WORKER_ROLE to
    the engine's signer and funds it; creates demo workflows (funded in escrow); writes the
    addresses to --state. Point a [chains.<name>] section at it (see config.toml).
    Ctrl-C stops the chain (unless --detach)."""
    from eth_account import Account

    from engine.chains.evm import Anvil, _keys
    from engine.chains.evm._devnet import deploy

    if stop:
        _stop_devnet(state_path)
        return
    if not key_file.exists():
        _keys.save(Account.create(), key_file, None)
    try:
        signer = _keys.load(key_file).address
    except ConfigError as exc:
        fail(f"{exc} (devnet signers are plain 0600 key files)", EXIT_CONFIG)
    args = ["--block-time", f"{block_time:g}"] if block_time else []
    log = state_path.parent / "anvil.log"
    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        node = Anvil(port=port, args=args, log=log, detached=detach).start()
    except ChainError as exc:
        fail(f"{exc}; see {log}", EXIT_ERROR)
    try:
        state = deploy(node.url, signer, workflows=workflows, interval=interval)
        state.key_file = str(key_file.resolve())
        state.write(state_path)
    except (ChainError, OSError) as exc:
        node.stop()
        fail(f"devnet set-up failed: {exc}", EXIT_ERROR)
    assert node.proc is not None
    click.echo(f"devnet  {node.url} (chain id {state.chain_id}, anvil pid {node.proc.pid}, log {log})\n"
               f"signer  {signer} ({key_file}): WORKER_ROLE, 100 ETH\n"
               f"registry {state.registry}  executor {state.executor}\n"
               f"escrow   {state.escrow}  target   {state.target}\n"
               f"workflows {', '.join(map(str, state.workflows)) or 'none'} (every {interval}s)\n"
               f"state   {state_path}")
    if detach:
        (state_path.parent / "anvil.pid").write_text(f"{node.proc.pid}\n")
        return
    click.echo("Ctrl-C stops the devnet")
    try:
        while node.proc.poll() is None:
            time.sleep(0.5)
        fail(f"anvil exited with {node.proc.returncode}; see {log}", EXIT_ERROR)
    except KeyboardInterrupt:
        node.proc.send_signal(signal.SIGTERM)
        node.stop()


def _stop_devnet(state_path: Path) -> None:
    pid_file = state_path.parent / "anvil.pid"
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        fail(f"no detached devnet here ({pid_file} is missing)", EXIT_ERROR)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"anvil" not in f.read():
                raise ProcessLookupError
        os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        click.echo(f"the devnet (pid {pid}) was not running")
    else:
        click.echo(f"devnet stopped (anvil pid {pid})")
    pid_file.unlink(missing_ok=True)
    state_path.unlink(missing_ok=True)  # its addresses are gone with the chain


# --- evm ----------------------------------------------------------------------------------------

@click.group()
def evm() -> None:
    """EVM helpers."""


@evm.command("grant-role")
@click.argument("account")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=Path(".demo/devnet.json"), show_default=True, help="The devnet state file.")
def grant_worker_role(account: str, state_path: Path) -> None:
    """Grant WORKER_ROLE on the devnet's ActionExecutor to ACCOUNT (no-op if it has it)."""
    from eth_utils import is_address, to_checksum_address

    from engine.chains.evm._devnet import DevnetState, Rpc, grant_role

    if not is_address(account):
        fail(f"{account!r} is not an address", EXIT_CONFIG)
    try:
        state = DevnetState.read(state_path)
        granted = grant_role(Rpc(state.rpc), state.executor, to_checksum_address(account))
    except (ChainError, OSError) as exc:
        fail(str(exc), EXIT_ERROR)
    click.echo(f"WORKER_ROLE {'granted to' if granted else 'already held by'} {to_checksum_address(account)}")
