"""A local IPFS endpoint for tests and the demo — not an IPFS node: no peers, no DHT, blocks in
memory. It speaks the parts of three real protocols the CloudMesh worker uses, with their shapes:

* the Kubo RPC: ``POST /api/v0/add`` (multipart ``file``; ``cid-version``, ``raw-leaves``,
  ``only-hash``, ``pin``) answering NDJSON ``{"Name","Hash","Size"}`` per file, ``POST
  /api/v0/cat?arg=CID`` and ``POST /api/v0/block/get?arg=CID``; errors as kubo's
  ``{"Message","Code","Type"}`` with HTTP 500;
* a path gateway: ``GET /ipfs/{cid}``;
* Pinata's ``POST /pinning/pinJSONToIPFS`` (``{pinataContent, pinataMetadata}``, bearer JWT) →
  ``{"IpfsHash","PinSize","Timestamp"}``, the content stored as ``JSON.stringify`` writes it.

CIDs are computed exactly as kubo's ``ipfs add`` computes them (:mod:`engine.ipfs`), so a CID
from here names the same bytes on the real network.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import trio
from multiformats import CID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.devnets._http import serve_app
from engine.ipfs import Importer

MAX_ADD = 64 * 2**20


def _key(cid: str) -> bytes:
    """Blocks are found by multihash: a CIDv0 and its v1 form name the same block."""
    return bytes(CID.decode(cid).digest)


class IpfsDevnet:
    def __init__(self, pinata_jwt: str | None = None) -> None:
        self.pinata_jwt = pinata_jwt or secrets.token_urlsafe(24)
        self.blocks: dict[bytes, bytes] = {}
        self.files: dict[bytes, bytes] = {}  # root multihash → the file's bytes
        self.pins: set[str] = set()

    def store(self, data: bytes, cid_version: int = 0, raw_leaves: bool | None = None, *, keep: bool = True) -> str:
        importer = Importer(cid_version, raw_leaves)
        root = importer.add(data)
        if keep:
            self.blocks.update({_key(cid): block for cid, block in importer.blocks.items()})
            self.files[_key(root)] = data
        return root

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/v0/add", self.add, methods=["POST"]),
            Route("/api/v0/cat", self.cat, methods=["POST"]),
            Route("/api/v0/block/get", self.block_get, methods=["POST"]),
            Route("/ipfs/{cid}", self.gateway, methods=["GET", "HEAD"]),
            Route("/pinning/pinJSONToIPFS", self.pin_json, methods=["POST"]),
        ])

    async def add(self, request: Request) -> Response:
        q = request.query_params
        try:
            version = int(q.get("cid-version", "0"))
            raw = q.get("raw-leaves")
            raw_leaves = None if raw is None else raw.lower() == "true"
            Importer(version, raw_leaves)
        except ValueError as exc:
            return _kubo_error(f"invalid options: {exc}", 400)
        lines = []
        async with request.form(max_files=1000, max_part_size=MAX_ADD) as form:
            for name, part in form.multi_items():
                if isinstance(part, str):
                    continue
                data = await part.read()
                cid = self.store(data, version, raw_leaves, keep=q.get("only-hash", "false") != "true")
                if q.get("pin", "true") == "true":
                    self.pins.add(cid)
                lines.append(json.dumps({"Name": part.filename or name, "Hash": cid, "Size": str(len(data))}))
        if not lines:
            return _kubo_error("file argument 'path' is required", 400)
        return Response("\n".join(lines) + "\n", media_type="application/x-ndjson")

    def _cid(self, request: Request) -> str:
        cid = request.query_params.get("arg") or request.path_params.get("cid", "")
        _key(cid)  # ValueError / KeyError: not a CID
        return cid

    async def cat(self, request: Request) -> Response:
        try:
            cid = self._cid(request)
        except (ValueError, KeyError):
            return _kubo_error(f"invalid path {request.query_params.get('arg', '')!r}: not a CID", 500)
        data = self.files.get(_key(cid))
        if data is None:
            return _kubo_error(f"block was not found locally (offline): ipld: could not find {cid}", 500)
        return Response(data, media_type="text/plain")

    async def block_get(self, request: Request) -> Response:
        try:
            cid = self._cid(request)
        except (ValueError, KeyError):
            return _kubo_error("invalid 'ipfs ref' path", 500)
        block = self.blocks.get(_key(cid))
        if block is None:
            return _kubo_error(f"block was not found locally (offline): ipld: could not find {cid}", 500)
        return Response(block, media_type="application/octet-stream")

    async def gateway(self, request: Request) -> Response:
        try:
            cid = self._cid(request)
        except (ValueError, KeyError):
            return Response("invalid CID\n", status_code=400, media_type="text/plain")
        data = self.files.get(_key(cid))
        if data is None:
            return Response(f"{cid}: not found on this gateway\n", status_code=404, media_type="text/plain")
        return Response(data, media_type="application/octet-stream", headers={"X-Ipfs-Path": f"/ipfs/{cid}",
                                                                             "Etag": f'"{cid}"'})

    async def pin_json(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.pinata_jwt}":
            return JSONResponse({"error": {"reason": "INVALID_CREDENTIALS",
                                           "details": "Invalid/expired credentials"}}, status_code=401)
        try:
            body = json.loads(await request.body())
            content = body["pinataContent"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": {"reason": "INVALID_JSON", "details": "pinataContent is required"}},
                                status_code=400)
        data = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()  # JSON.stringify
        cid = self.store(data)
        self.pins.add(cid)
        return JSONResponse({"IpfsHash": cid, "PinSize": len(data),
                             "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")})

    async def run(self, host: str = "127.0.0.1", port: int = 0, *,
                  task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports the base URL (API, gateway and Pinata on one port)."""
        async with trio.open_nursery() as nursery:
            task_status.started(await nursery.start(serve_app, self.app(), host, port))


def _kubo_error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"Message": message, "Code": 0, "Type": "error"}, status_code=status)
