"""PoW job kinds, hashing on their pool's threads (docs/design.md §6).

``pow.kale``: KALE farming work. ``pow.hashcash``: a v1 hashcash stamp. (``pow.structs``, which
also follows a chain and submits its proof, is in :mod:`engine.jobs.structs`.)"""

from __future__ import annotations

import math
import secrets
import time
from typing import Annotated, Any, Literal

import msgspec
import trio
from msgspec import Meta

from engine.errors import PermanentFailure
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind
from engine.pow.hashcash import HashcashWork, stamp_prefix
from engine.pow.kale import KaleWork, VerificationError, parse_entropy, parse_farmer
from engine.pow.runtime import PowJob
from engine.pow.structs import StructsWork


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
                 cancel=ctx.stop_requested, verify=work.verify,
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
                 cancel=ctx.stop_requested, verify=work.verify, remote=("hashcash", {"prefix": prefix}))
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
    Kind("pow.hashcash", HashcashPayload, hashcash, "Hashcash v1 stamp: SHA-1 with `bits` leading zero bits.",
         timeout=3600, max_attempts=3),
]
