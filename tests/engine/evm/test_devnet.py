"""The demo contracts on a real anvil: deployed and set up as `shiftboss devnet` does, then a
worker executing a due workflow by hand (signed raw transactions), as the seed's worker did."""

from __future__ import annotations

import pytest
import trio
from eth_account import Account

from engine.chains.evm import DEV_KEYS, Anvil, EvmRpc
from engine.chains.evm._contracts import WORKER_ROLE, action_data, load
from engine.chains.evm._devnet import USER, Rpc, create_workflow, deploy, grant_role
from engine.errors import ChainError, Reverted

WORKER = Account.from_key(DEV_KEYS[2])


def _call(rpc: Rpc, to: str, contract: str, fn: str, *args: object) -> tuple[object, ...]:
    f = load(contract).fn(fn)
    return f.decode(bytes.fromhex(rpc("eth_call", {"to": to, "data": "0x" + f.encode(*args).hex()}, "latest")[2:]))


async def _send(rpc: EvmRpc, to: str, data: bytes, nonce: int) -> dict[str, object]:
    tx = {"to": to, "data": data, "nonce": nonce, "chainId": 31337, "gas": 500_000, "maxFeePerGas": 10**10,
          "maxPriorityFeePerGas": 10**9, "type": 2}
    signed = Account.sign_transaction(tx, WORKER.key)
    tx_hash = await rpc.send_raw(bytes(signed.raw_transaction))
    while (receipt := await rpc.receipt(tx_hash)) is None:  # noqa: ASYNC110 - polling the node (automine: at once, normally)
        await trio.sleep(0.05)
    return receipt


@pytest.mark.trio
async def test_devnet_deploys_grants_funds_and_a_due_workflow_runs_once(anvil: Anvil) -> None:
    state = deploy(anvil.url, WORKER.address, workflows=2, interval=60)
    rpc = Rpc(anvil.url)
    assert state.chain_id == 31337 and state.workflows == [1, 2]
    assert _call(rpc, state.executor, "ActionExecutor", "hasRole", WORKER_ROLE, WORKER.address) == (True,)
    assert not grant_role(rpc, state.executor, WORKER.address)  # idempotent, like the seed's script
    assert int(rpc("eth_getBalance", WORKER.address, "latest"), 16) >= 100 * 10**18
    (workflow,) = _call(rpc, state.registry, "WorkflowRegistry", "getWorkflow", 1)
    user, action, interval, next_run, budget, active = workflow  # type: ignore[misc]
    assert user.lower() == USER.lower() and interval == 60 and active
    rpc("evm_increaseTime", 5)
    rpc("evm_mine")
    execute = load("ActionExecutor").fn("executeWorkflow")
    data = execute.encode(1, action, next_run + interval, user, 10**12)
    with trio.fail_after(20):
        async with EvmRpc([anvil.url]) as erpc:
            nonce = await erpc.nonce(WORKER.address)
            receipt = await _send(erpc, state.executor, data, nonce)
            assert receipt["status"] == "0x1"
            assert _call(rpc, state.registry, "WorkflowRegistry", "getWorkflow", 1)[0][3] == next_run + interval
            assert _call(rpc, state.target, "DemoTarget", "count", state.executor) == (1,)
            assert _call(rpc, state.escrow, "FeeEscrow", "balanceOf", USER) == (10 * 10**18 - 10**12,)
            # the same due run again: not due any more, whatever the worker believes
            with pytest.raises(Reverted, match="workflow not due"):
                await erpc.call({"from": WORKER.address, "to": state.executor, "data": "0x" + data.hex()})
            # a workflow whose action reverts: the target's reason comes through
            failing = action_data(state.target, load("DemoTarget").fn("fail").encode("boom"))
            wid = create_workflow(rpc, state.registry, failing, interval=60, first_run=0)
            bad = execute.encode(wid, failing, 60, USER, 0)
            with pytest.raises(Reverted) as rev:
                await erpc.call({"from": WORKER.address, "to": state.executor, "data": "0x" + bad.hex()})
            assert rev.value.reason == "boom"
            # a key without WORKER_ROLE is refused
            with pytest.raises(Reverted, match="caller is not a worker"):
                await erpc.call({"from": USER, "to": state.executor, "data": "0x" + data.hex()})


def test_a_reverting_setup_step_names_the_reason(anvil: Anvil) -> None:
    state = deploy(anvil.url, WORKER.address, workflows=0)
    with pytest.raises(ChainError, match="WorkflowRegistry: only owner"):
        Rpc(anvil.url).send(USER, state.registry, load("WorkflowRegistry").fn("setExecutor").encode(USER))
