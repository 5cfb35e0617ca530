"""Demo load: a steady trickle of noop, sleep and demo.flaky jobs (some retry, some fail) and
now and then a Hashcash stamp for the PoW threads, so a new operator sees life in
``shiftboss status``, ``jobs list`` and the console."""

from __future__ import annotations

import random
from typing import NoReturn

import trio

from engine.errors import StoreError
from engine.schema import JobSubmit
from engine.service import Service

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


async def feed(service: Service, rng: random.Random | None = None) -> NoReturn:
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
