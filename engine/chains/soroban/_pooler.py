"""The seed's Pooler API, as the KALE farm understands it: a Backend's planting notice
(``POST /backend/planting-status`` or ``/backend/planted-farmers``) turned into work for every
planted farmer, after checking all of it — nothing is queued unless the whole notice is good.

Fields come in camelCase or snake_case (the real Pooler accepts both); the farmers planted by
the Backend are its custodial wallets, whose secret keys travel in the notice: each is checked
against its wallet address and sealed before it is stored, and never echoed back.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from engine.chains.soroban import _farmstore as farmstore
from engine.chains.soroban._farm import KaleFarm
from engine.chains.soroban._vault import SecretMismatch, keypair_for
from engine.errors import ChainError, Conflict, Invalid, Rejected

_SNAKE = re.compile(r"_([a-z])")
Stroops = Annotated[int, Meta(ge=0)]


class PlantedFarmer(msgspec.Struct, forbid_unknown_fields=False):
    custodialWallet: Annotated[str, Meta(pattern=r"^G[A-Z2-7]{55}$")]
    custodialSecretKey: Annotated[str, Meta(min_length=1, max_length=100)]
    farmerId: Annotated[str, Meta(max_length=200)] = ""
    stakeAmount: Stroops | str = 0
    plantingTime: Any = None


class BlockData(msgspec.Struct, forbid_unknown_fields=False):
    entropy: Annotated[str, Meta(pattern=r"^(0x)?[0-9a-fA-F]{64}$")]
    timestamp: Any = None


class PlantingNotice(msgspec.Struct, forbid_unknown_fields=False):
    blockIndex: Annotated[int, Meta(ge=0, le=2**32 - 1)]
    plantedFarmers: list[PlantedFarmer]
    blockData: BlockData
    event: str | None = None
    backendId: str | None = None
    plantingStatus: Any = None
    results: Any = None
    timestamp: Any = None


class TestWork(msgspec.Struct, forbid_unknown_fields=False):
    blockIndex: Annotated[int, Meta(ge=0, le=2**32 - 1)]
    entropy: Annotated[str, Meta(pattern=r"^(0x)?[0-9a-fA-F]{64}$")]
    farmers: Annotated[list[Annotated[str, Meta(pattern=r"^G[A-Z2-7]{55}$")]], Meta(min_length=1, max_length=1000)]


def camel(value: Any) -> Any:
    """Keys in snake_case become camelCase, all the way down (``block_index`` → ``blockIndex``)."""
    if isinstance(value, dict):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), k) if isinstance(k, str) else k: camel(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def parse(body: Any, type_: type[Any]) -> Any:
    """``body`` (already JSON-decoded) as ``type_``; :class:`Invalid` naming the field."""
    try:
        return msgspec.convert(camel(body), type_, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = re.search(r" - at `\$\.?(.*)`$", message)
        missing = re.search(r"missing required field `([^`]+)`", message)
        field = at.group(1) if at and at.group(1) else ""
        if missing:
            field = f"{field}.{missing.group(1)}".strip(".")
        text = message[: at.start()] if at else message
        raise Invalid(f"{field}: {text}" if field else text, field=field or None) from None


def _stake(value: int | str, field: str) -> int:
    try:
        stake = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field}: expected an integer number of stroops, got {value!r}", field=field) from None
    if stake < 0:
        raise Invalid(f"{field}: must not be negative", field=field)
    return stake


async def accept_notice(farm: KaleFarm, notice: PlantingNotice, actor: str) -> dict[str, Any]:
    """Queue work for every planted farmer of ``notice``; refuses (and queues nothing) if any
    part is wrong: no farmers, an old block, entropy that is not the chain's, a key that is not
    its wallet's, a farmer with no pail in the block on chain."""
    if not notice.plantedFarmers:
        raise Invalid("plantedFarmers: no planted farmers in the notice", field="plantedFarmers")
    entropy = notice.blockData.entropy.lower().removeprefix("0x")
    try:
        view = await farm.reader.farm()
        block = view.block if view.block is not None and view.block.index == notice.blockIndex else \
            await farm.reader.block(notice.blockIndex)
    except ChainError as exc:
        raise Rejected(f"the farm's chain cannot be read now ({exc}); nothing was queued, send it again",
                       code="chain_unavailable") from None
    if notice.blockIndex < view.index:
        raise Conflict(f"block {notice.blockIndex} is over (the farm is at block {view.index}); nothing was queued",
                       code="old_block", details={"field": "blockIndex", "farm_index": view.index})
    if block is None:
        raise Conflict(f"block {notice.blockIndex} has not opened (the farm is at block {view.index})",
                       code="unknown_block", details={"field": "blockIndex", "farm_index": view.index})
    if block.entropy.hex() != entropy:
        raise Invalid(f"blockData.entropy is not block {notice.blockIndex}'s entropy on chain", field="blockData.entropy")
    checked = []
    for i, farmer in enumerate(notice.plantedFarmers):
        field = f"plantedFarmers[{i}]"
        try:
            keypair_for(farmer.custodialWallet, farmer.custodialSecretKey)
        except SecretMismatch as exc:
            raise Invalid(f"{field}.custodialSecretKey: {exc}", field=f"{field}.custodialSecretKey") from None
        checked.append((farmer, _stake(farmer.stakeAmount, f"{field}.stakeAmount")))
    try:
        planted = await farm.reader.pails([f.custodialWallet for f, _ in checked], block.index)
    except ChainError as exc:
        raise Rejected(f"the farm's chain cannot be read now ({exc}); nothing was queued, send it again",
                       code="chain_unavailable") from None
    for i, (farmer, _) in enumerate(checked):
        if farmer.custodialWallet not in planted:  # work for it would fail, and no stake was burned to compensate
            field = f"plantedFarmers[{i}].custodialWallet"
            raise Invalid(f"{field}: {farmer.custodialWallet} has not planted in block {block.index} on chain",
                          field=field)
    queued = 0
    for farmer, stake in checked:
        await farm.add_farmer(farmer.custodialWallet, farmer.custodialSecretKey, stake, "pooler", actor)
        await farm.store.write(farmstore.set_pail, farmer.custodialWallet, block.index, "planted", stake=stake,
                               farmer_id=farmer.farmerId, entropy=entropy, opened=block.timestamp)
        queued += await farm.queue_work(farmer.custodialWallet, block.index, entropy, block.timestamp, stake)
    s = farm.settings
    return {"success": True, "blockIndex": block.index, "farmersScheduled": len(checked), "newlyQueued": queued,
            "workAt": block.timestamp + min(s.work_delay, s.block_interval - s.work_margin)}
