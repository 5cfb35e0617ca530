"""``shiftboss bench cloudmesh``: CloudMesh jobs completed per second end to end (scan → fetch and
verify the code → run it sandboxed → store the result → ``complete_job`` confirmed), on the local
Solana node and IPFS endpoint (both started here as their commands), beside the seed's worker
shape on the same node: one job at a time, a scan every 10 s, 2 s of sleep after each job, code
from a gateway, run with a 60 s timeout, the result pinned with Pinata.

The seed's shape spends at least 2 s per job, so it runs on ``--seed-jobs`` jobs (its rate does
not depend on how many); the engine runs on ``--jobs``. Every job must end completed exactly
once: checked on the program's accounts and in the engine's transaction ledger.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx
import trio

from engine.lifecycle import EngineProcess
from engine.output import emit_json, fail
from engine.ports import free_port

TARGET = 10.0
SEED_POLL_S, SEED_SLEEP_S = 10.0, 2.0
CODE = 'import sys\nn = {n}\nprint("job", n, "squares", [i * i for i in range(n % 7)])\n'


@click.command("cloudmesh")
@click.option("--jobs", "n", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Pending jobs the engine completes.")
@click.option("--seed-jobs", type=click.IntRange(1, 200), default=8, show_default=True,
              help="Jobs the seed's shape completes (its rate is fixed by its sleeps).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_cloudmesh(n: int, seed_jobs: int, as_json: bool) -> None:
    """CloudMesh: jobs/s end to end beside the seed worker's shape on the same local node."""
    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    from engine.devnets.solana import PROGRAMS

    if not (PROGRAMS / "cloudmesh.so").is_file():
        fail("the CloudMesh program is not built: run `make programs`")
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-cloudmesh-") as tmp_name:
        tmp = Path(tmp_name)
        rpc_port, ipfs_port = free_port(), free_port()
        jwt = tmp / "pinata.jwt"
        procs = [subprocess.Popen([sys.executable, "-m", "engine", "solana", "devnet", "--port", str(rpc_port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                 subprocess.Popen([sys.executable, "-m", "engine", "ipfs", "devnet", "--port", str(ipfs_port),
                                   "--jwt-file", str(jwt)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        rpc, ipfs = f"http://127.0.0.1:{rpc_port}", f"http://127.0.0.1:{ipfs_port}"
        try:
            _wait_up(rpc, ipfs, procs)
            say(f"local Solana node {rpc}, IPFS {ipfs}; the seed's shape: {seed_jobs} jobs …")
            seed = trio.run(_seed_side, rpc, ipfs, jwt.read_text().strip(), seed_jobs, tmp)
            say(f"the engine: {n} jobs …")
            ours = _engine_side(rpc, ipfs, jwt, n, tmp)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    report = {"jobs": n, "engine": ours, "seed_shape": seed,
              "speedup": round(ours["jobs_per_s"] / seed["jobs_per_s"], 1), "target": TARGET}
    if as_json:
        emit_json(report)
        return
    click.echo("\nCloudMesh on the local Solana node (LiteSVM, a slot every 0.4 s) and IPFS endpoint")
    click.echo(f"  engine             {ours['jobs_per_s']:8.2f} jobs/s   {n} jobs in {ours['seconds']} s, "
               f"each completed once: {ours['exactly_once']}")
    click.echo(f"  seed's worker      {seed['jobs_per_s']:8.2f} jobs/s   {seed_jobs} jobs in {seed['seconds']} s")
    ok = report["speedup"] >= TARGET and ours["exactly_once"]
    click.echo(f"  speedup {report['speedup']}× (target ≥ {TARGET:g}×, every job once): {'ok' if ok else 'MISSED'}")


def _wait_up(rpc: str, ipfs: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 30
    for probe in (lambda: httpx.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}),
                  lambda: httpx.get(ipfs + "/ipfs/x")):
        while True:
            try:
                probe()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    fail("a devnet did not start")
                time.sleep(0.1)


async def _create_jobs(rpc_url: str, ipfs_url: str, count: int, prefix: str) -> list[str]:
    """``count`` pending jobs with distinct code, created by one funded owner."""
    from solders.keypair import Keypair

    from engine.chains.solana import SolanaRpc
    from engine.chains.solana import cloudmesh as cm
    from engine.chains.solana._txs import sign
    from engine.ipfs import IpfsClient

    owner = Keypair()
    async with SolanaRpc([rpc_url]) as rpc, IpfsClient(api=ipfs_url) as ipfs:
        await rpc.airdrop(owner.pubkey(), 100 * 10**9)
        accounts = []
        blockhash, _ = await rpc.latest_blockhash()
        for i in range(count):
            cid = await ipfs.add(CODE.format(n=i).encode(), f"{prefix}{i}.py")
            raw, _sig = sign(owner, [cm.initialize_job(owner.pubkey(), f"{prefix}{i}", cid)], blockhash)
            await rpc.send(base64.b64decode(raw), skip_preflight=True)
            accounts.append(str(cm.job_address(owner.pubkey(), f"{prefix}{i}")))
        await _until_all(rpc, accounts, "pending", 30)
    return accounts


async def _states(rpc: Any, accounts: list[str]) -> dict[str, str]:
    from engine.chains.solana import cloudmesh as cm

    found = {k.pubkey: k for k in await rpc.program_accounts(cm.PROGRAM_ID, [])}
    return {a: cm.JobAccount.decode(found[a].account.bytes()).status.name.lower() if a in found else "missing"
            for a in accounts}


async def _until_all(rpc: Any, accounts: list[str], state: str, within: float) -> None:
    deadline = time.monotonic() + within
    while set((await _states(rpc, accounts)).values()) != {state}:
        if time.monotonic() > deadline:
            fail(f"not every job became {state} within {within:g} s")
        await trio.sleep(0.2)


async def _seed_side(rpc_url: str, ipfs_url: str, jwt: str, count: int, tmp: Path) -> dict[str, Any]:
    """The seed's worker: unfiltered getProgramAccounts every 10 s, then each pending job in turn —
    code from the gateway, a python3 subprocess (60 s timeout), the result pinned with Pinata,
    complete_job, then 2 s of sleep and a status check."""
    from solders.keypair import Keypair
    from solders.pubkey import Pubkey

    from engine.chains.solana import SolanaRpc
    from engine.chains.solana import cloudmesh as cm
    from engine.chains.solana._txs import sign

    accounts = await _create_jobs(rpc_url, ipfs_url, count, "seed")
    worker = Keypair()
    async with SolanaRpc([rpc_url]) as rpc, httpx.AsyncClient(timeout=30) as http:
        await rpc.airdrop(worker.pubkey(), 10 * 10**9)
        began = time.monotonic()
        done: set[str] = set()
        while len(done) < count:
            for keyed in await rpc.program_accounts(cm.PROGRAM_ID, []):
                job = cm.JobAccount.decode(keyed.account.bytes())
                if job.status != cm.JobStatus.PENDING or keyed.pubkey not in accounts:
                    continue
                code = (await http.get(f"{ipfs_url}/ipfs/{job.code_cid}")).content
                path = tmp / "seed_job.py"
                path.write_bytes(code)
                out = await trio.run_process([sys.executable, str(path)], capture_stdout=True, capture_stderr=True,
                                             check=False)
                result = {"stdout": out.stdout.decode(), "stderr": out.stderr.decode(), "returncode": out.returncode,
                          "executed_at": time.time()}
                pinned = await http.post(f"{ipfs_url}/pinning/pinJSONToIPFS", json={"pinataContent": result},
                                         headers={"authorization": f"Bearer {jwt}"})
                blockhash, _ = await rpc.latest_blockhash()
                raw, signature = sign(worker, [cm.complete_job(Pubkey.from_string(keyed.pubkey), worker.pubkey(),
                                                               pinned.json()["IpfsHash"], 1_000_000)], blockhash)
                await rpc.send(base64.b64decode(raw))
                await trio.sleep(SEED_SLEEP_S)
                await rpc.statuses([signature])
                done.add(keyed.pubkey)
            if len(done) < count:
                await trio.sleep(SEED_POLL_S)
        seconds = time.monotonic() - began
        await _until_all(rpc, accounts, "completed", 30)
    return {"seconds": round(seconds, 2), "jobs_per_s": round(count / seconds, 3)}


def _engine_side(rpc_url: str, ipfs_url: str, jwt: Path, count: int, tmp: Path) -> dict[str, Any]:
    from engine.jobs.cloudmesh import load_or_create_key

    key_path = tmp / "worker.json"
    worker, _ = load_or_create_key(key_path)

    async def fund_and_create() -> list[str]:
        from engine.chains.solana import SolanaRpc

        async with SolanaRpc([rpc_url]) as rpc:
            await rpc.airdrop(worker.pubkey(), 100 * 10**9)
        return await _create_jobs(rpc_url, ipfs_url, count, "bench")

    accounts = trio.run(fund_and_create)
    config = f"""
[engine]
log_level = "warning"
[pools.default]
concurrency = 16
[chains.sol]
kind = "solana"
rpc = ["{rpc_url}"]
poll_interval = 0.2
[cloudmesh]
chain = "sol"
keypair = "{key_path}"
poll_interval = 1
ipfs_api = "{ipfs_url}"
"""
    with EngineProcess(tmp / "engine", config) as engine, engine.client(timeout=60) as client:
        began = time.monotonic()

        async def wait_completed() -> None:
            from engine.chains.solana import SolanaRpc

            async with SolanaRpc([rpc_url]) as rpc:
                await _until_all(rpc, accounts, "completed", 600)

        trio.run(wait_completed)
        seconds = time.monotonic() - began
        deadline = time.monotonic() + 30  # the ledger follows each transaction to "confirmed"
        while True:
            chains = {c["name"]: c for c in client.get("/v1/chains")["chains"]}
            txs = chains["sol"]["detail"]["transactions"]
            if not (txs.get("sent") or txs.get("signed")) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    once = txs.get("success") == count and not txs.get("failed")
    return {"seconds": round(seconds, 2), "jobs_per_s": round(count / seconds, 2), "exactly_once": once,
            "transactions": txs}


__all__ = ["bench_cloudmesh"]
