"""``shiftboss worker keygen|id|run``: a worker of the trusted pool on this machine."""

from __future__ import annotations

import functools
from pathlib import Path

import click
import trio

from engine.cli._common import EXIT_CONFIG, client_options, serve_until_stopped
from engine.client import Client
from engine.output import ago, emit_json, fail, table


@click.group()
def worker() -> None:
    """A worker of the trusted compute pool: an Ed25519 identity, a signed HTTP API, a sandbox."""


@worker.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the worker id as JSON.")
def keygen(path: Path, as_json: bool) -> None:
    """Write a new Ed25519 key to PATH (mode 0600; never overwrites) and print the worker id
    (base64 public key) to put in the coordinator's allowlist."""
    from engine.remote import generate_key, worker_id

    try:
        key = generate_key(path)
    except FileExistsError:
        fail(f"{path} exists: a key is never overwritten (remove it first if you mean it)", EXIT_CONFIG)
    identity = worker_id(key.verify_key)
    if as_json:
        emit_json({"path": str(path), "worker_id": identity})
    else:
        click.echo(f"saved worker key to {path}\nworker id: {identity}")


@worker.command("id")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def show_id(path: Path) -> None:
    """Print the worker id of the key at PATH."""
    from engine.remote import ProtocolError, load_key, worker_id

    try:
        click.echo(worker_id(load_key(path).verify_key))
    except ProtocolError as exc:
        fail(str(exc), EXIT_CONFIG)


@worker.command("run")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="This worker's key (from `shiftboss worker keygen`).")
@click.option("--coordinator", required=True, metavar="ID",
              help="The coordinator's id (base64 Ed25519 public key): only requests it signs are served.")
@click.option("--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT", help="Where to serve.")
@click.option("--slots", type=click.IntRange(1, 256), default=4, show_default=True, help="Jobs run at once.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("/tmp/shiftboss-worker"),
              show_default=True, help="Where jobs are unpacked and run (each in its own directory, removed after).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), help="Serve HTTPS with this certificate …")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="… and this key.")
@click.option("--cpu-seconds", type=click.IntRange(1), default=60, show_default=True, help="CPU limit per job.")
@click.option("--memory-mb", type=click.IntRange(16), default=1024, show_default=True,
              help="Memory per job, all its processes together.")
@click.option("--processes", type=click.IntRange(4, 4096), default=64, show_default=True,
              help="Processes (and threads) per job, together.")
@click.option("--disk-mb", type=click.IntRange(1), default=512, show_default=True,
              help="Writable space per job: its folder and /tmp are tmpfs this big each (counted as memory where "
                   "control groups are used).")
@click.option("--timeout", type=click.FloatRange(1), default=120.0, show_default=True,
              help="Wall-clock limit per job (a manifest may ask for less).")
@click.option("--max-files-mb", type=click.IntRange(1), default=100, show_default=True,
              help="Largest job archive, unpacked.")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["bwrap", "none"]), default="bwrap", show_default=True,
              help="bwrap: every job in its own namespaces and uid (needs bubblewrap; refused to start without it). "
                   "none: jobs run UNISOLATED as this worker's user — only for code you trust.")
@click.option("--uids", "uid_range", default="2000000000-2000065535", show_default=True, metavar="FIRST-LAST",
              help="Each run's uid comes from this range (real uids when the worker is root; shared safely by "
                   "workers and engines on one host).")
@click.option("--environment", "environments", multiple=True, metavar="NAME=DIR",
              help="Offer a named environment (a prefix or venv, shown read-only; DIR/bin on PATH) for "
                   "manifests' `environment` field. Repeatable.")
def run(key_path: Path, coordinator: str, listen: str, slots: int, work_dir: Path, tls_cert: str | None,
        tls_key: str | None, cpu_seconds: int, memory_mb: int, processes: int, disk_mb: int, timeout: float,
        max_files_mb: int, sandbox_mode: str, uid_range: str, environments: tuple[str, ...]) -> None:
    """Serve jobs and PoW ranges for one coordinator until SIGTERM or Ctrl-C.

    Each job runs in its own sandbox (bubblewrap): new PID, mount, IPC, UTS and network
    namespaces (no network), its own uid, a read-only view of the system with its secrets masked,
    a tmpfs job folder and /tmp with a size limit, whole-job memory and process limits (control
    groups where the host lets the worker make them), CPU seconds and a wall clock; every process
    of a job is killed when it ends or when the worker dies. `/health` says what it got."""
    from engine.heap import settle_heap
    from engine.remote import ProtocolError, load_key
    from engine.remote._agent import Agent
    from engine.remote._protocol import verify_key
    from engine.sandbox import Limits, Sandbox, Unavailable, parse_range

    if bool(tls_cert) != bool(tls_key):
        fail("--tls-cert and --tls-key go together", EXIT_CONFIG)
    try:
        key = load_key(key_path)
        verify_key(coordinator)
    except ProtocolError as exc:
        fail(str(exc), EXIT_CONFIG)
    limits = Limits(cpu_seconds=cpu_seconds, memory_bytes=memory_mb * 2**20, wall_seconds=timeout,
                    processes=processes, disk_bytes=max(disk_mb, max_files_mb) * 2**20,
                    archive_bytes=max_files_mb * 2**20)
    try:
        uids = parse_range(uid_range)
        offered = dict(_environment(e) for e in environments)
        sandbox = Sandbox.probe(work_dir / "runs", mode=sandbox_mode, uid_range=uids, environments=offered,
                                hide=(key_path, work_dir, *((Path(tls_key),) if tls_key else ())))
        agent = Agent(key, coordinator, slots=slots, work_dir=work_dir, limits=limits, sandbox=sandbox)
    except (ValueError, Unavailable, OSError) as exc:
        fail(str(exc), EXIT_CONFIG)

    async def start(nursery: trio.Nursery) -> None:
        binds = await nursery.start(functools.partial(agent.serve, listen, certfile=tls_cert, keyfile=tls_key))
        settle_heap()
        click.echo(f"worker {agent.id} serving {', '.join(binds)} for coordinator {coordinator[:12]}…; "
                   f"{slots} slots; isolation: {', '.join(sandbox.names)}", err=True)

    serve_until_stopped("worker", listen, start)


def _environment(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise ValueError(f"--environment {text!r}: NAME=DIR, e.g. ml-basic=/opt/envs/ml-basic")
    return name, Path(folder)


@click.group("workers", invoke_without_command=True)
@click.pass_context
def workers(ctx: click.Context) -> None:
    """The engine's workers: pool dispatchers, PoW threads and remote workers; alone, lists them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(workers_list)


@workers.command("list")
@client_options
def workers_list(client: Client, as_json: bool) -> None:
    """Every worker with its health, load and last check (remote workers: endpoint, slots, isolation)."""
    data = client.get("/v1/workers")
    if as_json:
        emit_json(data)
        return
    rows = []
    for w in data["workers"]:
        d = w.get("detail") or {}
        if d.get("remote"):
            note = f"{d['endpoint']} · {w['running']}/{d['max_concurrent_jobs']} slots · {', '.join(d.get('isolation') or [])}"
        elif "hashrate" in d:
            note = f"{(d['hashrate'] or {}).get('10s', 0):,.0f} H/s"
        else:
            note = f"{w['running']} running"
        rows.append([w["id"], w["pool"], w["state"], w["health"] + (f": {w['reason']}" if w.get("reason") else ""),
                     ago(w.get("heartbeat_at")), note])
    table(["worker", "pool", "state", "health", "checked", "notes"], rows, empty="no workers")


@workers.command("drain")
@click.argument("worker_id")
@click.option("--reason", default="", help="Why, for the audit log.")
@client_options
def workers_drain(client: Client, as_json: bool, worker_id: str, reason: str) -> None:
    """Send no new jobs to the remote worker WORKER_ID (its id, or the start of it)."""
    _worker_action(client, as_json, worker_id, "drain", reason)


@workers.command("undrain")
@click.argument("worker_id")
@click.option("--reason", default="", help="Why, for the audit log.")
@client_options
def workers_undrain(client: Client, as_json: bool, worker_id: str, reason: str) -> None:
    """Send jobs to the remote worker WORKER_ID again."""
    _worker_action(client, as_json, worker_id, "undrain", reason)


def _worker_action(client: Client, as_json: bool, ident: str, action: str, reason: str) -> None:
    data = client.post(f"/v1/workers/{action}", {"worker_id": ident, "reason": reason})
    if as_json:
        emit_json(data)
    else:
        click.echo(f"{data['worker_id']}: {'drained' if data['drained'] else 'taking jobs'} "
                   f"({data['active_jobs']} running)")
