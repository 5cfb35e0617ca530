"""``shiftboss bench structs``: Structs proofs from request to included, on the local Structs
chain (started here as its command), beside the seed's shape on the same chain: one proof at a
time, each in a forked process hashing with hashlib in a loop (re-reading the height every
second for the falling difficulty), then signing, broadcasting and waiting for inclusion before
the next (the chain's account sequence only moves at a block, so the next fork could not sign
before).

Both sides get ``--proofs`` build structs whose build started ``--start-age`` blocks before
their proofs are requested (all at once). Latency is from the request to the including block's
time; proofs per minute count the last inclusion. Every struct must be built by exactly one
included transaction (checked in the chain's blocks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx

from engine.lifecycle import EngineProcess
from engine.output import emit_json, fail
from engine.ports import free_port

TARGET = 20.0


@click.command("structs")
@click.option("--proofs", "n", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="Build proofs per side.")
@click.option("--range", "difficulty_range", type=click.IntRange(2), default=700, show_default=True,
              help="The structs' build difficulty range.")
@click.option("--start-age", type=click.IntRange(0), default=10, show_default=True,
              help="Blocks since their build started when the proofs are requested.")
@click.option("--block-seconds", type=click.FloatRange(0.1, 10), default=1.0, show_default=True)
@click.option("--skip-seed", is_flag=True, help="Only the engine's side.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_structs(n: int, difficulty_range: int, start_age: int, block_seconds: float, skip_seed: bool,
                  as_json: bool) -> None:
    """Structs: proofs per minute, request → included, beside the seed's one-at-a-time shape.

    \b
    The chain sets a floor under both sides: a proof needs 64 − ⌊log10(age)/log10(range)·63⌋
    leading zero hex digits, so with range 700 nothing is provable before age ≈ 300 at any
    hash rate; with --start-age 10 both sides mostly wait for that age. A larger --start-age
    measures what the engine itself does (hashing, signing, pipelined submission)."""
    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    from engine.chains.cometbft import tx as codec

    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-structs-") as tmp_name:
        tmp = Path(tmp_name)
        key_file = tmp / "player.key"
        key = codec.create_key(key_file)
        state = tmp / "devnet.json"
        rpc_port, rest_port = free_port(), free_port()
        proc = subprocess.Popen([sys.executable, "-m", "engine", "structs", "devnet", "--rpc-port", str(rpc_port),
                                 "--rest-port", str(rest_port), "--block-seconds", str(block_seconds),
                                 "--initial-height", "1000000", "--player",
                                 str(key_file), "--state", str(state)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            chain = _wait_up(state, proc)
            player = chain["players"][0]["player_id"]
            say(f"local Structs chain {chain['rpc']} (a block every {block_seconds:g} s); the engine: {n} proofs …")
            ours = _engine_side(chain, key_file, player, n, difficulty_range, start_age, tmp)
            seed = None
            if not skip_seed:
                say(f"the seed's shape: {n} proofs, one forked process at a time …")
                seed = _seed_side(chain, key.private_key_bytes.hex(), player, n, difficulty_range, start_age)
        finally:
            proc.terminate()
            proc.wait(10)
    report: dict[str, Any] = {"proofs": n, "difficulty_range": difficulty_range, "start_age": start_age,
                              "block_seconds": block_seconds, "engine": ours, "seed_shape": seed, "target": TARGET}
    if seed is not None:
        report["speedup"] = round(ours["proofs_per_min"] / seed["proofs_per_min"], 1)
    if as_json:
        emit_json(report)
        return
    click.echo(f"\nStructs build proofs on the local chain (range {difficulty_range}, requested at age {start_age}, "
               f"a block every {block_seconds:g} s)")
    for name, side in (("engine", ours), ("seed's shape", seed)):
        if side is not None:
            click.echo(f"  {name:14} {side['proofs_per_min']:8.1f} proofs/min   request → included p50 "
                       f"{side['p50_s']:.1f} s, p99 {side['p99_s']:.1f} s, first at age {side['first_age']}, "
                       f"exactly once: {side['exactly_once']}")
    if seed is not None:
        ok = report["speedup"] >= TARGET and ours["exactly_once"]
        click.echo(f"  speedup {report['speedup']}× (target ≥ {TARGET:g}×, every proof once): {'ok' if ok else 'MISSED'}")


def _wait_up(state: Path, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while not state.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            fail("the Structs devnet did not start")
        time.sleep(0.05)
    time.sleep(0.05)
    answer: dict[str, Any] = json.loads(state.read_text())
    return answer


def _targets(rest: str, owner: str, n: int, difficulty_range: int, age: int) -> list[dict[str, Any]]:
    with httpx.Client(timeout=30) as http:
        return [http.post(f"{rest}/devnet/targets", json={"owner": owner, "action": "build",
                                                          "difficultyRange": difficulty_range, "age": age}).json()
                for _ in range(n)]


def _height(http: httpx.Client, rpc: str) -> int:
    return int(http.get(f"{rpc}/status").json()["result"]["sync_info"]["latest_block_height"])


def _inclusions(rpc: str, ids: set[str], since: int) -> tuple[dict[str, float], bool]:
    """Each struct's including block time, and whether each was built by exactly one included
    transaction (scanning the blocks after ``since``)."""
    from engine.chains.cometbft import tx as codec

    when: dict[str, float] = {}
    counts: dict[str, int] = {}
    with httpx.Client(timeout=30) as http:
        top = _height(http, rpc)
        for height in range(since + 1, top + 1):
            block = http.get(f"{rpc}/block", params={"height": height}).json()["result"]["block"]
            stamp = block["header"]["time"]
            at = time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + float("0." + stamp[20:29])
            for raw in block["data"]["txs"]:
                hash_ = codec.tx_hash(base64.b64decode(raw))
                result = http.get(f"{rpc}/tx", params={"hash": "0x" + hash_}).json()["result"]["tx_result"]
                struct_id = codec.decode(base64.b64decode(raw)).msgs[0]["structId"]
                if result["code"] == 0 and struct_id in ids:
                    counts[struct_id] = counts.get(struct_id, 0) + 1
                    when.setdefault(struct_id, at)
    return when, set(counts) == ids and set(counts.values()) == {1}


def _figures(requested: float, when: dict[str, float], once: bool, first_age: int | None) -> dict[str, Any]:
    latencies = sorted(t - requested for t in when.values())
    span = max(latencies) if latencies else float("nan")
    return {"included": len(latencies), "seconds": round(span, 2), "proofs_per_min": round(len(latencies) / span * 60, 2),
            "p50_s": round(statistics.median(latencies), 2),
            "p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
            "exactly_once": once, "first_age": first_age}


def _engine_side(chain: dict[str, Any], key_file: Path, player: str, n: int, difficulty_range: int, start_age: int,
                 tmp: Path) -> dict[str, Any]:
    config = f"""
[engine]
log_level = "warning"
[pools.pow]
concurrency = {max(16, n)}
kinds = ["pow.kale", "pow.structs", "pow.hashcash"]
[chains.structs]
kind = "cometbft"
rpc = ["{chain['rpc']}"]
rest = ["{chain['rest']}"]
chain_id = "{chain['chain_id']}"
poll_interval = 0.2
tx_timeout = 3600
[chains.structs.keys]
player = "{key_file}"
"""
    with EngineProcess(tmp / "engine", config) as engine, engine.client(timeout=60) as client, \
            httpx.Client(timeout=30) as http:
        targets = _targets(chain["rest"], player, n, difficulty_range, start_age)
        since = _height(http, chain["rpc"])
        requested = time.time()
        jobs = [{"kind": "pow.structs", "payload": {
            "action": "build", "object_id": t["id"], "block_start": int(t["blockStart"]),
            "difficulty_range": difficulty_range, "signer": "player", "player_id": player}} for t in targets]
        ids = [j["id"] for j in client.post("/v1/jobs", {"jobs": jobs})["jobs"]]
        deadline = time.monotonic() + 3600
        while True:
            states = [client.get(f"/v1/jobs/{i}")["job"] for i in ids]
            if all(s["state"] in ("completed", "failed", "dead") for s in states) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        failed = [s for s in states if s["state"] != "completed"]
        if failed:
            fail(f"{len(failed)} proofs did not complete: {failed[0].get('error')}")
        ages = [s["result"]["age"] for s in states]
    when, once = _inclusions(chain["rpc"], {t["id"] for t in targets}, since)
    return _figures(requested, when, once, min(ages))


def _seed_proof(rpc: str, rest: str, key_hex: str, chain_id: str, struct_id: str, block_start: int,
                difficulty_range: int, target_age: int, out: Any) -> None:
    """The seed's worker process: wait for the age, hashlib in a loop (the height re-read every
    second), then account query, simulation, signing and broadcast."""
    from cosmpy.crypto.keypairs import PrivateKey

    from engine.chains.cometbft import tx as codec
    from engine.schema.structs import difficulty

    with httpx.Client(timeout=30) as http:
        height = _height(http, rpc)
        while height - block_start < target_age:
            time.sleep(1.0)
            height = _height(http, rpc)
        prefix = f"{struct_id}BUILD{block_start}NONCE"
        zeros = "0" * difficulty(height - block_start, difficulty_range)
        nonce, check_at = 0, time.monotonic() + 1.0
        while True:
            proof = hashlib.sha256(f"{prefix}{nonce}".encode()).hexdigest()
            if proof.startswith(zeros):
                break
            nonce += 1
            if nonce % 20_000 == 0 and time.monotonic() > check_at:
                height = _height(http, rpc)
                zeros, check_at = "0" * difficulty(height - block_start, difficulty_range), time.monotonic() + 1.0
        key = PrivateKey(bytes.fromhex(key_hex))
        address = codec.address(key.public_key, "structs")
        account = http.get(f"{rest}/cosmos/auth/v1beta1/accounts/{address}").json()["account"]
        msg = codec.completion("build", address, struct_id, proof, str(nonce))
        number, sequence = int(account["account_number"]), int(account["sequence"])
        draft = codec.sign(key, [msg], chain_id=chain_id, account_number=number, sequence=sequence, gas=10_000_000)
        gas = int(http.post(f"{rest}/cosmos/tx/v1beta1/simulate",
                            json={"tx_bytes": base64.b64encode(draft.raw).decode()}).json()["gas_info"]["gas_used"])
        signed = codec.sign(key, [msg], chain_id=chain_id, account_number=number, sequence=sequence,
                            gas=int(gas * 1.5))
        http.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
                             "params": {"tx": base64.b64encode(signed.raw).decode()}})
        out.put((signed.hash, height - block_start))


def _seed_side(chain: dict[str, Any], key_hex: str, player: str, n: int, difficulty_range: int,
               start_age: int) -> dict[str, Any]:
    fork = multiprocessing.get_context("fork")
    targets = _targets(chain["rest"], player, n, difficulty_range, start_age)
    first_age = None
    with httpx.Client(timeout=30) as http:
        since = _height(http, chain["rpc"])
        requested = time.time()
        for target in targets:
            out = fork.Queue()
            worker = fork.Process(target=_seed_proof, args=(
                chain["rpc"], chain["rest"], key_hex, chain["chain_id"], target["id"], int(target["blockStart"]),
                difficulty_range, 10, out))
            worker.start()
            hash_, age = out.get(timeout=3600)
            worker.join()
            first_age = age if first_age is None else first_age
            while "result" not in http.get(f"{chain['rpc']}/tx", params={"hash": "0x" + hash_}).json():
                time.sleep(0.1)  # the next proof's account sequence moves only at a block
    when, once = _inclusions(chain["rpc"], {t["id"] for t in targets}, since)
    return _figures(requested, when, once, first_age)


__all__ = ["bench_structs"]
