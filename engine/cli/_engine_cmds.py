"""Commands that run or steer the engine as a whole: run, stop, status, estop, resume,
pools, config."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from engine.cli._common import EXIT_CONFIG, EXIT_ERROR, client_options
from engine.client import Client, ClientError
from engine.config import Settings, check_kinds, default_config_path, load_settings
from engine.errors import ConfigError, EngineError, EngineLocked, UnsafeDataDir
from engine.lifecycle import (
    DETACHED_ENV,
    StartFailed,
    detach,
    log_tail,
    pid_from_file,
    secure_data_dir,
    wait_exit,
)
from engine.output import ago, emit_json, fail, table

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="config.toml to use [env SHIFTBOSS_CONFIG; default: ./config.toml if present, else built-in defaults].",
)


def load_or_exit(config_path: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    from engine.jobs import default_registry

    path = config_path or default_config_path()
    try:
        settings = load_settings(path, overrides=overrides)
        check_kinds(settings, default_registry().names())
    except ConfigError as exc:
        click.echo(click.style("invalid configuration", fg="red", bold=True) + f" ({path or 'defaults'}):", err=True)
        for key, reason in exc.problems:
            click.echo(f"  {key}: {reason}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    return settings


@click.command()
@CONFIG_OPTION
@click.option("--data-dir", type=click.Path(file_okay=False), help="Keep database, pid, log and socket here.")
@click.option("--detach", is_flag=True, help="Run in the background; write engine.pid and engine.log in the data dir.")
@click.option("--demo", is_flag=True, help="Submit a steady trickle of demo jobs (some retry, some fail).")
@click.option("--tcp", metavar="HOST:PORT", help="Also serve the API on TCP (needs a token; see api.token_file).")
@click.option("--store", "store_url", metavar="URL",
              help="Keep the queue in PostgreSQL (postgresql://user@host/db; the password from store.password_env,"
                   " store.password_file or SHIFTBOSS_PG_PASSWORD), shared with other engines.")
@click.option("--devnet", "devnet_state", type=click.Path(dir_okay=False, exists=True),
              help="Add the chain `devnet` from a `shiftboss devnet` state file (RPC, contracts, signer key).")
@click.option("--kale-devnet", "kale_state", type=click.Path(dir_okay=False, exists=True),
              help="Farm KALE on the local KALE chain of a `shiftboss kale devnet` state file, for the farmers"
                   " whose secret files are in kale-farmers/ beside it (what `make demo` does).")
@click.option("--cloudmesh-devnet", "cloudmesh_state", type=click.Path(dir_okay=False, exists=True),
              help="Work for CloudMesh on the local Solana node and IPFS endpoint of a `shiftboss cloudmesh devnet`"
                   " state file (what `make demo` does).")
@click.option("--structs-devnet", "structs_state", type=click.Path(dir_okay=False, exists=True),
              help="Follow the local Structs chain of a `shiftboss structs devnet` state file, signing with its first"
                   " player's key as `demo` (what `make demo` does; with --demo, a struct build every 30 s).")
def run(config_path: Path | None, data_dir: str | None, detach: bool, demo: bool, tcp: str | None,
        store_url: str | None, devnet_state: str | None, kale_state: str | None, cloudmesh_state: str | None,
        structs_state: str | None) -> None:
    """Run the engine (foreground unless --detach).

    SIGTERM or Ctrl-C stops it gracefully: nothing new is claimed, running jobs get
    engine.grace_period seconds, the rest go back to the queue; exit status 0. A second
    SIGTERM/Ctrl-C interrupts running jobs at once (still back in the queue). SIGHUP reloads
    the configuration. The log goes to <data dir>/engine.log (and stderr in the foreground).
    """
    overrides: dict[str, Any] = {}
    if data_dir:
        overrides["engine.data_dir"] = data_dir
    if demo:
        overrides["demo.enabled"] = True
    if tcp:
        overrides["api.tcp"] = tcp
    if store_url:
        overrides["store.url"] = store_url
    if devnet_state:
        overrides.update(devnet_overrides(Path(devnet_state)))
    if kale_state:
        overrides.update(kale_devnet_overrides(Path(kale_state)))
    if cloudmesh_state:
        overrides.update(cloudmesh_devnet_overrides(Path(cloudmesh_state)))
    if structs_state:
        overrides.update(structs_devnet_overrides(Path(structs_state)))
    settings = load_or_exit(config_path, overrides)
    if detach:
        start_detached(settings, config_path or default_config_path(), demo=demo, tcp=tcp,
                       devnet_state=Path(devnet_state) if devnet_state else None,
                       kale_state=Path(kale_state) if kale_state else None,
                       cloudmesh_state=Path(cloudmesh_state) if cloudmesh_state else None,
                       structs_state=Path(structs_state) if structs_state else None)
        return
    from engine.supervisor import run_engine

    try:
        tightened = secure_data_dir(settings)
        # engine.log in the data dir always (WatchedFileHandler: logrotate-friendly); stderr too
        # unless this is a detached engine, whose stderr already goes to that file.
        handlers: list[logging.Handler] = [logging.handlers.WatchedFileHandler(settings.log_path)]
    except UnsafeDataDir as exc:
        fail(str(exc), EXIT_CONFIG)
    except OSError as exc:
        fail(f"cannot use the data dir {settings.data_dir}: {exc.strerror} ({exc.filename}); "
             "choose another with --data-dir or engine.data_dir", EXIT_CONFIG)
    if not os.environ.get(DETACHED_ENV):
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=settings.engine.log_level.upper(), handlers=handlers,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for change in tightened:
        logging.getLogger("shiftboss.engine").warning("made private (others could read it): %s", change)
    try:
        path = config_path or default_config_path()
        run_engine(settings, path.resolve() if path else None, overrides)
    except EngineLocked as exc:
        fail(str(exc), EXIT_ERROR)
    except EngineError as exc:
        fail(str(exc), EXIT_CONFIG)
    except OSError as exc:  # the data dir went read-only or full under us, a file we may not open …
        fail(f"the engine could not use {exc.filename or settings.data_dir}: {exc.strerror or exc}", EXIT_CONFIG)


def devnet_overrides(state_path: Path) -> dict[str, Any]:
    """Config overrides that add the chain ``devnet`` described by a devnet state file."""
    from engine.chains.evm._devnet import DevnetState
    from engine.errors import ChainError

    try:
        state = DevnetState.read(state_path)
    except ChainError as exc:
        fail(str(exc), EXIT_CONFIG)
    values: dict[str, Any] = {"chains.devnet.rpc": [state.rpc], "chains.devnet.chain_id": state.chain_id,
                              "chains.devnet.state_file": str(state_path.resolve()),
                              "chains.devnet.scan_every_blocks": 2, "chains.devnet.poll_interval": 0.5}
    if state.key_file:
        values["chains.devnet.key_file"] = str(Path(state.key_file).resolve())
    return values


def kale_devnet_overrides(state_path: Path) -> dict[str, Any]:
    """Config overrides that farm KALE on the local KALE chain of ``state_path``: the chain
    ``kale``, the farm, and every farmer whose secret file is in ``kale-farmers/`` beside it."""
    from stellar_sdk import Keypair

    try:
        state = json.loads(state_path.read_text())
        block = int(state["block_seconds"])
        farmers = [{"address": Keypair.from_secret(f.read_text().strip()).public_key, "secret_file": str(f.resolve())}
                   for f in sorted((state_path.parent / "kale-farmers").glob("*.secret"))]
        return {"chains.kale.kind": "soroban", "chains.kale.rpc": [state["rpc"]],
                "chains.kale.network_passphrase": state["passphrase"], "chains.kale.poll_interval": 0.5,
                "kale.chain": "kale", "kale.contract": state["farm_contract"], "kale.block_interval": block,
                "kale.work_delay": round(block * 0.6, 1), "kale.work_margin": round(block * 0.1, 1),
                "kale.plant_window": round(block * 0.3, 1), "kale.stake": 10**7, "kale.farmers": farmers}
    except (OSError, ValueError, KeyError) as exc:
        fail(f"{state_path} is not a KALE devnet state file: {exc}", EXIT_CONFIG)
        raise


def cloudmesh_devnet_overrides(state_path: Path) -> dict[str, Any]:
    """Config overrides that work for CloudMesh on the devnets of ``state_path``: the chain
    ``solana`` and ``[cloudmesh]`` with the worker key ``cloudmesh-worker.json`` beside it."""
    try:
        state = json.loads(state_path.read_text())
        return {"chains.solana.kind": "solana", "chains.solana.rpc": [state["rpc"]], "chains.solana.poll_interval": 0.3,
                "cloudmesh.chain": "solana", "cloudmesh.ipfs_api": state["ipfs"], "cloudmesh.poll_interval": 2,
                "cloudmesh.timeout": 10, "cloudmesh.keypair": str((state_path.parent / "cloudmesh-worker.json").resolve())}
    except (OSError, ValueError, KeyError) as exc:
        fail(f"{state_path} is not a CloudMesh devnet state file: {exc}", EXIT_CONFIG)
        raise


def structs_devnet_overrides(state_path: Path) -> dict[str, Any]:
    """Config overrides that follow the local Structs chain of ``state_path``: the chain
    ``structs`` with its first player's key as the signer ``demo``, and the demo's Structs
    builds."""
    try:
        state = json.loads(state_path.read_text())
        player = state["players"][0]
        return {"chains.structs.kind": "cometbft", "chains.structs.rpc": [state["rpc"]],
                "chains.structs.rest": [state["rest"]], "chains.structs.chain_id": state["chain_id"],
                "chains.structs.poll_interval": 0.5, "chains.structs.keys": {"demo": str(Path(player["key"]).resolve())},
                "demo.structs_rest": state["rest"], "demo.structs_player": player["player_id"]}
    except (OSError, ValueError, KeyError, IndexError) as exc:
        fail(f"{state_path} is not a Structs devnet state file with a player: {exc}", EXIT_CONFIG)
        raise


def start_detached(settings: Settings, config_path: Path | None, *, demo: bool = False, tcp: str | None = None,
                   devnet_state: Path | None = None, kale_state: Path | None = None,
                   cloudmesh_state: Path | None = None, structs_state: Path | None = None) -> None:
    """Start a detached engine (see :func:`engine.lifecycle.detach`) and say where it is; exit
    with the reason if it cannot start."""
    try:
        pid = detach(settings, config_path=config_path, demo=demo, tcp=tcp, devnet_state=devnet_state,
                     kale_state=kale_state, cloudmesh_state=cloudmesh_state, structs_state=structs_state)
    except EngineLocked as exc:
        fail(str(exc), EXIT_ERROR)
    except UnsafeDataDir as exc:
        fail(str(exc), EXIT_CONFIG)
    except StartFailed as exc:
        if exc.exited:
            fail("the engine exited during start-up; end of its log:\n  "
                 + log_tail(settings.log_path, 15).replace("\n", "\n  "))
        fail(f"the engine did not answer within 60 s; see {settings.log_path}")
    click.echo(f"engine started (pid {pid})\n  socket {settings.socket_path}\n  log    {settings.log_path}")


@click.command()
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the engine to exit.")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@client_options
def stop(client: Client, as_json: bool, timeout: float, reason: str) -> None:
    """Stop the engine gracefully and wait until it has exited.

    If the API does not answer but the data dir's engine.pid names a live process, that
    process gets SIGTERM (the same graceful stop)."""
    try:
        pid = client.get("/v1/status")["pid"]
        client.post("/v1/shutdown", {"reason": reason})
        if not as_json:
            click.echo(f"stopping the engine (pid {pid}): running jobs get engine.grace_period to finish …", err=True)
    except ClientError:
        pid = pid_from_file(Path(client.where).parent / "engine.pid")
        if pid is None:
            raise
        click.echo(f"the API does not answer; sending SIGTERM to pid {pid}", err=True)
        os.kill(pid, signal.SIGTERM)
    if not wait_exit(pid, timeout):
        fail(f"engine (pid {pid}) still running after {timeout:g} s")
    if as_json:
        emit_json({"stopped": True, "pid": pid})
    else:
        click.echo(f"engine stopped (pid {pid})")


@click.command()
@client_options
def status(client: Client, as_json: bool) -> None:
    """Engine status: e-stop, pools (queue depth, running, rates) and job counts."""
    data = client.get("/v1/status")
    if as_json:
        emit_json(data)
    else:
        print_status(data)


def print_status(data: dict[str, Any]) -> None:
    click.echo(f"engine   pid {data['pid']} · up {ago(data['started_at']).replace(' ago', '')} · v{data['version']}"
               f" · events #{data['last_seq']:,}" + (" · SHUTTING DOWN" if data.get("shutting_down") else ""))
    click.echo(f"database {data['database']} (synchronous={data['synchronous']})")
    store = data.get("store") or {}
    if not store.get("writable", True):
        click.echo(click.style(f"STORE CANNOT WRITE since {ago(store.get('since'))}: {store.get('error')}"
                               " — nothing new is claimed; the engine retries", fg="red", bold=True))
    estop = data["estop"]
    if estop["active"] and not estop.get("persisted", True):
        click.echo(click.style("E-STOP NOT PERSISTED YET (the store cannot write); in force now", fg="red", bold=True))
    if estop["active"]:
        click.echo(click.style(f"E-STOP ACTIVE since {ago(estop['since'])} by {estop['actor']}: {estop['reason']}",
                               fg="red", bold=True))
    elif stopped := [p["name"] for p in data["pools"] if p.get("stopped_by") == "pool"]:
        click.echo(click.style(f"e-stop   pool{'s' if len(stopped) > 1 else ''} {', '.join(stopped)} stopped", fg="red",
                               bold=True))
    else:
        click.echo("e-stop   off")
    click.echo()
    table(
        ["pool", "state", "running", "queued", "waiting", "retrying", "done/s", "failed/s", "completed", "failed", "why"],
        [[p["name"], p["state"], f"{p['running']}/{p['concurrency']}", p["queued"], p["waiting"], p["retrying"],
          p["completed_per_s"], p["failed_per_s"], p["completed"], p["failed"],
          (f"{p['reason']} ({p['actor']})" if p.get("reason") else "")] for p in data["pools"]],
    )
    counts = data["counts"]
    click.echo("\njobs     " + (" · ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none yet"))


@click.command()
@click.option("--reason", required=True, help="Why (required; recorded with who and when).")
@click.option("--pool", help="Stop only this pool.")
@client_options
def estop(client: Client, as_json: bool, reason: str, pool: str | None) -> None:
    """EMERGENCY STOP: hold all intake, interrupt running work (back to the queue), forbid new
    broadcasts. Persists across restarts until `shiftboss resume`."""
    if not reason.strip():
        fail("--reason must not be empty", EXIT_CONFIG)
    data = client.post("/v1/estop", {"reason": reason, "pool": pool})
    if as_json:
        emit_json(data)
    else:
        target = f"pool {pool}" if pool else "engine"
        click.echo(click.style(f"E-STOP engaged for {target}", fg="red", bold=True)
                   + f"; {data['interrupted']} running job(s) interrupted and put back in the queue")


@click.command()
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@click.option("--pool", help="Resume only this pool (after `estop --pool`, pause or drain).")
@client_options
def resume(client: Client, as_json: bool, reason: str, pool: str | None) -> None:
    """Release the emergency stop (or resume one pool)."""
    data = client.post("/v1/resume", {"reason": reason, "pool": pool})
    if as_json:
        emit_json(data)
    else:
        click.echo(f"resumed {'pool ' + pool if pool else 'engine'}")


@click.group(invoke_without_command=True)
@click.pass_context
def pools(ctx: click.Context) -> None:
    """List, pause, resume and drain pools (no subcommand: list them)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(pools_list)


@pools.command("list")
@client_options
def pools_list(client: Client, as_json: bool) -> None:
    """Pools with their state, cap and queue depth."""
    data = client.get("/v1/pools")
    if as_json:
        emit_json(data)
        return
    table(["pool", "state", "running", "queued", "kinds", "why"],
          [[p["name"], p["state"], f"{p['running']}/{p['concurrency']}", p["queued"], ",".join(p["kinds"]),
            p.get("reason") or ""] for p in data["pools"]])


def _pool_action(action: str, doc: str) -> click.Command:
    @click.argument("name")
    @click.option("--reason", default="", help="Why (recorded in the audit log).")
    @client_options
    def command(client: Client, as_json: bool, name: str, reason: str, **extra: Any) -> None:
        data = client.post(f"/v1/pools/{name}/{action}", {"reason": reason})
        if action == "drain" and extra.get("wait"):
            if data["pool"]["state"] == "draining" and not as_json:
                click.echo(f"draining pool {name}: waiting for {data['pool']['running']} running job(s) …", err=True)
            while data["pool"]["state"] == "draining":
                time.sleep(0.2)
                data = {"pool": next(p for p in client.get("/v1/pools")["pools"] if p["name"] == name)}
        if as_json:
            emit_json(data)
        else:
            p = data["pool"]
            click.echo(f"pool {name}: {p['state']} ({p['running']} running, {p['queued']} queued)")

    command.__doc__ = doc
    if action == "drain":
        command = click.option("--wait", is_flag=True, help="Wait until the pool is drained.")(command)
    return pools.command(action)(command)


_pool_action("pause", "Pause a pool: claim nothing new; running jobs continue.")
_pool_action("resume", "Resume a paused, draining, drained or stopped pool.")
_pool_action("drain", "Drain a pool: finish running jobs, take nothing new, then report drained.")


@click.command()
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@client_options
def reload(client: Client, as_json: bool, reason: str) -> None:
    """Re-read the engine's config file (and env): apply what can change live, list the rest.

    Live: engine.grace_period, engine.log_level, scheduler.*, demo.interval, and the concurrency
    and kinds of existing pools. An invalid file changes nothing. SIGHUP does the same.
    """
    data = client.post("/v1/reload", {"reason": reason})
    if as_json:
        emit_json(data)
        return
    click.echo("applied: " + (", ".join(data["applied"]) or "nothing changed"))
    if data["restart_needed"]:
        click.echo(click.style("needs a restart: ", fg="yellow") + ", ".join(data["restart_needed"]))


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--cursor", help="Continue after this cursor (printed at the end of a page).")
@click.option("--action", "actions", multiple=True, metavar="ACTION",
              help="Only these actions (repeat or comma-separate): estop, resume, pause, drain, cancel, retry, "
                   "submit, set-height, config-reload, shutdown …")
@click.option("--actor", help="Only records whose actor contains this.")
@click.option("--operator", is_flag=True, help="Only what operators did (not demo load, recovery or chain scans).")
@client_options
def audit(client: Client, as_json: bool, limit: int, cursor: str | None, actions: tuple[str, ...],
          actor: str | None, operator: bool) -> None:
    """The audit log, newest first: who did what, when and why (filter by action, actor, operator)."""
    data = client.get("/v1/audit", limit=limit, cursor=cursor, action=",".join(actions) or None, actor=actor,
                      operator=1 if operator else None)
    if as_json:
        emit_json(data)
        return
    table(["when", "actor", "action", "target", "reason"],
          [[time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["ts"])), r["actor"], r["action"], r["target"],
            r["reason"]] for r in data["records"]], empty="no audit records yet")
    if data.get("next_cursor"):
        click.echo(f"next page: --cursor {data['next_cursor']}")


@click.group(invoke_without_command=True)
@click.pass_context
def chains(ctx: click.Context) -> None:
    """Chain heads the engine follows; set a height by hand (manual height source). No
    subcommand: list them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(chains_list)


@chains.command("list")
@client_options
def chains_list(client: Client, as_json: bool) -> None:
    """Chains: head, lag, and for EVM chains the signer (balance, nonce: chain vs ledger, txs)."""
    data = client.get("/v1/chains")
    if as_json:
        emit_json(data)
        return
    rows = []
    for c in data["chains"]:
        detail = c.get("detail") or {}
        signer = detail.get("signer") or {}
        note = detail.get("error") or ""
        if signer:
            balance = signer.get("balance_eth")
            txs = ", ".join(f"{n} {state}" for state, n in sorted((signer.get("txs") or {}).items()))
            note = (f"{signer['address']} {'?' if balance is None else f'{balance:.4f}'} ETH"
                    f"{' LOW' if signer.get('low_balance') else ''} · nonce {signer.get('chain_pending_nonce')}"
                    f" (ledger {signer.get('ledger_next_nonce')}) · {txs or 'no txs'}") + (f" · {note}" if note else "")
        reorgs = detail.get("reorgs") or []
        if reorgs:
            note += f" · last reorg depth {reorgs[-1]['depth']} at {reorgs[-1]['fork_block']}"
        lag = "" if c.get("lag_s") is None else f"{c['lag_s']:.1f}s"
        rows.append([c["name"], c["kind"], c["head"], lag or ago(detail.get("updated_at")), note])
    table(["chain", "source", "head", "lag/updated", "signer · notes"], rows, empty="no chains yet")


@chains.command("set-height")
@click.argument("name")
@click.argument("height", type=click.IntRange(0))
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@client_options
def chains_set_height(client: Client, as_json: bool, name: str, height: int, reason: str) -> None:
    """Set chain NAME's height: jobs waiting for it (pow.structs) move on."""
    data = client.post(f"/v1/chains/{name}/height", {"height": height, "reason": reason})
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{name} at height {height:,}; {len(data['queued'])} waiting job(s) queued")


@click.group()
def config() -> None:
    """Check the configuration."""


@config.command("check")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def config_check(config_path: Path | None, as_json: bool) -> None:
    """Validate config.toml and SHIFTBOSS_… overrides; print every bad key with the reason."""
    path = config_path or default_config_path()
    if as_json:
        from engine.jobs import default_registry

        try:
            settings = load_settings(path)
            check_kinds(settings, default_registry().names())
        except ConfigError as exc:
            emit_json({"ok": False, "source": str(path or "defaults"),
                       "problems": [{"key": k, "reason": r} for k, r in exc.problems]})
            raise SystemExit(EXIT_CONFIG) from None
        emit_json({"ok": True, "source": str(path or "defaults"), "data_dir": str(settings.data_dir),
                   "database": str(settings.db_path), "socket": str(settings.socket_path),
                   "settings": settings.model_dump(mode="json")})
        return
    settings = load_or_exit(config_path)
    click.echo(f"configuration OK ({path or 'built-in defaults'})")
    click.echo(f"  data dir  {settings.data_dir}\n  database  {settings.db_path} (synchronous={settings.store.synchronous})")
    click.echo(f"  socket    {settings.socket_path}" + (f"\n  tcp       {settings.api.tcp}" if settings.api.tcp else ""))
    for name, pool in settings.pools.items():
        click.echo(f"  pool      {name}: concurrency {pool.concurrency}, kinds {', '.join(pool.kinds)}")
