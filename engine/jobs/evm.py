"""EVM job kinds: a generic operator transaction, and the workflow executor of seed 001 — a scan
that finds due workflows and one execute job per due run (idempotency key: workflow id and next
run, so a run seen twice is executed once), sent through the chain's transaction manager."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
import trio
from eth_utils import to_checksum_address
from msgspec import Meta

from engine.chains.evm import EvmChain, to_int
from engine.chains.evm import _ledger as ledger
from engine.chains.evm._contracts import load
from engine.chains.evm._rpc import to_bytes
from engine.chains.evm._txmanager import TxManager
from engine.errors import ChainError, JobFailure, PermanentFailure
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.schema import JobSubmit

log = logging.getLogger("shiftboss.evm")
Address = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed 20-byte address")]
HexData = Annotated[str, Meta(pattern=r"^0x([0-9a-fA-F]{2})*$", description="0x-prefixed calldata")]
SCAN_PAGE = 500  # workflow ids per dueWorkflows call
ChainName = Annotated[str, Meta(min_length=1, max_length=64, description="a [chains.<name>] of config.toml")]


class TxPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Send one transaction (to, value, data) from the chain's signer, and wait for it."""

    chain: ChainName
    to: Address
    value: Annotated[int, Meta(ge=0, description="wei")] = 0
    data: HexData = "0x"


class ScanPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Find the due workflows of the chain's registry and queue one execute job per due run."""

    chain: ChainName


class Workflow(msgspec.Struct, forbid_unknown_fields=True):
    """A workflow as the scan read it from the registry."""

    user: Address
    action: HexData
    interval: Annotated[int, Meta(ge=1, description="seconds between runs")]
    budget: Annotated[str, Meta(pattern=r"^[0-9]{1,40}$", description="gas budget (wei, decimal)")]


class ExecutePayload(msgspec.Struct, forbid_unknown_fields=True):
    """Execute one due run of a workflow through the ActionExecutor."""

    chain: ChainName
    workflow_id: Annotated[int, Meta(ge=1)]
    next_run: Annotated[int, Meta(ge=0, description="the run's due time (unix seconds), as scanned")]
    workflow: Workflow | None = None  # as scanned; read from the registry when absent


def _signer(chain: EvmChain) -> TxManager:
    if chain.account is None:
        raise PermanentFailure(f"chain {chain.name!r} has no signer: set chains.{chain.name}.key_file",
                               code="no_signer")
    if chain.tx is None:
        raise JobFailure(f"chain {chain.name!r} is not connected yet ({chain.error or 'starting'})", code="chain_down")
    return chain.tx


async def _call(chain: EvmChain, contract: str, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
    f = load(contract).fn(fn)
    return f.decode(await chain.rpc.call({"to": address, "data": "0x" + f.encode(*args).hex()}))


def _done(record: Any) -> dict[str, Any]:
    receipt = record.receipt or {}
    return {"tx": record.id, "hash": receipt.get("transactionHash", record.hash), "nonce": record.nonce,
            "block": to_int(receipt["blockNumber"]) if receipt else None,
            "gas_used": to_int(receipt["gasUsed"]) if receipt.get("gasUsed") else None,
            "replacements": len(record.hashes) - 1}


async def _send_and_wait(ctx: JobContext, tx: TxManager, intent: str, to: str, data: bytes,
                         value: int = 0) -> dict[str, Any]:
    record = await tx.send(intent, to=to, data=data, value=value, job_id=ctx.job_id)
    ctx.progress(tx=record.id, hash=record.hash, nonce=record.nonce, state=record.state)
    try:
        return _done(await tx.wait(record.id))
    except trio.Cancelled:
        if ctx.stop_reason == "cancel":  # the operator cancelled the job: cancel its transaction too
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                try:
                    await tx.cancel(record.id)
                except ChainError as exc:  # mined already, or the chain is away: nothing to undo
                    log.info("%s: not cancelled on chain: %s", record.id, exc)
        raise


async def evm_tx(ctx: JobContext, p: TxPayload) -> dict[str, Any]:
    chain = ctx.services.evm_chain(p.chain)
    return await _send_and_wait(ctx, _signer(chain), f"job:{ctx.job_id}", to_checksum_address(p.to),
                                bytes.fromhex(p.data[2:]), p.value)


async def workflow_scan(ctx: JobContext, p: ScanPayload) -> dict[str, Any]:
    """The due workflows, read a page at a time (``dueWorkflows``), and the data of those this
    engine has not queued yet, read in one JSON-RPC batch; one execute job per new due run,
    carrying that data (the idempotency key still makes a run seen twice one job)."""
    chain = ctx.services.evm_chain(p.chain)
    if chain.devnet is None:
        raise PermanentFailure(f"chain {p.chain!r} has no workflow contracts: set chains.{p.chain}.state_file",
                               code="no_contracts")
    registry = chain.devnet.registry
    get, due_page = load("WorkflowRegistry").fn("getWorkflow"), load("WorkflowRegistry").fn("dueWorkflows")
    try:
        (count,) = await _call(chain, "WorkflowRegistry", registry, "workflowCount")
        now = to_int((await chain.rpc.get_block("latest"))["timestamp"])
        pages = await chain.rpc.batch([("eth_call", [{"to": registry, "data": "0x" + due_page.encode(
            start, SCAN_PAGE, now).hex()}, "latest"]) for start in range(1, count + 1, SCAN_PAGE)])
        due = [(wid, run) for page in pages for wid, run in zip(*due_page.decode(to_bytes(page)), strict=True)]
        fresh = [(wid, run) for wid, run in due if chain.queued_runs.get(wid) != run]
        found = await chain.rpc.batch([("eth_call", [{"to": registry, "data": "0x" + get.encode(wid).hex()}, "latest"])
                                       for wid, _run in fresh])
    except ChainError as exc:
        raise JobFailure(f"scan of {p.chain}: {exc}", code="rpc") from None
    jobs = []
    for (wid, run), answer in zip(fresh, found, strict=True):
        ((user, action, interval, _next_run, budget, _active),) = get.decode(to_bytes(answer))
        data = {"user": user, "action": "0x" + action.hex(), "interval": interval, "budget": str(budget)}
        jobs.append(JobSubmit(kind="evm.workflow.execute", priority=7,
                              payload={"chain": p.chain, "workflow_id": wid, "next_run": run, "workflow": data},
                              idempotency_key=f"wf:{p.chain}:{registry.lower()}:{wid}@{run}"))
    created = 0
    if jobs:
        response = await ctx.services.submit(jobs, f"chain:{p.chain}")
        created = sum(1 for r in response.jobs if r.created)
        chain.queued_runs.update(fresh)
    return {"workflows": count, "due": len(due), "enqueued": created, "block_time": now}


async def workflow_execute(ctx: JobContext, p: ExecutePayload) -> dict[str, Any]:
    chain = ctx.services.evm_chain(p.chain)
    tx = _signer(chain)
    if chain.devnet is None:
        raise PermanentFailure(f"chain {p.chain!r} has no workflow contracts", code="no_contracts")
    devnet = chain.devnet
    intent = f"workflow:{p.chain}:{devnet.registry.lower()}:{p.workflow_id}@{p.next_run}"
    existing = None if p.workflow is not None else await tx.store.read(ledger.by_intent, intent)
    if existing is not None:  # an earlier attempt (or the engine before a crash) sent it: follow that one
        ctx.progress(tx=existing.id, hash=existing.hash, nonce=existing.nonce, state=existing.state)
        return {**_done(await tx.wait(existing.id)), "workflow_id": p.workflow_id}
    try:
        if p.workflow is None:
            user, action, interval, budget = await _current(chain, p)
        else:  # as the scan read it: the simulation checks it is still so
            w = p.workflow
            user, action, interval, budget = w.user, bytes.fromhex(w.action[2:]), w.interval, int(w.budget)
        max_fee, tip = await tx.fees()  # cached per block
        base_fee = max(0, (max_fee - tip) // 2)
    except ChainError as exc:
        raise JobFailure(f"reading workflow {p.workflow_id}: {exc}", code="rpc") from None
    except _Skip as skip:
        return {"workflow_id": p.workflow_id, "skipped": str(skip)}
    charge = min(budget, 100_000 * base_fee)
    data = load("ActionExecutor").fn("executeWorkflow").encode(p.workflow_id, action, p.next_run + interval, user,
                                                               charge)
    try:
        result = await _send_and_wait(ctx, tx, intent, devnet.executor, data)
    except PermanentFailure as exc:
        if exc.code != "reverted" or p.workflow is None:
            raise
        try:  # the workflow changed since the scan: say how, as a fresh read would have
            await _current(chain, p)
        except _Skip as skip:
            return {"workflow_id": p.workflow_id, "skipped": str(skip)}
        except ChainError:
            pass
        raise
    return {**result, "workflow_id": p.workflow_id, "next_run": p.next_run + interval, "charged_wei": charge}


class _Skip(Exception):
    """The run needs no execution (it was executed already)."""


async def _current(chain: EvmChain, p: ExecutePayload) -> tuple[str, bytes, int, int]:
    """The workflow as the registry holds it now: (user, action, interval, budget) if this run is
    due; :class:`_Skip` if it was executed already; a failure if it cannot run."""
    assert chain.devnet is not None
    ((user, action, interval, next_run, budget, active),) = await _call(
        chain, "WorkflowRegistry", chain.devnet.registry, "getWorkflow", p.workflow_id)
    if not active:
        raise PermanentFailure(f"workflow {p.workflow_id} is not active", code="inactive")
    if next_run > p.next_run:
        raise _Skip(f"this run was already executed (next run now {next_run})")
    now = int(chain.head_time) if chain.head_time else to_int((await chain.rpc.get_block("latest"))["timestamp"])
    if now < next_run:
        raise JobFailure(f"workflow {p.workflow_id} is due at {next_run}, the chain is at {now}", code="not_due")
    return user, action, interval, budget


KINDS = [
    Kind("evm.tx", TxPayload, evm_tx, "Send a transaction (to, value, data) from a chain's signer and wait for it.",
         max_attempts=5, timeout=600, backoff_base=2.0),
    Kind("evm.workflow.scan", ScanPayload, workflow_scan, "Find due workflows and queue one execute job per due run.",
         max_attempts=3, timeout=60, backoff_base=1.0),
    Kind("evm.workflow.execute", ExecutePayload, workflow_execute,
         "Execute one due workflow run through the ActionExecutor (simulate, sign, persist, send, wait).",
         max_attempts=5, timeout=600, backoff_base=2.0),
]
