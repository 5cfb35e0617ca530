"""Getting and putting files on IPFS the way real endpoints speak: a Kubo RPC API, path gateways
and Pinata — every fetched file checked against its CID before it is returned, every stored
file's CID checked against the one computed here.

* :meth:`IpfsClient.fetch` tries the Kubo API (``/api/v0/cat``), then each gateway
  (``/ipfs/<cid>``), streaming with a size limit; bytes that do not match the CID are refused
  (a gateway cannot hand over other code than the CID names) and the next source is tried.
* :meth:`IpfsClient.add` stores bytes through the Kubo API and checks the answered CID.
* :meth:`IpfsClient.pin_json` stores a JSON document with Pinata's ``pinJSONToIPFS`` (as the
  seed does); Pinata serializes it itself, so its CID is checked by fetching it back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from engine.ipfs._unixfs import cid_of, matches


class IpfsError(Exception):
    """A file could not be fetched or stored (every source's reason in the message).
    ``refused``: a source answered with bytes that are not the file (or too many of them) — the
    CID's content is unverifiable there, not merely unreachable."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class IpfsClient:
    def __init__(self, *, api: str | None = None, gateways: list[str] | None = None, pinata: str | None = None,
                 pinata_jwt: str | None = None, timeout: float = 30.0, max_bytes: int = 10 * 2**20) -> None:
        self.api = api.rstrip("/") if api else None
        self.gateways = [g.rstrip("/") for g in gateways or []]
        self.pinata = pinata.rstrip("/") if pinata else None
        self.pinata_jwt = pinata_jwt
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> IpfsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(self, cid: str) -> bytes:
        """The file ``cid`` names, verified; :class:`IpfsError` with every source's reason."""
        sources = ([("POST", f"{self.api}/api/v0/cat", {"arg": cid})] if self.api else []) + \
                  [("GET", f"{g}/ipfs/{cid}", None) for g in self.gateways]
        if not sources:
            raise IpfsError("no IPFS API or gateway is configured")
        reasons, refused = [], False
        for method, url, params in sources:
            try:
                data = await self._get(method, url, params)
            except (httpx.HTTPError, IpfsError) as exc:
                reasons.append(f"{url}: {exc or type(exc).__name__}")
                refused = refused or (isinstance(exc, IpfsError) and exc.refused)
                continue
            if matches(data, cid):
                return data
            reasons.append(f"{url}: {len(data):,} bytes that are not {cid} (refused)")
            refused = True
        raise IpfsError("; ".join(reasons), refused=refused)

    async def _get(self, method: str, url: str, params: dict[str, str] | None) -> bytes:
        async with self._http.stream(method, url, params=params) as response:
            if response.status_code >= 400:
                body = (await response.aread())[:300].decode(errors="replace")
                raise IpfsError(f"HTTP {response.status_code}: {_message(body)}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise IpfsError(f"over the {self.max_bytes:,}-byte limit", refused=True)
                chunks.append(chunk)
        return b"".join(chunks)

    async def add(self, data: bytes, name: str = "file") -> str:
        """Store ``data`` through the Kubo API (pinned); its CID, checked."""
        if not self.api:
            raise IpfsError("no IPFS API is configured to add files")
        try:
            response = await self._http.post(f"{self.api}/api/v0/add", params={"pin": "true"},
                                             files={"file": (name, data, "application/octet-stream")})
        except httpx.HTTPError as exc:
            raise IpfsError(f"{self.api}: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            raise IpfsError(f"{self.api}: HTTP {response.status_code}: {_message(response.text)}")
        try:
            answered = json.loads(response.text.strip().splitlines()[-1])["Hash"]
        except (ValueError, KeyError, IndexError):
            raise IpfsError(f"{self.api}: an add answer without a Hash: {response.text[:200]!r}") from None
        expected = cid_of(data)
        if answered != expected:
            raise IpfsError(f"{self.api} stored the file as {answered}, not {expected}: not trusted")
        return expected

    async def pin_json(self, content: Any, name: str) -> str:
        """Pin a JSON document with Pinata (``pinJSONToIPFS``); its CID, checked by fetching it back
        unless it is the CID of our own serialization of it."""
        if not (self.pinata and self.pinata_jwt):
            raise IpfsError("Pinata is not configured (an endpoint and a JWT)")
        try:
            response = await self._http.post(f"{self.pinata}/pinning/pinJSONToIPFS",
                                             json={"pinataContent": content, "pinataMetadata": {"name": name}},
                                             headers={"authorization": f"Bearer {self.pinata_jwt}"})
        except httpx.HTTPError as exc:
            raise IpfsError(f"{self.pinata}: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            raise IpfsError(f"{self.pinata}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            cid = str(response.json()["IpfsHash"])
        except (ValueError, KeyError, TypeError):
            raise IpfsError(f"{self.pinata}: an answer without IpfsHash: {response.text[:200]!r}") from None
        ours = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
        if matches(ours, cid):
            return cid
        stored = await self.fetch(cid)  # verified against the CID; then it must be our document
        if json.loads(stored) != content:
            raise IpfsError(f"Pinata's {cid} is not the document sent")
        return cid


def _message(body: str) -> str:
    try:
        return str(json.loads(body).get("Message", body))
    except (ValueError, AttributeError):
        return body.strip()[:200]
