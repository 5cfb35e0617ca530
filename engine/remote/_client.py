"""The coordinator's side of the protocol: an httpx client for one worker that signs every
request with the coordinator's key and checks every signed answer against the worker's
allowlisted id."""

from __future__ import annotations

import json
import secrets
import ssl
from typing import Any, Self

import httpx
import nacl.signing

from engine.remote._protocol import ProtocolError, check_fields, check_health, sign_request


class WorkerRefused(Exception):
    """The worker answered with an error status (the reason is its message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


class WorkerClient:
    def __init__(self, key: nacl.signing.SigningKey, endpoint: str, worker_id: str, *, timeout: float = 10.0,
                 verify: bool | ssl.SSLContext = True, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.key, self.worker_id = key, worker_id
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=endpoint.rstrip("/"), timeout=timeout, verify=verify,
                                       transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self._http.build_request(method, path, **kwargs)
        body = request.read()
        target = request.url.raw_path.decode()
        request.headers.update(sign_request(self.key, method, target, body))
        response = await self._http.send(request)
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except (ValueError, AttributeError):
                message = response.text[:200]
            raise WorkerRefused(response.status_code, message)
        return response

    async def health(self) -> dict[str, Any]:
        """The worker's signed health answer to a fresh challenge, checked."""
        challenge = secrets.token_hex(16)
        answer = (await self._send("GET", "/health", params={"challenge": challenge})).json()
        if not isinstance(answer, dict):
            raise ProtocolError("the health answer is not an object")
        return check_health(self.worker_id, challenge, answer)

    async def submit(self, archive: bytes, manifest: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", "/submit", files={"files": ("job.tar.gz", archive, "application/gzip")},
                                    data={"manifest": json.dumps(manifest)})
        return dict(response.json())

    async def status(self, job_id: str, wait: float = 0.0) -> dict[str, Any]:
        """The job's status; with ``wait``, once it is final or after that many seconds."""
        params = {"wait": f"{wait:g}"} if wait else None
        return dict((await self._send("GET", f"/status/{job_id}", params=params,
                                      timeout=httpx.Timeout(self._timeout + wait))).json())

    async def output(self, job_id: str, path: str) -> bytes:
        return (await self._send("GET", f"/outputs/{job_id}/{path}")).content

    async def cancel(self, job_id: str) -> dict[str, Any]:
        return dict((await self._send("POST", f"/cancel/{job_id}")).json())

    async def drain(self, draining: bool = True) -> dict[str, Any]:
        return dict((await self._send("POST", "/drain", json={"draining": draining})).json())

    async def pow(self, algorithm: str, start: int, count: int, target: int, params: dict[str, Any]) -> dict[str, Any]:
        """A hashed range, its answer's signature checked (the hash itself is the caller's to check)."""
        answer = (await self._send("POST", "/pow", json={"algorithm": algorithm, "start": start, "count": count,
                                                          "target": target, "params": params})).json()
        fields = check_fields(self.worker_id, answer)
        if fields.get("worker_id") != self.worker_id or fields.get("start") != start:
            raise ProtocolError("the PoW answer is not for this range from this worker")
        return fields
