"""KALE farming jobs, one per farmer and block (idempotency keys ``kale.<step>:<farmer>:<block>``,
queued by the farm service :mod:`engine.chains.soroban._farm` and the Pooler API):

* ``kale.plant`` stakes in the block (the contract's #8 PailExists: planted already, by an
  earlier attempt or someone else), then queues the work;
* ``kale.work`` hashes on the pool's PoW threads from the moment it runs (the block's open,
  give or take a ledger) until ``work_delay``, submits the best nonce, and while the block lasts
  keeps hashing for more zeros and resubmits when it finds them (#7 ZeroCountTooLow: worked
  already with as many). A farmer whose work fails for good gets a compensation record;
* ``kale.harvest`` simulates the harvest for the reward and submits it — a 0 reward with a
  stake is still harvested (the stake comes back); #9/#10/#11/#14 are "nothing to harvest".

Every transaction goes through the chain's sender under an intent named after the step, the
farmer, the block (and, for work, the zeros): a retry, a restart or a kill -9 finds the
transaction already made instead of making another.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

import msgspec
import trio
from msgspec import Meta
from stellar_sdk import scval
from stellar_sdk import xdr as sx

from engine.chains.soroban import _farmstore as farmstore
from engine.chains.soroban import _txledger as txledger
from engine.chains.soroban._farm import KaleFarm
from engine.chains.soroban._kale import ALREADY_PLANTED, ALREADY_WORKED, NOT_HARVESTABLE
from engine.chains.soroban._rpc import ContractFailed
from engine.chains.soroban._txs import TxFailed
from engine.errors import ChainError, JobFailure, PermanentFailure
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.pow.kale import KaleWork, VerificationError, parse_farmer
from engine.pow.runtime import PowJob

Farmer = Annotated[str, Meta(pattern=r"^G[A-Z2-7]{55}$", description="the farmer's Stellar account (G…)")]
BlockIndex = Annotated[int, Meta(ge=0, le=2**32 - 1, description="KALE block index (u32)")]


class PlantPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Plant (stake) for one farmer in one block."""

    farmer: Farmer
    block: BlockIndex
    stake: Annotated[int, Meta(ge=0, description="KALE stroops to stake")] = 0


class WorkPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Hash and submit one farmer's work in one block."""

    farmer: Farmer
    block: BlockIndex
    entropy: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", description="the block's entropy, hex")]
    timestamp: Annotated[int, Meta(ge=0, description="when the block opened (ledger time, unix seconds)")]
    stake: Annotated[int, Meta(ge=0)] = 0


class HarvestPayload(msgspec.Struct, forbid_unknown_fields=True):
    """Harvest one farmer's pail of a past block."""

    farmer: Farmer
    block: BlockIndex


def _farm(ctx: JobContext) -> KaleFarm:
    farm = ctx.services.kale
    if farm is None:
        raise PermanentFailure("no KALE farm is configured: add a [kale] section", code="no_farm")
    return farm


async def _failed_before(farm: KaleFarm, base: str) -> str:
    """The intent to use for ``base``: the first whose transaction did not fail on chain for a
    reason a new transaction can fix (a stale footprint). The contract refuses doubles itself."""
    n = 1
    while True:
        intent = base if n == 1 else f"{base}#{n}"
        record = await farm.store.read(txledger.by_intent, intent)
        if record is None or record.state != "failed" or record.error_number is not None:
            return intent
        n += 1


async def plant(ctx: JobContext, p: PlantPayload) -> dict[str, Any]:
    farm = _farm(ctx)
    view = await _read(farm.reader.farm())
    if view.index > p.block:
        if p.farmer in await _read(farm.reader.pails([p.farmer], p.block)):
            return await _planted(ctx, farm, p, "planted earlier")
        raise PermanentFailure(f"block {p.block} is over (the farm is at block {view.index})", code="block_passed")
    await farm.store.write(farmstore.set_pail, p.farmer, p.block, "planting", stake=p.stake, job_id=ctx.job_id)
    intent = await _failed_before(farm, f"kale.plant:{farm.contract}:{p.farmer}:{p.block}")
    args = [scval.to_address(p.farmer), scval.to_int128(p.stake)]
    try:
        record = await farm.txs.send(intent, p.farmer, farm.contract, "plant", args, job_id=ctx.job_id)
        ctx.progress(tx=record.id, hash=record.hash, state=record.state)
        record = await farm.txs.wait(record.id)
    except ContractFailed as exc:
        if exc.number == ALREADY_PLANTED:
            return await _planted(ctx, farm, p, "planted already (PailExists)")
        await farm.store.write(farmstore.set_pail, p.farmer, p.block, "failed", error=str(exc), job_id=ctx.job_id)
        raise PermanentFailure(str(exc), code="plant_refused", details={"number": exc.number}) from None
    except TxFailed as exc:
        if exc.record.error_number is None:  # e.g. a footprint gone stale at a block boundary: a new simulation
            raise JobFailure(f"plant failed on chain ({exc.record.error}); simulating again", code="plant_retry") from None
        raise
    return {**await _planted(ctx, farm, p, "planted"), "tx": record.hash, "ledger": record.ledger}


async def _planted(ctx: JobContext, farm: KaleFarm, p: PlantPayload, how: str) -> dict[str, Any]:
    block = await _read(farm.reader.block(p.block))
    if block is None:
        raise JobFailure(f"block {p.block} is not readable yet", code="block_missing")
    await farm.store.write(farmstore.set_pail, p.farmer, p.block, "planted", stake=p.stake, job_id=ctx.job_id,
                           entropy=block.entropy.hex(), opened=block.timestamp)
    queued = await farm.queue_work(p.farmer, p.block, block.entropy.hex(), block.timestamp, p.stake)
    return {"block": p.block, "stake": p.stake, "status": how, "work_queued": queued}


async def work(ctx: JobContext, p: WorkPayload) -> dict[str, Any]:
    farm = _farm(ctx)
    s = farm.settings
    submit_at = p.timestamp + min(s.work_delay, s.block_interval - s.work_margin)
    hard_end = p.timestamp + s.block_interval - s.work_margin
    stored = next(iter(await farm.store.read(farmstore.pails, index=p.block, farmer=p.farmer)), {})
    began = time.monotonic()
    search = KaleWork(p.block, bytes.fromhex(p.entropy), parse_farmer(p.farmer))
    runtime = ctx.services.pow_runtime(ctx.pool)
    best: tuple[int, int] | None = None
    if stored.get("best_nonce") is not None:  # an earlier attempt's best: keep it
        best = (int(stored["best_nonce"]), int(stored["best_zeros"]))
    submitted = int(stored.get("zeros") or -1)
    resubmissions = int(stored.get("resubmissions") or 0)  # work sent again with more zeros
    hashes = 0
    try:
        if farm.network_time() >= hard_end:
            raise PermanentFailure(f"block {p.block} ended before its work could run", code="block_ended")
        await farm.store.write(farmstore.set_pail, p.farmer, p.block, "hashing", job_id=ctx.job_id,
                               attempts=ctx.attempt)
        start = secrets.randbelow(2**63)
        first_at = _first_submission(submit_at, hard_end, farm.network_time())
        while True:
            if submitted < 0 and farm.network_time() < first_at:
                until, target = first_at, 64  # the whole time for the most zeros, then the first submission
            else:  # submitted (more zeros than that, until the end), or past first_at without min_zeros yet
                until, target = hard_end, max(submitted + 1, s.min_zeros)
            job = PowJob(ctx.job_id, ctx.priority, search.search, target=target, start=start,
                         expected=16.0 ** max(target, 1), cancel=ctx.stop_requested, verify=search.verify,
                         remote=("kale", {"index": p.block, "entropy": p.entropy, "farmer": search.farmer.hex()}))
            with trio.move_on_after(max(0.0, until - farm.network_time())):
                await runtime.solve(job, on_progress=lambda progress: ctx.progress(**progress))
            start, hashes = job.next_nonce, hashes + job.hashes
            if job.best_nonce is not None and (best is None or job.best_zeros > best[1]):
                best = (job.best_nonce, job.best_zeros)
                await farm.store.write(farmstore.set_pail, p.farmer, p.block, "hashing", best_nonce=best[0],
                                       best_zeros=best[1], hashes=hashes)
            if best is not None and best[1] > submitted and best[1] >= s.min_zeros and \
                    (submitted >= 0 or farm.network_time() >= first_at):
                if submitted < 0:
                    await farm.store.write(farmstore.set_pail, p.farmer, p.block, "hashing", first_work_at=time.time())
                again = int(submitted >= 0)
                gap = await _submit_work(ctx, farm, p, search, best, began, hashes, resubmissions + again)
                resubmissions += again
                submitted = best[1]
                ctx.progress(submitted_zeros=submitted, gap=gap, resubmissions=resubmissions)
            if ctx.stop_requested.is_set() or farm.network_time() >= hard_end - 1:
                break
        if submitted < 0:
            raise PermanentFailure(f"no hash with {s.min_zeros} zeros before the block's end "
                                   f"(best {best[1] if best else 0} after {hashes:,} hashes)", code="below_min_zeros")
    except JobFailure as exc:
        if not exc.retryable or ctx.attempt >= ctx.max_attempts:
            await _compensate(ctx, farm, p, exc.message)
        raise
    pail = next(iter(await farm.store.read(farmstore.pails, index=p.block, farmer=p.farmer)), {})
    return {"block": p.block, "zeros": submitted, "nonce": pail.get("nonce"), "hash": pail.get("hash"),
            "gap": pail.get("gap"), "hashes": hashes, "resubmissions": resubmissions,
            "seconds": round(time.monotonic() - began, 3)}


def _first_submission(submit_at: float, hard_end: float, now: float) -> float:
    """When to submit the first work: at ``work_delay`` after the block opened; a job that
    starts later (a late planting notice, a restart) hashes for half of what is left of the
    block, submits its best, and resubmits more zeros for the rest."""
    return submit_at if now < submit_at else now + max(0.0, hard_end - now) / 2


async def _submit_work(ctx: JobContext, farm: KaleFarm, p: WorkPayload, search: KaleWork, best: tuple[int, int],
                       began: float, hashes: int, resubmissions: int) -> int | None:
    nonce, zeros = best
    try:
        digest = search.verify(nonce, zeros)
    except VerificationError as exc:
        raise PermanentFailure(str(exc), code="verification_failed") from None
    intent = f"kale.work:{farm.contract}:{p.farmer}:{p.block}:z{zeros}"
    args = [scval.to_address(p.farmer), scval.to_bytes(digest), scval.to_uint64(nonce)]
    gap = None
    try:
        record = await farm.txs.send(intent, p.farmer, farm.contract, "work", args, job_id=ctx.job_id)
        ctx.progress(tx=record.id, hash=record.hash, state=record.state)
        record = await farm.txs.wait(record.id)
        if record.result:
            gap = scval.from_uint32(sx.SCVal.from_xdr(record.result))
    except ContractFailed as exc:
        if exc.number != ALREADY_WORKED:
            raise PermanentFailure(str(exc), code="work_refused", details={"number": exc.number}) from None
    except TxFailed as exc:
        if exc.record.error_number == ALREADY_WORKED:
            return None
        raise
    await farm.store.write(farmstore.set_pail, p.farmer, p.block, "worked", job_id=ctx.job_id, nonce=str(nonce),
                           hash=digest.hex(), zeros=zeros, gap=gap, hashes=hashes, attempts=ctx.attempt,
                           resubmissions=resubmissions,
                           work_seconds=round(time.monotonic() - began, 3))
    return gap


async def _compensate(ctx: JobContext, farm: KaleFarm, p: WorkPayload, reason: str) -> None:
    """The work failed for good: a compensation record for the stake the chain burned — read
    from the farmer's pail on chain (none: nothing was staked, nothing is owed; unreadable: the
    payload's stake, marked unconfirmed)."""
    with trio.CancelScope(shield=True):
        await farm.store.write(farmstore.set_pail, p.farmer, p.block, "failed", job_id=ctx.job_id, error=reason,
                               attempts=ctx.attempt)
        try:
            pail = (await farm.reader.pails([p.farmer], p.block)).get(p.farmer)
        except ChainError as exc:
            await farm.store.write(farmstore.compensate, p.farmer, p.block, p.stake,
                                   f"{reason} (stake not confirmed on chain: {exc})", ctx.job_id)
            return
        if pail is None:
            await farm.store.write(farmstore.set_pail, p.farmer, p.block, "failed", job_id=ctx.job_id,
                                   compensation="none: not planted on chain, no stake was burned")
            return
        await farm.store.write(farmstore.compensate, p.farmer, p.block, pail.stake, reason, ctx.job_id)


async def harvest(ctx: JobContext, p: HarvestPayload) -> dict[str, Any]:
    farm = _farm(ctx)
    intent = f"kale.harvest:{farm.contract}:{p.farmer}:{p.block}"
    if await farm.store.read(txledger.by_intent, intent) is None:
        pails = await _read(farm.reader.pails([p.farmer], p.block))
        pail = pails.get(p.farmer)
        args = [scval.to_address(p.farmer), scval.to_uint32(p.block)]
        try:
            reward = scval.from_int128(await farm.txs.simulate(p.farmer, farm.contract, "harvest", args))
        except ContractFailed as exc:
            if exc.number in NOT_HARVESTABLE:
                await farm.store.write(farmstore.set_pail, p.farmer, p.block, "skipped", job_id=ctx.job_id,
                                       skipped=str(exc))
                return {"block": p.block, "skipped": str(exc)}
            raise PermanentFailure(str(exc), code="harvest_refused") from None
        if reward == 0 and (pail is None or pail.stake == 0):
            await farm.store.write(farmstore.set_pail, p.farmer, p.block, "skipped", job_id=ctx.job_id,
                                   skipped="nothing to harvest (no reward, no stake)")
            return {"block": p.block, "skipped": "nothing to harvest"}
    record = await farm.txs.send(intent, p.farmer, farm.contract, "harvest",
                                 [scval.to_address(p.farmer), scval.to_uint32(p.block)], job_id=ctx.job_id)
    ctx.progress(tx=record.id, hash=record.hash, state=record.state)
    record = await farm.txs.wait(record.id)
    reward = scval.from_int128(sx.SCVal.from_xdr(record.result)) if record.result else 0
    await farm.store.write(farmstore.set_pail, p.farmer, p.block, "harvested", job_id=ctx.job_id, reward=str(reward))
    return {"block": p.block, "reward": str(reward), "tx": record.hash, "ledger": record.ledger}


async def _read(call: Any) -> Any:
    try:
        return await call
    except ChainError as exc:
        raise JobFailure(f"reading the farm: {exc}", code="rpc") from None


KINDS = [
    Kind("kale.plant", PlantPayload, plant, "KALE: stake for one farmer in one block, then queue its work.",
         max_attempts=5, timeout=180, backoff_base=2.0),
    Kind("kale.work", WorkPayload, work,
         "KALE: hash from the block's open, submit the best nonce at work_delay, resubmit more zeros until the end.",
         max_attempts=3, timeout=900, backoff_base=2.0),
    Kind("kale.harvest", HarvestPayload, harvest, "KALE: harvest one farmer's pail of a past block (reward + stake).",
         max_attempts=5, timeout=180, backoff_base=5.0),
]
