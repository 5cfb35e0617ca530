"""Set up a local devnet for the workflow executor of seed 001: deploy WorkflowRegistry,
FeeEscrow, ActionExecutor and DemoTarget, grant WORKER_ROLE to the engine's signer, fund it,
create demo workflows (funded in escrow), and write a state file the engine config points at.

It runs against anvil's unlocked dev accounts (``eth_sendTransaction``), so set-up needs no
signing; the engine's own transactions go through its transaction manager.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from engine.chains.evm._contracts import WORKER_ROLE, action_data, load
from engine.errors import ChainError

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil dev account 0
USER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil dev account 1: owns the demo workflows
ETH = 10**18


@dataclass
class DevnetState:
    rpc: str
    chain_id: int
    registry: str
    executor: str
    escrow: str
    target: str
    signer: str
    user: str = USER
    workflows: list[int] = field(default_factory=list)
    key_file: str = ""  # the signer's key file, for `shiftboss run --devnet`

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, path: Path) -> DevnetState:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ChainError(f"cannot read the devnet state file {path}: {exc}") from None


class Rpc:
    """Blocking JSON-RPC for set-up scripts."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(self.url, body, {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise ChainError(f"{method}: {answer['error'].get('message', answer['error'])}")
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one request; results in order (an error raises)."""
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)]).encode()
        req = urllib.request.Request(self.url, body, {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            answers = {a["id"]: a for a in json.loads(resp.read())}
        for i, (method, _params) in enumerate(calls):
            if "error" in answers[i]:
                raise ChainError(f"{method}: {answers[i]['error'].get('message', answers[i]['error'])}")
        return [answers[i]["result"] for i in range(len(calls))]

    def send(self, sender: str, to: str | None = None, data: bytes = b"", value: int = 0) -> dict[str, Any]:
        """Send from an unlocked account and wait for the receipt; a revert raises."""
        tx: dict[str, Any] = {"from": sender, "data": "0x" + data.hex(), "value": hex(value)}
        if to:
            tx["to"] = to
        tx_hash = self("eth_sendTransaction", tx)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            receipt = self("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                if receipt["status"] != "0x1":
                    raise ChainError(f"set-up transaction {tx_hash} reverted: {self.revert_reason(tx, receipt)}")
                return receipt  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise ChainError(f"set-up transaction {tx_hash} was not mined within 60 s (is the devnet mining?)")

    def revert_reason(self, tx: dict[str, Any], receipt: dict[str, Any]) -> str:
        """Why a mined transaction reverted: replay it as a call on the block before its own."""
        try:
            self("eth_call", tx, hex(int(receipt["blockNumber"], 16) - 1))
        except ChainError as exc:
            return str(exc).removeprefix("eth_call: ")
        return "no reason given"

    def deploy(self, name: str, *args: Any) -> str:
        return to_checksum_address(self.send(DEPLOYER, data=load(name).deploy_data(*args))["contractAddress"])

    def timestamp(self) -> int:
        return int(self("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def deploy(url: str, signer: str, *, workflows: int = 3, interval: int = 30, fund_eth: int = 100,
           first_run: int | None = None) -> DevnetState:
    """Deploy and set up everything; returns what the state file records. Workflows first run
    one second apart from now, or all at ``first_run``."""
    rpc = Rpc(url)
    registry = rpc.deploy("WorkflowRegistry")
    escrow = rpc.deploy("FeeEscrow")
    executor = rpc.deploy("ActionExecutor", registry, escrow)
    target = rpc.deploy("DemoTarget")
    rpc.send(DEPLOYER, registry, load("WorkflowRegistry").fn("setExecutor").encode(executor))
    rpc.send(DEPLOYER, escrow, load("FeeEscrow").fn("setExecutor").encode(executor))
    grant_role(rpc, executor, signer)
    rpc.send(DEPLOYER, signer, value=fund_eth * ETH)
    state = DevnetState(rpc=url, chain_id=int(rpc("eth_chainId"), 16), registry=registry, executor=executor,
                        escrow=escrow, target=target, signer=signer)
    rpc.send(USER, escrow, load("FeeEscrow").fn("deposit").encode(), value=10 * ETH)
    poke = action_data(target, load("DemoTarget").fn("poke").encode())
    now = rpc.timestamp()
    starts = [now + i if first_run is None else first_run for i in range(workflows)]
    for i in range(0, workflows, 200):  # two hundred at a time, their receipts read in one request
        state.workflows += create_workflows(rpc, registry, poke, interval=interval, first_runs=starts[i:i + 200])
    return state


def create_workflows(rpc: Rpc, registry: str, action: bytes, *, interval: int, first_runs: list[int],
                     gas_budget: int = 10**15, user: str = USER) -> list[int]:
    """Several workflows of ``user`` (an unlocked account), sent one after another and their
    receipts read in one batch; their ids."""
    fn = load("WorkflowRegistry").fn("createWorkflow")
    hashes = [rpc("eth_sendTransaction", {"from": user, "to": registry,  # one by one: a batch's sends race for nonces
                                          "data": "0x" + fn.encode(action, interval, first, gas_budget).hex()})
              for first in first_runs]
    topic = "0x" + load("WorkflowRegistry").event_topic("WorkflowCreated").hex()
    ids = []
    deadline = time.monotonic() + 60
    while hashes:
        receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        for receipt in (r for r in receipts if r is not None):
            if receipt["status"] != "0x1":
                raise ChainError(f"createWorkflow {receipt['transactionHash']} reverted")
            ids += [int(log["topics"][1], 16) for log in receipt["logs"] if log["topics"][0] == topic]
        hashes = [h for h, r in zip(hashes, receipts, strict=True) if r is None]
        if hashes and time.monotonic() > deadline:
            raise ChainError(f"{len(hashes)} createWorkflow transactions not mined within 60 s (is the devnet mining?)")
        time.sleep(0.02 if hashes else 0)
    return sorted(ids)


def create_workflow(rpc: Rpc, registry: str, action: bytes, *, interval: int, first_run: int,
                    gas_budget: int = 10**15, user: str = USER) -> int:
    fn = load("WorkflowRegistry").fn("createWorkflow")
    receipt = rpc.send(user, registry, fn.encode(action, interval, first_run, gas_budget))
    topic = "0x" + load("WorkflowRegistry").event_topic("WorkflowCreated").hex()
    for log in receipt["logs"]:
        if log["topics"][0] == topic:
            return int(log["topics"][1], 16)
    raise ChainError("createWorkflow emitted no WorkflowCreated event")


def has_worker_role(rpc: Rpc, executor: str, account: str) -> bool:
    has_role = load("ActionExecutor").fn("hasRole")
    answer = rpc("eth_call", {"to": executor, "data": "0x" + has_role.encode(WORKER_ROLE, account).hex()}, "latest")
    return bool(has_role.decode(bytes.fromhex(answer[2:]))[0])


def grant_role(rpc: Rpc, executor: str, account: str, admin: str = DEPLOYER) -> bool:
    """Grant WORKER_ROLE (the seed's grant-worker-role script); False if it was held already."""
    if has_worker_role(rpc, executor, account):
        return False
    rpc.send(admin, executor, load("ActionExecutor").fn("grantRole").encode(WORKER_ROLE, account))
    return True
