"""``shiftboss bench kale``: a KALE farm of N farmers on the local KALE chain with fast blocks —
the engine (every farmer's work hashed on all cores from the block's open, submitted at
``work_delay``) beside the seed's shape in the same run, on the same chain and block length
(the Pooler waits ``work_delay``, then runs a freshly spawned miner per farmer, one after
another, each with an equal share of what is left of the block: the scalar C reference miner
that ``bench pow`` measures, given each farmer's real job, its work then sent at once).

Figures per side: the fraction of planted farmers whose work is on chain before the block's
end, hashes and zeros per farmer (median), the time from the block's open to the last
farmer's first work submission, the engine's resubmissions with more zeros, and what the
operator is paid for: each side's share of one block's reward had both farmed the same block,
recomputed with the contract's formula (``harvest``: each pail's normalized gap + stake + zeros
over the block's total) from the pails on chain. ``--load`` runs a CPU hog on every core
beside both sides (a busy machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import trio
from stellar_sdk import Account, Keypair, TransactionBuilder, scval
from stellar_sdk import xdr as sx
from stellar_sdk.base_soroban_server import _assemble_transaction
from stellar_sdk.soroban_rpc import SimulateTransactionResponse

from engine.chains.soroban import SorobanRpc
from engine.chains.soroban._kale import KaleReader
from engine.devnets.kale.contract import Block, block_reward, normalizations
from engine.lifecycle import EngineProcess
from engine.output import emit_json, fail
from engine.pow._codegen import generate_c
from engine.pow._kale_ref import kale_hash, strkey_payload
from engine.pow.kale import parse_farmer

TARGET_RATIO = 10.0
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@click.command("kale")
@click.option("--farmers", "sizes", default="50,200", show_default=True, help="Farmers per block, comma-separated.")
@click.option("--block-seconds", type=click.IntRange(20, 600), default=60, show_default=True,
              help="The local chain's block interval (the real one is 300).")
@click.option("--work-delay", type=click.FloatRange(1, 590), default=45, show_default=True,
              help="Seconds after the open when work goes out (both sides).")
@click.option("--margin", type=click.FloatRange(1, 60), default=5, show_default=True,
              help="No work later than this before the block's end (both sides).")
@click.option("--ledger-seconds", type=click.FloatRange(0.5, 10), default=5.0, show_default=True,
              help="Seconds between ledgers on the local chain (Stellar: ~5).")
@click.option("--load", is_flag=True, help="Run a CPU hog on every core beside both sides (a busy machine).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
def bench_kale(sizes: str, block_seconds: int, work_delay: float, margin: float, ledger_seconds: float,
               load: bool, as_json: bool) -> None:
    """KALE farming: farmers worked per block and hashes per farmer, beside the seed's shape."""
    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    try:
        ns = [int(n) for n in sizes.split(",") if n.strip()]
    except ValueError:
        fail(f"--farmers: expected numbers like 50,200, got {sizes!r}")
    if not ns or any(n < 1 or n > 1000 for n in ns):
        fail("--farmers: each size must be between 1 and 1000")
    if work_delay + margin >= block_seconds:
        fail("--work-delay + --margin must be below --block-seconds")
    shape = {"block_seconds": block_seconds, "work_delay": work_delay, "margin": margin, "ledger_seconds": ledger_seconds,
             "load": load}
    results = []
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-kale-") as tmp_name:
        tmp = Path(tmp_name)
        miner = _build_miner(tmp)
        rate = _miner_rate(miner)
        say(f"scalar C miner: {rate / 1e6:.2f} MH/s on one thread")
        for n in ns:
            with _Chain(tmp / f"chain-{n}", block_seconds, ledger_seconds) as chain, _hogs(load):
                say(f"N={n}: engine farming one block …")
                ours = _engine_side(chain, tmp / f"engine-{n}", n, shape, say)
                say(f"N={n}: the seed's shape on the next block …")
                seed = _seed_side(chain, n, shape, miner, rate, say)
            share = _shared_block(ours.pop("pails"), seed.pop("pails"), ours["block"])
            results.append({"farmers": n, "engine": ours, "seed_shape": seed, "shared_block": share,
                            "hashes_ratio": round(ours["hashes_median"] / max(seed["hashes_median"], 1), 1)})
    report = {**shape, "sizes": results, "target": {"worked": 1.0, "hashes_ratio": TARGET_RATIO},
              "miner_hashes_per_s": round(rate)}
    if as_json:
        emit_json(report)
        return
    click.echo(f"\nKALE on the local chain: {block_seconds} s blocks, work at +{work_delay:g} s, "
               f"nothing after end − {margin:g} s, a ledger every {ledger_seconds:g} s"
               + (f", a CPU hog on each of {os.cpu_count()} cores" if load else ""))
    for r in results:
        o, s = r["engine"], r["seed_shape"]
        click.echo(f"  N={r['farmers']}")
        click.echo(f"    engine       worked {o['worked']}/{o['planted']}  hashes/farmer {o['hashes_median']:>13,}"
                   f"  zeros {o['zeros_median']}  open → last work {o['last_work_s']} s")
        click.echo(f"    seed shape   worked {s['worked']}/{s['planted']}  hashes/farmer {s['hashes_median']:>13,}"
                   f"  zeros {s['zeros_median']}  open → last work {s['last_work_s']} s")
        b = r["shared_block"]
        click.echo(f"    resubmissions with more zeros: {o['resubmissions']} (by {o['resubmitted_farmers']} farmers)")
        click.echo(f"    one block's reward ({b['block_reward'] / 1e7:,.2f} KALE) had both farmed it: engine "
                   f"{b['engine'] / 1e7:,.2f} KALE ({b['engine_share']:.1%}), seed shape {b['seed_shape'] / 1e7:,.2f} KALE")
        ok = o["worked"] == o["planted"] and r["hashes_ratio"] >= TARGET_RATIO
        click.echo(f"    hashes per farmer {r['hashes_ratio']}× the seed's (target ≥ {TARGET_RATIO:g}×), "
                   f"all worked: {'yes' if o['worked'] == o['planted'] else 'NO'}  {'ok' if ok else 'MISSED'}")


# --- the local chain ------------------------------------------------------------------------------

class _Chain:
    """``shiftboss kale devnet`` as a child process, and sync JSON-RPC/friendbot calls to it."""

    def __init__(self, where: Path, block_seconds: int, ledger_seconds: float) -> None:
        where.mkdir(parents=True)
        self.state_path = where / "devnet.json"
        self.args = [sys.executable, "-m", "engine", "kale", "devnet", "--port", "0", "--state", str(self.state_path),
                     "--block-seconds", str(block_seconds), "--ledger-seconds", str(ledger_seconds)]
        self.block_seconds = block_seconds
        self.log = where / "devnet.log"

    def __enter__(self) -> _Chain:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.state_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                fail(f"the local KALE chain did not start: {self.log.read_text()[-500:]}")
            time.sleep(0.05)
        time.sleep(0.1)
        self.state = json.loads(self.state_path.read_text())
        self.http = httpx.Client(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)

    def fund(self, address: str) -> None:
        self.http.get(self.state["friendbot"], params={"addr": address, "kale": str(10**12)}).raise_for_status()

    def farm(self) -> Any:
        async def read() -> Any:
            async with SorobanRpc([self.state["rpc"]]) as rpc:
                return await KaleReader(rpc, self.state["farm_contract"]).farm()

        return trio.run(read)

    def pails(self, farmers: list[str], index: int) -> dict[str, Any]:
        async def read() -> Any:
            async with SorobanRpc([self.state["rpc"]]) as rpc:
                return await KaleReader(rpc, self.state["farm_contract"]).pails(farmers, index)

        return trio.run(read)

    def wait_open(self, after: int | None, say: Any) -> Any:
        """Until a block newer than ``after`` is open; its view."""
        deadline = time.monotonic() + 3 * self.block_seconds + 60
        while time.monotonic() < deadline:
            view = self.farm()
            if view.block is not None and (after is None or view.block.index > after):
                return view
            time.sleep(0.2)
        fail("no new block opened on the local chain in time")


def _keys(n: int) -> list[Keypair]:
    return [Keypair.random() for _ in range(n)]


# --- the engine's side ----------------------------------------------------------------------------

def _engine_side(chain: _Chain, where: Path, n: int, shape: dict[str, Any], say: Any) -> dict[str, Any]:
    keys = _keys(n)
    where.mkdir(parents=True)
    farmers = []
    for i, key in enumerate(keys):
        chain.fund(key.public_key)
        secret = where / f"farmer{i}.secret"
        secret.write_text(key.secret)
        secret.chmod(0o600)
        farmers.append(f'[[kale.farmers]]\naddress = "{key.public_key}"\nsecret_file = "{secret}"\n')
    config = f"""
[engine]
log_level = "warning"
grace_period = 1
[chains.kale]
kind = "soroban"
rpc = ["{chain.state['rpc']}"]
network_passphrase = "{chain.state['passphrase']}"
poll_interval = 0.25
[pools.default]
[pools.pow]
kinds = ["pow.kale", "pow.structs", "pow.hashcash"]
[pools.kale]
concurrency = {n * 3 + 16}
kinds = ["kale.plant", "kale.work", "kale.harvest"]
[kale]
chain = "kale"
contract = "{chain.state['farm_contract']}"
block_interval = {shape['block_seconds']}
work_delay = {shape['work_delay']}
work_margin = {shape['margin']}
plant_window = 5
{''.join(farmers)}"""
    with EngineProcess(where / "engine", config) as engine, engine.client() as client:
        first = chain.wait_open(None, say).block.index  # the engine's plants open a block at once …
        view = chain.wait_open(first, say)  # … and the next at its interval: measure that one, whole
        block = view.block
        say(f"  block {block.index} opened; waiting for its end …")
        _sleep_until(block.timestamp + shape["block_seconds"] - 1)
        on_chain = chain.pails([k.public_key for k in keys], block.index)
        pails = {p["farmer"]: p for p in client.get("/v1/kale/pails", block=block.index)["pails"]}
    worked = [a for a, p in on_chain.items() if p.zeros is not None]
    firsts = [p["first_work_at"] for p in pails.values() if p.get("first_work_at")]
    again = [int(p.get("resubmissions") or 0) for p in pails.values()]
    return {"block": block.index, "planted": len(on_chain), "worked": len(worked), "pails": list(on_chain.values()),
            "resubmissions": sum(again), "resubmitted_farmers": sum(1 for a in again if a),
            "hashes_median": int(statistics.median([int(p.get("hashes") or 0) for p in pails.values()] or [0])),
            "zeros_median": statistics.median([on_chain[a].zeros for a in worked] or [0]),
            "last_work_s": round(max(firsts) - block.timestamp, 1) if firsts else None}


def _shared_block(ours: list[Any], seed: list[Any], index: int) -> dict[str, Any]:
    """Both sides' worked pails in one block, paid as the contract's ``harvest`` pays: each
    pail's normalizations (gap, stake, zeros, within the block's ranges — here the ranges of
    these pails) over their total, times the block's reward plus the stakes."""
    pails = [(p, side) for side, ps in (("engine", ours), ("seed_shape", seed)) for p in ps if p.zeros is not None]
    reward = block_reward(index)
    if not pails:
        return {"block_reward": reward, "engine": 0, "seed_shape": 0, "engine_share": 0.0}
    block = Block(timestamp=0, min_gap=min(p.gap for p, _ in pails), max_gap=max(p.gap for p, _ in pails),
                  min_stake=min(p.stake for p, _ in pails), max_stake=max(p.stake for p, _ in pails),
                  min_zeros=min(p.zeros for p, _ in pails), max_zeros=max(p.zeros for p, _ in pails),
                  staked_total=sum(p.stake for p, _ in pails))
    weight = {"engine": 0, "seed_shape": 0}
    for p, side in pails:
        weight[side] += sum(normalizations(block, p.gap, p.stake, p.zeros))
    total = max(sum(weight.values()), 1)
    paid = {side: w * (reward + block.staked_total) // total for side, w in weight.items()}
    return {"block_reward": reward, **paid, "engine_share": round(weight["engine"] / total, 4)}


@contextlib.contextmanager
def _hogs(on: bool) -> Iterator[None]:
    """A busy machine: one spinning process per core while the block lasts."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)] if on else []
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))


# --- the seed's shape -----------------------------------------------------------------------------

def _build_miner(tmp: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or ""
    if not cc:
        fail("the seed's miner needs a C compiler (cc)")
    (tmp / "kale_rounds.h").write_text(generate_c())
    binary = tmp / "kale_ref_1"
    build = subprocess.run([cc, "-O3", "-march=native", "-DLANES=1", f"-I{tmp}", "-o", str(binary),
                            str(BENCHMARKS / "kale_ref.c")], capture_output=True, text=True)
    if build.returncode != 0:
        fail(f"cc failed: {build.stderr[:300]}")
    return binary


def _mine(miner: Path, start: int, count: int, index: int, entropy: bytes, farmer: bytes) -> tuple[int, int, int]:
    out = subprocess.run([str(miner), str(start), str(count), str(index), entropy.hex(), farmer.hex()],
                         capture_output=True, text=True, check=True).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return int(fields["hashes"]), int(fields["best_nonce"]), int(fields["best_zeros"])


def _miner_rate(miner: Path) -> float:
    hashes, began = 0, time.perf_counter()
    while time.perf_counter() - began < 1.0:
        hashes += _mine(miner, hashes, 500_000, 0, bytes(32), bytes(32))[0]
    return hashes / (time.perf_counter() - began)


def _seed_side(chain: _Chain, n: int, shape: dict[str, Any], miner: Path, rate: float, say: Any) -> dict[str, Any]:
    keys = _keys(n)
    for key in keys:
        chain.fund(key.public_key)
    sender = _Sender(chain)
    last = chain.farm()
    _sleep_until((last.farm_timestamp or time.time()) + shape["block_seconds"] + 0.5)  # the next block is plantable
    for key in keys:  # the Backend plants (as through Launchtube), before the Pooler's part starts
        sender.call(key, "plant", [scval.to_address(key.public_key), scval.to_int128(0)])
    view = chain.wait_open(last.block.index if last.block else None, say)
    block = view.block
    _sleep_until(block.timestamp + shape["work_delay"])  # the Pooler waits, …
    end = block.timestamp + shape["block_seconds"] - shape["margin"]
    hashes, firsts = [], []
    for i, key in enumerate(keys):  # … then one farmer after another, each a fresh miner process
        share = max(0.0, (end - time.time()) / (n - i))
        count = max(1, int(rate * share))
        done, nonce, zeros = _mine(miner, 0, count, block.index, block.entropy, parse_farmer(key.public_key))
        hashes.append(done)
        digest = kale_hash(block.index, nonce, block.entropy, strkey_payload(key.public_key))
        firsts.append(time.time())
        sender.call(key, "work", [scval.to_address(key.public_key), scval.to_bytes(digest), scval.to_uint64(nonce)])
    _sleep_until(block.timestamp + shape["block_seconds"] - 1)
    on_chain = chain.pails([k.public_key for k in keys], block.index)
    worked = [a for a, p in on_chain.items() if p.zeros is not None]
    return {"block": block.index, "planted": len(on_chain), "worked": len(worked), "pails": list(on_chain.values()),
            "hashes_median": int(statistics.median(hashes)),
            "zeros_median": statistics.median([on_chain[a].zeros for a in worked] or [0]),
            "last_work_s": round(max(firsts) - block.timestamp, 1)}


class _Sender:
    """The seed's submission: build, simulate, sign, send — and move on (no waiting)."""

    def __init__(self, chain: _Chain) -> None:
        self.chain = chain

    def _rpc(self, method: str, params: dict[str, Any]) -> Any:
        answer = self.chain.http.post(self.chain.state["rpc"], json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                                     "params": params}).json()
        return answer.get("result")

    def call(self, key: Any, function: str, args: list[Any]) -> None:
        entry = self._rpc("getLedgerEntries", {"keys": [sx.LedgerKey(
            sx.LedgerEntryType.ACCOUNT, account=sx.LedgerKeyAccount(key.xdr_account_id())).to_xdr()]})
        seq = sx.LedgerEntryData.from_xdr(entry["entries"][0]["xdr"]).account.seq_num.sequence_number.int64  # type: ignore[union-attr]
        tx = (TransactionBuilder(Account(key.public_key, seq), self.chain.state["passphrase"], base_fee=100)
              .append_invoke_contract_function_op(self.chain.state["farm_contract"], function, args)
              .set_timeout(60).build())
        sim = SimulateTransactionResponse.model_validate(self._rpc("simulateTransaction", {"transaction": tx.to_xdr()}))
        if sim.error:
            return  # the seed logs it and goes on
        tx = _assemble_transaction(tx, sim)
        tx.sign(key)
        self._rpc("sendTransaction", {"transaction": tx.to_xdr()})


__all__ = ["bench_kale"]
