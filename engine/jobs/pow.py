"""PoW job kinds, hashing on their pool's threads (docs/design.md §6).

``pow.kale``: KALE farming work. ``pow.hashcash``: a v1 hashcash stamp. ``pow.structs``: a Structs proof that waits for its block age
(state ``waiting`` with ``waiting_info``), then hashes, re-checking its best hash against the
difficulty that falls with every new block, and completes as soon as one qualifies."""

from __future__ import annotations

import math
import secrets
import time
from typing import Annotated, Any, Literal

import msgspec
import trio
from msgspec import Meta

from engine.errors import PermanentFailure, WaitForChain
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.pow.hashcash import HashcashWork, stamp_prefix
from engine.pow.kale import KaleWork, VerificationError, parse_entropy, parse_farmer
from engine.pow.runtime import PowJob
from engine.pow.structs import StructsWork, difficulty, message_prefix


class KalePayload(msgspec.Struct, forbid_unknown_fields=True):
    """Find a nonce whose Keccak-256 has many leading zero hex digits."""

    index: Annotated[int, Meta(ge=0, le=2**32 - 1, description="block index (u32)")]
    entropy: Annotated[str, Meta(description="the block's entropy: 32 bytes as hex or base64")]
    farmer: Annotated[str, Meta(description="Stellar G…/C… address, or 32 bytes as hex")]
    min_zeros: Annotated[int, Meta(ge=1, le=16, description="leading zero hex digits wanted")] = 6
    mode: Annotated[Literal["until", "best"], Meta(
        description="until: stop at min_zeros; best: hash for `seconds`, keep the best")] = "until"
    seconds: Annotated[float, Meta(gt=0, le=3600, description="time budget of best mode")] | None = None
    start_nonce: Annotated[int, Meta(ge=0, description="first nonce, below 2**64 (default: random)")] | None = None

    def __post_init__(self) -> None:
        for name, parse in (("entropy", parse_entropy), ("farmer", parse_farmer)):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        if self.start_nonce is not None and self.start_nonce >= 2**64:
            raise ValueError("start_nonce: must be below 2**64")
        if self.mode == "best" and self.seconds is None:
            raise ValueError("seconds: best mode needs a time budget")


async def kale(ctx: JobContext, p: KalePayload) -> dict[str, Any]:
    work = KaleWork(p.index, parse_entropy(p.entropy), parse_farmer(p.farmer))
    start = p.start_nonce if p.start_nonce is not None else secrets.randbelow(2**63)
    target = p.min_zeros if p.mode == "until" else 16
    runtime = ctx.services.pow_runtime(ctx.pool)
    search = work.search_cuda if runtime.device == "cuda" else work.search
    job = PowJob(ctx.job_id, ctx.priority, search, target=target, start=start, expected=16.0**p.min_zeros,
                 stop=ctx.stop_requested, verify=work.verify,
                 remote=("kale", {"index": p.index, "entropy": work.entropy.hex(), "farmer": work.farmer.hex()}))
    began = time.monotonic()
    budget = p.seconds if p.mode == "best" and p.seconds is not None else math.inf
    with trio.move_on_after(budget):
        await runtime.solve(job, on_progress=lambda progress: ctx.progress(**progress))
    seconds = round(time.monotonic() - began, 3)
    if job.best_nonce is None or job.best_zeros < p.min_zeros:
        raise PermanentFailure(
            f"best after {job.hashes:,} hashes has {max(job.best_zeros, 0)} zeros, below min_zeros {p.min_zeros}",
            code="below_min_zeros", details={"best_zeros": job.best_zeros, "hashes": job.hashes})
    try:
        digest = work.verify(job.best_nonce, job.best_zeros)
    except VerificationError as exc:
        raise PermanentFailure(str(exc), code="verification_failed") from None
    return {"nonce": job.best_nonce, "hash": digest.hex(), "zeros": job.best_zeros, "hashes": job.hashes,
            "seconds": seconds}


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

    def __post_init__(self) -> None:
        if self.action == "raid" and not self.planet_id:
            raise ValueError("planet_id: a raid needs the planet id")
        if self.start_nonce is not None and self.start_nonce >= 2**64:
            raise ValueError("start_nonce: must be below 2**64")


async def structs(ctx: JobContext, p: StructsPayload) -> dict[str, Any]:
    heights = ctx.services.heights
    ready_at = p.block_start + p.target_age
    height = heights.get(p.chain)
    if height is None or height < ready_at:
        age = None if height is None else height - p.block_start
        raise WaitForChain(p.chain, ready_at, p.block_start, {
            "chain": p.chain, "height": height, "current_age": age, "target_age": p.target_age,
            "blocks_remaining": None if height is None else ready_at - height})
    prefix = message_prefix(p.action, p.object_id, p.block_start, p.planet_id)
    work = StructsWork(prefix.encode())
    zeros_needed = difficulty(height - p.block_start, p.difficulty_range)
    start = p.start_nonce if p.start_nonce is not None else secrets.randbelow(2**63)
    job = PowJob(ctx.job_id, ctx.priority, work.search, target=zeros_needed, start=start,
                 expected=16.0**zeros_needed, stop=ctx.stop_requested, verify=work.verify,
                 remote=("structs", {"prefix": prefix}))
    ctx.progress(height=height, difficulty=zeros_needed)

    async def follow_blocks() -> None:
        nonlocal height, zeros_needed
        while True:
            await heights.wait_change()
            new = heights.get(p.chain)
            if new is None or new == height:
                continue
            height = new
            zeros_needed = difficulty(height - p.block_start, p.difficulty_range)
            job.target, job.expected = zeros_needed, 16.0**zeros_needed
            ctx.progress(height=height, difficulty=zeros_needed)
            if job.best_zeros >= zeros_needed:
                job.finished.set()  # the best hash so far now qualifies

    began = time.monotonic()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow_blocks)
        await ctx.services.pow_runtime(ctx.pool).solve(job, on_progress=lambda progress: ctx.progress(**progress))
        nursery.cancel_scope.cancel()
    if job.best_nonce is None or job.best_zeros < zeros_needed:
        raise PermanentFailure("the nonce space ran out before a proof qualified", code="exhausted")
    try:
        digest = work.verify(job.best_nonce, job.best_zeros)
    except VerificationError as exc:
        raise PermanentFailure(str(exc), code="verification_failed") from None
    return {"nonce": job.best_nonce, "hash": digest.hex(), "zeros": job.best_zeros, "difficulty": zeros_needed,
            "height": height, "age": height - p.block_start, "hashes": job.hashes,
            "seconds": round(time.monotonic() - began, 3)}


class HashcashPayload(msgspec.Struct, forbid_unknown_fields=True):
    """A v1 hashcash stamp for ``resource`` whose SHA-1 starts with ``bits`` zero bits."""

    resource: Annotated[str, Meta(min_length=1, max_length=200, description="what the stamp is for")]
    bits: Annotated[int, Meta(ge=1, le=48, description="leading zero bits wanted")] = 20
    date: Annotated[str, Meta(pattern=r"^\d{6}(\d{4}(\d{2})?)?$", description="YYMMDD[hhmm[ss]]")] | None = None
    ext: Annotated[str, Meta(max_length=200)] = ""
    rand: Annotated[str, Meta(pattern=r"^[A-Za-z0-9+/=]{1,64}$", description="salt (default random)")] | None = None

    def __post_init__(self) -> None:
        for name in ("resource", "ext"):
            if ":" in getattr(self, name):
                raise ValueError(f"{name}: must not contain ':'")


async def hashcash(ctx: JobContext, p: HashcashPayload) -> dict[str, Any]:
    prefix = stamp_prefix(p.bits, p.resource, date=p.date, ext=p.ext, rand=p.rand)
    work = HashcashWork(prefix.encode())
    job = PowJob(ctx.job_id, ctx.priority, work.search, target=p.bits, start=0, expected=2.0**p.bits,
                 stop=ctx.stop_requested, verify=work.verify, remote=("hashcash", {"prefix": prefix}))
    began = time.monotonic()
    await ctx.services.pow_runtime(ctx.pool).solve(job, on_progress=lambda progress: ctx.progress(**progress))
    if job.best_nonce is None or job.best_zeros < p.bits:
        raise PermanentFailure("the counter space ran out before a stamp qualified", code="exhausted")
    try:
        digest = work.verify(job.best_nonce, job.best_zeros)
    except VerificationError as exc:
        raise PermanentFailure(str(exc), code="verification_failed") from None
    return {"stamp": work.stamp(job.best_nonce), "counter": job.best_nonce, "bits": job.best_zeros,
            "hash": digest.hex(), "hashes": job.hashes, "seconds": round(time.monotonic() - began, 3)}


def warm_pow_kernels() -> None:
    """Load (or, on a cold cache, compile) the PoW kernels: what workers show as ``compiling``."""
    KaleWork(0, bytes(32), bytes(32)).search(0, 8, 64)
    StructsWork(b"warm").search(0, 16, 64)
    HashcashWork(b"warm").search(0, 16, 64)


KINDS = [
    Kind("pow.kale", KalePayload, kale, "KALE farming: Keccak-256 over index‖nonce‖entropy‖farmer, most leading zeros.",
         timeout=3600, max_attempts=3),
    Kind("pow.structs", StructsPayload, structs,
         "Structs proof: waits for its block age, then SHA-256 until a hash meets the falling difficulty.",
         timeout=7 * 86400, max_attempts=3),
    Kind("pow.hashcash", HashcashPayload, hashcash, "Hashcash v1 stamp: SHA-1 with `bits` leading zero bits.",
         timeout=3600, max_attempts=3),
]
