"""The KALE farm over HTTP: the operator's view and controls (``/v1/kale…``, behind the engine's
own auth) and the seed's Pooler API (``/backend/…``, ``/status/work``, ``/debug/test-work``),
which a KALE Backend drives with its own bearer token (``POOLER_AUTH_TOKEN``) — the engine's
token does not open it, and its token opens nothing else."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine import safejson
from engine.api._errors import Malformed, Unauthorized
from engine.chains.soroban import KaleFarm
from engine.chains.soroban import _farmstore as farmstore
from engine.chains.soroban._pooler import PlantingNotice, TestWork, accept_notice, parse
from engine.chains.soroban._vault import SecretMismatch
from engine.errors import Invalid, NotFound
from engine.schema import JobSubmit
from engine.service import Service

#: Paths the engine's token guard lets through: the Pooler API checks its own token.
POOLER_PATHS = ("/backend/", "/status/work", "/debug/test-work")


class FarmerAdd(msgspec.Struct, forbid_unknown_fields=True):
    address: Annotated[str, Meta(pattern=r"^G[A-Z2-7]{55}$")]
    secret: Annotated[str, Meta(min_length=1, max_length=100)]
    stake: Annotated[int, Meta(ge=0)] | None = None
    reason: Annotated[str, Meta(max_length=500)] = ""


class FarmerRemove(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(max_length=500)] = ""


def kale_routes(service: Service, *, json: Callable[..., Response], actor_of: Callable[[Request], str],
                body_as: Callable[..., Awaitable[Any]], int_param: Callable[..., int | None]) -> list[Route]:
    """The routes; the API's own helpers (answers, the actor, bodies, query integers) are lent."""

    def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
        value = int_param(request, name, default, lo, hi)
        return default if value is None else value

    def farm() -> KaleFarm:
        if service.kale is None:
            raise NotFound("no KALE farm is configured (add a [kale] section to config.toml)", code="no_farm")
        return service.kale

    async def status(request: Request) -> Response:
        state = await farm().status()
        pool = service.kale_pool()
        whole = next((w for w in service.workers() if w.id == f"{pool}/threads"), None)
        state["hashes_per_s"] = None if whole is None else whole.detail.get("hashrate", {}).get("10s")
        return json(state)

    async def blocks(request: Request) -> Response:
        limit = _int(request, "limit", 20, 1, 1000)
        return json({"blocks": await farm().store.read(farmstore.blocks, limit)})

    async def pails(request: Request) -> Response:
        block = request.query_params.get("block")
        rows = await farm().store.read(farmstore.pails, index=_int(request, "block", 0, 0, 2**32 - 1) if block else None,
                                       farmer=request.query_params.get("farmer") or None,
                                       limit=_int(request, "limit", 1000, 1, 10_000))
        return json({"pails": rows})

    async def compensations(request: Request) -> Response:
        return json({"compensations": await farm().store.read(farmstore.compensations)})

    async def farmers(request: Request) -> Response:
        if request.method == "GET":
            rows = await farm().store.read(farmstore.farmers, active=None)
            return json({"farmers": [f.public() for f in rows]})
        body: FarmerAdd = await body_as(request, FarmerAdd)
        try:
            new = await farm().add_farmer(body.address, body.secret, body.stake, "cli", actor_of(request))
        except SecretMismatch as exc:
            raise Invalid(f"secret: {exc}", field="secret") from None
        return json({"address": body.address, "added": new}, status_code=201 if new else 200)

    async def farmer_remove(request: Request) -> Response:
        address = request.path_params["address"]
        body: FarmerRemove = await body_as(request, FarmerRemove, optional=True)
        if not await farm().remove_farmer(address, actor_of(request), body.reason):
            raise NotFound(f"{address} is not farmed here", code="unknown_farmer")
        return json({"address": address, "removed": True})

    # --- the Pooler API ------------------------------------------------------------------------

    def pooler(request: Request) -> KaleFarm:
        """The farm, if the request carries the Pooler token."""
        kale = farm()
        if not kale.pooler_token:
            raise NotFound("the Pooler API is off: set kale.pooler_token_file or POOLER_AUTH_TOKEN", code="pooler_off")
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), kale.pooler_token.encode()):
            raise Unauthorized("missing or invalid Pooler bearer token")
        return kale

    async def json_body(request: Request) -> Any:
        try:
            return safejson.decode(await request.body())
        except (msgspec.DecodeError, safejson.TooDeep) as exc:
            raise Malformed(f"request body is not valid JSON: {exc}") from None

    async def planting_status(request: Request) -> Response:
        kale = pooler(request)
        notice = parse(await json_body(request), PlantingNotice)
        backend = request.headers.get("x-backend-id") or notice.backendId or "backend"
        return json(await accept_notice(kale, notice, f"pooler:{backend}"))

    async def work_status(request: Request) -> Response:
        kale = pooler(request)
        state = await kale.status()
        block = state["block"]
        pails = [f["pail"] for f in state["farmers"] if f["pail"]]
        return json({"poolerId": kale.settings.pooler_id, "currentBlock": block["index"] if block else None,
                     "blockAge": block["age_s"] if block else None, "workAt": state["next_work_at"],
                     "farmers": [{"farmer": p["farmer"], "state": p["state"], "zeros": p.get("zeros"),
                                  "gap": p.get("gap"), "error": p.get("error")} for p in pails],
                     "compensations": state["compensations"], "error": state["error"]})

    async def test_work(request: Request) -> Response:
        pooler(request)
        body = parse(await json_body(request), TestWork)
        entropy = body.entropy.lower().removeprefix("0x")
        specs = [JobSubmit(kind="pow.kale", priority=3, payload={
            "index": body.blockIndex, "entropy": entropy, "farmer": f, "min_zeros": 1, "mode": "best", "seconds": 5})
            for f in body.farmers]
        response = await service.submit(specs, actor_of(request), batch=True)
        return json({"success": True, "jobs": [r.id for r in response.jobs],
                     "note": "hashing only, 5 s per farmer; nothing is submitted to the chain"})

    return [
        Route("/v1/kale", status, methods=["GET"]),
        Route("/v1/kale/blocks", blocks, methods=["GET"]),
        Route("/v1/kale/pails", pails, methods=["GET"]),
        Route("/v1/kale/compensations", compensations, methods=["GET"]),
        Route("/v1/kale/farmers", farmers, methods=["GET", "POST"]),
        Route("/v1/kale/farmers/{address}/remove", farmer_remove, methods=["POST"]),
        Route("/backend/planting-status", planting_status, methods=["POST"]),
        Route("/backend/planted-farmers", planting_status, methods=["POST"]),
        Route("/status/work", work_status, methods=["GET"]),
        Route("/debug/test-work", test_work, methods=["POST"]),
    ]

