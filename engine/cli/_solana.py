"""``shiftboss solana …`` and ``shiftboss cloudmesh …``: the local Solana node, keys, balances,
airdrops, and CloudMesh jobs on a cluster (listed from the program's accounts, or created)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import trio

from engine.cli._common import EXIT_CONFIG, EXIT_ERROR, serve_until_stopped
from engine.output import emit_json, fail, table

T = TypeVar("T")
LAMPORTS = 10**9
DEFAULT_RPC = "http://127.0.0.1:8899"
rpc_option = click.option("--rpc", default=DEFAULT_RPC, show_default=True, envvar="SHIFTBOSS_SOLANA_RPC",
                          help="Solana JSON-RPC endpoint.")
keypair_option = click.option("--keypair", type=click.Path(dir_okay=False, path_type=Path),
                              default=Path(".demo/cloudmesh-worker.json"), show_default=True,
                              help="A keypair file (solana-keygen's JSON array); made (0600) if missing.")


def _with_rpc(url: str, call: Callable[[Any], Awaitable[T]]) -> T:
    from engine.chains.solana import PreflightFailed, SolanaRpc
    from engine.chains.solana import cloudmesh as cm
    from engine.errors import ChainError

    async def main() -> T:
        async with SolanaRpc([url], retries=1, backoff=0.2) as rpc:
            return await call(rpc)

    try:
        return trio.run(main)
    except PreflightFailed as exc:
        why = f"{cm.error_name(exc.custom)} ({exc.custom})" if exc.custom is not None else exc.kind or str(exc)
        fail(f"the transaction was refused: {why}", EXIT_ERROR)
    except ChainError as exc:
        fail(f"{url}: {exc}", EXIT_ERROR)
    raise AssertionError("unreachable")


def _key(path: Path) -> Any:
    from engine.errors import PermanentFailure
    from engine.jobs.cloudmesh import load_or_create_key

    try:
        key, made = load_or_create_key(path)
    except (PermanentFailure, OSError) as exc:
        fail(f"--keypair {path}: {exc}", EXIT_CONFIG)
    if made:
        click.echo(f"made {path} (0600): fund {key.pubkey()} before it sends (`shiftboss solana airdrop`)", err=True)
    return key


@click.group()
def solana() -> None:
    """Solana: the local node (LiteSVM running the CloudMesh program), keys, balances, airdrops."""


@solana.command("devnet")
@click.option("--port", type=click.IntRange(0, 65535), default=8899, show_default=True,
              help="The JSON-RPC port on 127.0.0.1.")
@click.option("--slot-seconds", type=click.FloatRange(0.01, 10), default=0.4, show_default=True,
              help="Seconds per slot (Solana: ~0.4).")
def devnet(port: int, slot_seconds: float) -> None:
    """Serve a local Solana node: Solana's JSON-RPC (getSlot, getLatestBlockhash,
    getProgramAccounts, sendTransaction, getSignatureStatuses, requestAirdrop, …) over LiteSVM,
    which executes real transactions against the CloudMesh program built from programs/cloudmesh
    (`make programs`). It is not a validator: one process, state in memory, gone when it stops.

    \b
    Rules it applies as Solana does: signatures, fees and rent checked by LiteSVM; a sent
    transaction lands in the next slot; a blockhash is valid for 150 slots; one signature
    lands once; preflight simulation unless skipPreflight (errors as -32002 with err and
    logs); statuses processed → confirmed (1 slot) → finalized (32 slots).
    Ctrl-C or SIGTERM stops it."""
    from engine.chains.solana import cloudmesh as cm
    from engine.devnets.solana import PROGRAMS, SolanaDevnet

    program = PROGRAMS / "cloudmesh.so"
    if not program.is_file():
        fail(f"{program} is not built: run `make programs` (needs clang-14)", EXIT_CONFIG)
    node = SolanaDevnet({cm.PROGRAM_ID: program}, slot_seconds=slot_seconds)

    async def start(nursery: trio.Nursery) -> None:
        url = await nursery.start(node.run, "127.0.0.1", port)
        click.echo(f"Solana devnet (LiteSVM, not a validator) at {url}\nCloudMesh program {cm.PROGRAM_ID}, "
                   f"a slot every {slot_seconds:g} s; Ctrl-C stops it")

    serve_until_stopped("Solana devnet", f"127.0.0.1:{port}", start)


@solana.command("keys")
@keypair_option
def keys(keypair: Path) -> None:
    """Print the keypair's address (made if missing; the secret is never printed)."""
    click.echo(str(_key(keypair).pubkey()))


@solana.command("balance")
@click.argument("account", required=False)
@keypair_option
@rpc_option
@click.option("--json", "as_json", is_flag=True)
def balance(account: str | None, keypair: Path, rpc: str, as_json: bool) -> None:
    """ACCOUNT's balance (default: the keypair's)."""
    from solders.pubkey import Pubkey

    key = Pubkey.from_string(account) if account else _key(keypair).pubkey()
    lamports = _with_rpc(rpc, lambda r: r.balance(key))
    if as_json:
        emit_json({"account": str(key), "lamports": lamports})
    else:
        click.echo(f"{key}: {lamports / LAMPORTS:,.9f} SOL ({lamports:,} lamports)")


@solana.command("airdrop")
@click.argument("account", required=False)
@click.option("--sol", type=click.FloatRange(0.000000001, 1000), default=10.0, show_default=True)
@keypair_option
@rpc_option
def airdrop(account: str | None, sol: float, keypair: Path, rpc: str) -> None:
    """Ask the cluster (a devnet or test validator) for SOL for ACCOUNT (default: the keypair's)."""
    from solders.pubkey import Pubkey

    key = Pubkey.from_string(account) if account else _key(keypair).pubkey()
    signature = _with_rpc(rpc, lambda r: r.airdrop(key, int(sol * LAMPORTS)))
    click.echo(f"airdrop of {sol:g} SOL to {key}: {signature}")


@click.group()
def cloudmesh() -> None:
    """CloudMesh jobs on a Solana cluster: list them from the program's accounts, or create one."""


@cloudmesh.command("jobs")
@rpc_option
@click.option("--program", default=None, help="The CloudMesh program id (default: the original's).")
@click.option("--json", "as_json", is_flag=True)
def jobs(rpc: str, program: str | None, as_json: bool) -> None:
    """Every Job account: address, owner, title, code CID, state, result CID and cost."""
    from solders.pubkey import Pubkey

    from engine.chains.solana import cloudmesh as cm

    program_id = Pubkey.from_string(program) if program else cm.PROGRAM_ID
    found, broken = _with_rpc(rpc, lambda r: cm.read_jobs(r, program_id))
    rows: list[dict[str, Any]] = [{"account": address, "error": why} for address, why in broken.items()]
    for address, job in found:
        rows.append({"account": address, "owner": str(job.owner), "title": job.title, "code_cid": job.code_cid,
                     "state": job.status.name.lower(), "result_cid": job.result_cid or None, "cost": job.cost,
                     "paid": job.cost_paid, "authority": None if job.authority is None else str(job.authority)})
    if as_json:
        emit_json({"jobs": rows})
        return
    table(["account", "title", "state", "code cid", "result cid", "cost"],
          [[r["account"][:12] + "…", r.get("title", r.get("error", "")), r.get("state", "not a job"),
            r.get("code_cid") or "", r.get("result_cid") or "", f"{r.get('cost', 0):,}"] for r in rows],
          empty="(no CloudMesh jobs)")


@cloudmesh.command("submit")
@click.argument("code", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--title", required=True, help="The job's title (its account's seed: at most 32 bytes).")
@click.option("--ipfs", "ipfs_api", default="http://127.0.0.1:5001", show_default=True,
              help="A Kubo RPC API to add the code to.")
@click.option("--authority", default=None, help="Only this worker key may complete the job.")
@keypair_option
@rpc_option
@click.option("--json", "as_json", is_flag=True)
def submit(code: Path, title: str, ipfs_api: str, authority: str | None, keypair: Path, rpc: str,
           as_json: bool) -> None:
    """Create a CloudMesh job: add CODE (a Python file) to IPFS, then initialize_job with its CID
    (the keypair owns the job and pays)."""
    from solders.pubkey import Pubkey

    from engine.chains.solana import cloudmesh as cm
    from engine.chains.solana._txs import sign
    from engine.ipfs import IpfsClient, IpfsError

    if len(title.encode()) > cm.MAX_TITLE or not title:
        fail(f"--title: 1 to {cm.MAX_TITLE} bytes", EXIT_CONFIG)
    owner = _key(keypair)
    data = code.read_bytes()

    async def main(r: Any) -> dict[str, Any]:
        async with IpfsClient(api=ipfs_api) as ipfs:
            try:
                cid = await ipfs.add(data, code.name)
            except IpfsError as exc:
                fail(f"--ipfs {ipfs_api}: {exc}", EXIT_ERROR)
        ix = cm.initialize_job(owner.pubkey(), title, cid, authority=Pubkey.from_string(authority) if authority else None)
        blockhash, _ = await r.latest_blockhash()
        raw, _signature = sign(owner, [ix], blockhash)
        signature = await r.send(base64.b64decode(raw))
        return {"account": str(cm.job_address(owner.pubkey(), title)), "code_cid": cid, "signature": signature}

    created = _with_rpc(rpc, main)
    if as_json:
        emit_json(created)
    else:
        click.echo(f"job {created['account']} ({title}): code {created['code_cid']}, tx {created['signature']}")


DEMO_CODE = [
    'print("hello from CloudMesh")\n',
    'import math\nprint("pi to 12 places:", round(math.pi, 12))\n',
    'print("primes:", [n for n in range(2, 60) if all(n % d for d in range(2, n))])\n',
    'import json, sys\njson.dump({"python": sys.version.split()[0]}, sys.stdout)\n',
    'import time\ntime.sleep(1.5)\nprint("slept 1.5 s")\n',
]


@cloudmesh.command("devnet")
@click.option("--rpc-port", type=click.IntRange(0, 65535), default=8899, show_default=True,
              help="The Solana JSON-RPC port on 127.0.0.1 (0: any free one; the state file says which).")
@click.option("--ipfs-port", type=click.IntRange(0, 65535), default=5001, show_default=True,
              help="The IPFS port on 127.0.0.1 (Kubo RPC, gateway and Pinata's API).")
@click.option("--slot-seconds", type=click.FloatRange(0.01, 10), default=0.4, show_default=True)
@click.option("--demo-jobs", type=click.FloatRange(0, 3600), default=0, show_default=True,
              help="Seconds between demo jobs created by a demo owner (0: none).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".demo/cloudmesh-devnet.json"), show_default=True,
              help="Where to write the RPC and IPFS URLs (`shiftboss run --cloudmesh-devnet` reads it).")
@click.option("--detach", is_flag=True, help="Run in the background (log beside the state file); return once it serves.")
def cloudmesh_devnet(rpc_port: int, ipfs_port: int, slot_seconds: float, demo_jobs: float, state_path: Path,
                     detach: bool) -> None:
    """Serve the local Solana node and the local IPFS endpoint in one process, for the demo: the
    CloudMesh program on LiteSVM (see `shiftboss solana devnet`) and Kubo RPC + gateway + Pinata
    (see `shiftboss ipfs devnet`). With --demo-jobs, a demo owner creates a job every so often.
    Devnets, not a validator or an IPFS node: state in memory. Ctrl-C or SIGTERM stops it."""
    from engine.cli._common import detach_devnet

    if detach:
        state = detach_devnet("CloudMesh devnet", ["cloudmesh", "devnet", "--rpc-port", str(rpc_port), "--ipfs-port",
                                                   str(ipfs_port), "--slot-seconds", str(slot_seconds),
                                                   "--demo-jobs", str(demo_jobs)], state_path)
        click.echo(f"CloudMesh devnet (LiteSVM + a local IPFS endpoint) at {state['rpc']} and {state['ipfs']}, "
                   f"pid {state['pid']}; state {state_path}, log {state['log']}")
        return
    import secrets

    from solders.keypair import Keypair
    from solders.message import Message
    from solders.transaction import Transaction

    from engine.chains.solana import cloudmesh as cm
    from engine.devnets.ipfs import IpfsDevnet
    from engine.devnets.solana import PROGRAMS, SolanaDevnet

    program = PROGRAMS / "cloudmesh.so"
    if not program.is_file():
        fail(f"{program} is not built: run `make programs` (needs clang-14)", EXIT_CONFIG)
    node = SolanaDevnet({cm.PROGRAM_ID: program}, slot_seconds=slot_seconds)
    ipfs = IpfsDevnet()
    owner = Keypair()
    node.svm.airdrop(owner.pubkey(), 1_000 * LAMPORTS)

    def create_demo_job(n: int) -> None:
        cid = ipfs.store(DEMO_CODE[n % len(DEMO_CODE)].encode())
        blockhash = node.svm.latest_blockhash()
        ix = cm.initialize_job(owner.pubkey(), f"demo-{n}-{secrets.token_hex(3)}", cid)
        node.svm.send_transaction(Transaction([owner], Message.new_with_blockhash([ix], owner.pubkey(), blockhash),
                                              blockhash))

    async def demo_owner() -> None:
        n = 0
        while True:
            create_demo_job(n)
            n += 1
            await trio.sleep(demo_jobs)

    async def start(nursery: trio.Nursery) -> dict[str, Any]:
        rpc = await nursery.start(node.run, "127.0.0.1", rpc_port)
        ipfs_url = await nursery.start(ipfs.run, "127.0.0.1", ipfs_port)
        if demo_jobs:
            nursery.start_soon(demo_owner)
        click.echo(f"CloudMesh devnet (LiteSVM + a local IPFS endpoint): Solana RPC {rpc}, IPFS {ipfs_url}; "
                   f"state {state_path}; Ctrl-C stops it")
        return {"rpc": rpc, "ipfs": ipfs_url, "program": str(cm.PROGRAM_ID)}

    serve_until_stopped("CloudMesh devnet", f"127.0.0.1:{rpc_port}", start, state_path=state_path)
