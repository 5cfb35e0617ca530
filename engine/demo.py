"""Demo load: a steady trickle of noop, sleep and demo.flaky jobs (some retry, some fail) and
now and then a Hashcash stamp for the PoW threads, so a new operator sees life in
``shiftboss status``, ``jobs list`` and the console; with the local Structs chain, a struct
build every ``demo.structs_every`` seconds and its proof, from waiting to included."""

from __future__ import annotations

import logging
import random
from typing import NoReturn

import httpx
import trio

from engine.errors import EngineError, StoreError
from engine.schema import JobSubmit
from engine.service import Service

log = logging.getLogger("shiftboss.demo")

#: (weight, kind, payload, priority)
MIX: list[tuple[int, str, dict[str, object], int]] = [
    (5, "noop", {}, 5),
    (4, "sleep", {"seconds": 3}, 5),
    (2, "sleep", {"seconds": 12}, 3),
    (2, "demo.flaky", {"fail_times": 2, "seconds": 1}, 6),
    (1, "demo.flaky", {"fail_times": 9, "seconds": 0.5}, 4),  # exhausts its attempts: fails
    (1, "demo.flaky", {"fail_times": 1, "permanent": True}, 7),  # non-retryable: fails at once
    (1, "pow.hashcash", {"resource": "demo@shiftboss", "bits": 28}, 5),  # ~2^28 SHA-1s: the PoW threads hash
]


STRUCTS_RANGE = 30  # difficulty 22 at age 10, 6 at age 23: a proof ~20 s after its build starts (1 s blocks)


async def feed(service: Service, rng: random.Random | None = None) -> NoReturn:
    demo = service.settings.demo
    async with trio.open_nursery() as nursery:
        if demo.structs_rest and demo.structs_player:
            nursery.start_soon(structs_builds, service, demo.structs_rest, demo.structs_player)
        await mix(service, rng)


async def structs_builds(service: Service, rest: str, player: str) -> NoReturn:
    """Every ``structs_every`` s: start a struct build on the local Structs chain (its
    devnet-only route) and submit its proof, signed by the ``demo`` key."""
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            try:
                target = (await http.post(f"{rest}/devnet/targets", json={
                    "owner": player, "action": "build", "difficultyRange": STRUCTS_RANGE})).json()
                if not service.estop_active and service.store_health().writable:
                    await service.submit([JobSubmit(kind="pow.structs", payload={
                        "action": "build", "object_id": target["id"], "block_start": int(target["blockStart"]),
                        "difficulty_range": STRUCTS_RANGE, "signer": "demo", "player_id": player})], "demo", batch=False)
            except (httpx.HTTPError, ValueError, KeyError, EngineError) as exc:
                log.info("demo: no Structs build this time: %s", exc)
            await trio.sleep(service.settings.demo.structs_every)


async def mix(service: Service, rng: random.Random | None = None) -> NoReturn:
    rng = rng or random.Random()
    weights = [w for w, *_ in MIX]
    while True:
        _w, kind, payload, priority = rng.choices(MIX, weights)[0]
        if not service.estop_active and service.store_health().writable:
            try:
                await service.submit([JobSubmit(kind=kind, payload=dict(payload), priority=priority)], "demo",
                                     batch=False)
            except StoreError:
                pass  # the store just stopped writing: the engine shows it; the demo waits
        await trio.sleep(service.settings.demo.interval * rng.uniform(0.5, 1.5))
