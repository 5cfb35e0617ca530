"""``pow.structs``: a Structs proof of work, from waiting to included (seed 002).

The job returns at once and waits (state ``waiting`` with ``waiting_info``) until the struct's
age reaches ``target_age`` on the followed chain; then it hashes, re-checking its best hash
against the difficulty that falls with every new block, and as soon as one qualifies — when it
names a ``signer`` — submits the matching ``Msg*Complete`` signed with that key and follows it
to inclusion. One transaction per proof: the intent ``<chain>:structs.<action>:<id>@<start>``
is persisted signed before it is broadcast, and a retried or restarted job resumes it instead
of hashing again. The result carries the seed's ``proof_of_work`` and ``transaction`` blocks.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any, Literal

import msgspec
import trio
from msgspec import Meta

from engine.chains.cometbft import CometChain, Refused, TxFailed
from engine.chains.cometbft import tx as codec
from engine.chains.cometbft._rpc import already_complete
from engine.chains.cometbft._txledger import CosmosTx, by_intent
from engine.errors import ChainError, Invalid, JobFailure, PermanentFailure, WaitForChain
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.pow.kale import VerificationError
from engine.pow.runtime import PowJob
from engine.pow.structs import StructsWork, difficulty, message_prefix

_ID = r"^[0-9]+-[0-9]+$"


class StructsPayload(msgspec.Struct, forbid_unknown_fields=True):
    """A Structs proof of work: SHA-256 of {objectId}{ACTION}{blockStart}NONCE{nonce}."""

    action: Annotated[Literal["build", "mine", "refine", "raid"], Meta(description="what the proof completes")]
    object_id: Annotated[str, Meta(min_length=1, max_length=100, description="struct id (fleet id for raids)")]
    block_start: Annotated[int, Meta(ge=0, description="block the action started at")]
    difficulty_range: Annotated[int, Meta(ge=2, description="the action's range, e.g. 14000 mining, 28000 refining")]
    planet_id: Annotated[str, Meta(min_length=1, max_length=100, description="raided planet")] | None = None
    target_age: Annotated[int, Meta(ge=1, le=10**9, description="blocks to wait before hashing")] = 10
    chain: Annotated[str, Meta(min_length=1, max_length=64, description="height source to follow")] = "structs"
    start_nonce: Annotated[int, Meta(ge=0, description="first nonce, below 2**64 (default: random)")] | None = None
    signer: Annotated[str, Meta(min_length=1, max_length=64, description=(
        "submit the proof signed with this key of [chains.<chain>.keys] (empty: only compute it)"))] | None = None
    player_id: Annotated[str, Meta(pattern=_ID, description=(
        "the player the signer's address must belong to, e.g. 1-11 (checked on chain)"))] | None = None

    def __post_init__(self) -> None:
        if self.action == "raid" and not self.planet_id:
            raise ValueError("planet_id: a raid needs the planet id")
        if self.start_nonce is not None and self.start_nonce >= 2**64:
            raise ValueError("start_nonce: must be below 2**64")
        if self.player_id is not None and self.signer is None:
            raise ValueError("player_id: only meaningful with a signer")

    @property
    def intent(self) -> str:
        planet = f"/{self.planet_id}" if self.action == "raid" else ""
        return f"{self.chain}:structs.{self.action}:{self.object_id}{planet}@{self.block_start}"


async def _check_player(chain: CometChain, p: StructsPayload, address: str) -> str | None:
    """Why the signer cannot act for ``p.player_id`` (None when it can)."""
    if p.player_id is None:
        return None
    owner = await chain.rpc.player_of(address)
    if owner != p.player_id:
        return (f"signer {p.signer!r} ({address}) is "
                f"{'no player' if not owner else 'player ' + owner}, not player {p.player_id}")
    return None


async def admit(services: Any, p: StructsPayload, field: str) -> None:
    """At submit: the chain and signer exist; the signer's address is the player's (when the
    chain answers — otherwise the job checks again before it hashes)."""
    if p.signer is None:
        return
    chain = services.cometbft.get(p.chain)
    if chain is None:
        raise Invalid(f"{field}.chain: {p.chain!r} is not a [chains.<name>] with kind = \"cometbft\" "
                      f"(those: {', '.join(sorted(services.cometbft)) or 'none'})", field=f"{field}.chain")
    address = chain.addresses.get(p.signer)
    if address is None:
        raise Invalid(f"{field}.signer: chain {p.chain} has no signer {p.signer!r} "
                      f"(signers: {', '.join(sorted(chain.addresses)) or 'none'})", field=f"{field}.signer")
    try:
        with trio.move_on_after(5):
            why = await _check_player(chain, p, address)
            if why is not None:
                raise Invalid(f"{field}.player_id: {why}", field=f"{field}.player_id", code="player_mismatch")
    except ChainError:
        pass


async def structs(ctx: JobContext, p: StructsPayload) -> dict[str, Any]:
    chain = ctx.services.cometbft_chain(p.chain) if p.signer else None
    creator = chain.signer(p.signer) if chain is not None and p.signer else ""
    if chain is not None:
        sent = await chain.txs.store.read(by_intent, p.intent)
        if sent is not None:  # a retried or restarted job: follow what was sent, hash nothing again
            return await _follow(ctx, chain, sent, None)
        try:
            why = await _check_player(chain, p, creator)
        except ChainError as exc:
            raise JobFailure(f"cannot check the player on {p.chain}: {exc}", code="chain_unavailable") from None
        if why is not None:
            raise PermanentFailure(why, code="player_mismatch")
    heights = ctx.services.heights
    ready_at = p.block_start + p.target_age
    height = heights.get(p.chain)
    if height is None or height < ready_at:
        age = None if height is None else height - p.block_start
        raise WaitForChain(p.chain, ready_at, p.block_start, {
            "chain": p.chain, "height": height, "current_age": age, "target_age": p.target_age,
            "blocks_remaining": None if height is None else ready_at - height,
            "difficulty_now": None if age is None else difficulty(age, p.difficulty_range)}, p.difficulty_range)
    at: int = height  # the chain's height, followed while hashing
    prefix = message_prefix(p.action, p.object_id, p.block_start, p.planet_id)
    work = StructsWork(prefix.encode())
    zeros_needed = difficulty(at - p.block_start, p.difficulty_range)
    start = p.start_nonce if p.start_nonce is not None else secrets.randbelow(2**63)
    job = PowJob(ctx.job_id, ctx.priority, work.search, target=zeros_needed, start=start,
                 expected=16.0**zeros_needed, cancel=ctx.stop_requested, verify=work.verify,
                 remote=("structs", {"prefix": prefix}))

    def report(**more: Any) -> None:
        ctx.progress(height=at, age=at - p.block_start, difficulty=zeros_needed, **more)

    report()

    async def follow_blocks() -> None:
        nonlocal at, zeros_needed
        while True:
            await heights.wait_change()
            new = heights.get(p.chain)
            if new is None or new == at:
                continue
            at = new
            zeros_needed = difficulty(at - p.block_start, p.difficulty_range)
            job.target, job.expected = zeros_needed, 16.0**zeros_needed
            report()
            if job.best_zeros >= zeros_needed:
                job.finished.set()  # the best hash so far now qualifies

    began = time.monotonic()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow_blocks)
        await ctx.services.pow_runtime(ctx.pool).solve(job, on_progress=lambda progress: report(**progress))
        nursery.cancel_scope.cancel()
    if job.best_nonce is None or job.best_zeros < zeros_needed:
        raise PermanentFailure("the nonce space ran out before a proof qualified", code="exhausted")
    try:
        digest = work.verify(job.best_nonce, job.best_zeros)
    except VerificationError as exc:
        raise PermanentFailure(str(exc), code="verification_failed") from None
    seconds = time.monotonic() - began
    proof = {"hash": digest.hex(), "nonce": str(job.best_nonce), "iterations": job.hashes, "valid": True,
             "difficulty_met": True, "difficulty": zeros_needed, "zeros": job.best_zeros,
             "computation_time_ms": round(seconds * 1000, 1)}
    result = {"proof_of_work": proof, "nonce": job.best_nonce, "hash": digest.hex(), "zeros": job.best_zeros,
              "difficulty": zeros_needed, "height": at, "age": at - p.block_start, "hashes": job.hashes,
              "seconds": round(seconds, 3)}
    if chain is None:
        return result
    report(phase="submitting", hash=digest.hex(), nonce=str(job.best_nonce))
    msg = codec.completion(p.action, creator, p.object_id, digest.hex(), str(job.best_nonce))
    try:
        record = await chain.txs.send(p.intent, creator, [msg], label=f"{p.action} {p.object_id}", job_id=ctx.job_id)
    except Refused as exc:
        if exc.already_complete:
            return {**result, "transaction": {"status": "already_complete", "hash": None, "height": None,
                                              "message": exc.log}}
        raise PermanentFailure(f"the chain refused the proof: {exc.log}", code="chain_rejected",
                               details={"code": exc.code, "codespace": exc.codespace}) from None
    except ChainError as exc:  # nothing was persisted: the retry hashes again (the proof still holds)
        raise JobFailure(f"could not submit the proof to {p.chain}: {exc}", code="chain_unavailable") from None
    return await _follow(ctx, chain, record, result)


async def _follow(ctx: JobContext, chain: CometChain, record: CosmosTx, result: dict[str, Any] | None) -> dict[str, Any]:
    """Wait for ``record`` to be included; the job's result with its ``transaction`` block."""
    if result is None:  # resumed: the proof is the one that was sent
        msg = record.msgs[0]
        result = {"proof_of_work": {"hash": msg["proof"], "nonce": msg["nonce"], "valid": True, "difficulty_met": True,
                                    "resumed": True}, "hash": msg["proof"], "nonce": int(msg["nonce"])}
    ctx.progress(phase="following", tx=record.hash, tx_state=record.state)
    try:
        done = await chain.txs.wait(record.id, within=chain.settings.tx_timeout)
    except TxFailed as exc:
        if already_complete(exc.record.error_code, exc.record.error):  # done by another transaction
            return {**result, "transaction": {**_tx_block(exc.record), "status": "already_complete"}}
        raise PermanentFailure(f"the chain refused the proof: {exc.record.error}", code="chain_rejected",
                               details={"tx": exc.record.public()}) from None
    return {**result, "transaction": _tx_block(done)}


def _tx_block(record: CosmosTx) -> dict[str, Any]:
    return {"id": record.id, "hash": record.hash, "height": record.height,
            "status": "included" if record.state == "success" else record.state, "sequence": record.sequence,
            "signer": record.signer}


KINDS = [
    Kind("pow.structs", StructsPayload, structs,
         "Structs proof: waits for its block age, SHA-256 until a hash meets the falling difficulty, then submits "
         "the signed Msg*Complete (with a signer) and follows it to inclusion.",
         timeout=7 * 86400, max_attempts=3, admit=admit),
]
