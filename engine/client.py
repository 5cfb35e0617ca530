"""A synchronous client of the control API (used by the CLI, benchmarks and tests): Unix socket by default, TCP with a bearer token."""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec

from engine.config import default_config_path, load_settings
from engine.errors import ConfigError, EngineError
from engine.schema import Event


class ClientError(EngineError):
    """The API refused a request (``code`` from its error envelope) or could not be reached."""

    def __init__(self, message: str, *, code: str = "error", status: int = 0, details: dict[str, Any] | None = None):
        self.code, self.status, self.details = code, status, details or {}
        super().__init__(message)


class EngineUnreachable(ClientError):
    """No engine answers at the address."""


def resolve_socket(socket_opt: str | None, data_dir: str | None) -> Path:
    """``--socket``, else ``SHIFTBOSS_SOCKET``, else the socket in ``--data-dir``, else the one
    the config (``SHIFTBOSS_CONFIG`` or ./config.toml) or the default data dir implies."""
    if socket_opt:
        return Path(socket_opt)
    if os.environ.get("SHIFTBOSS_SOCKET"):
        return Path(os.environ["SHIFTBOSS_SOCKET"])
    overrides = {"engine.data_dir": data_dir} if data_dir else {}
    try:
        return load_settings(default_config_path(), overrides=overrides).socket_path
    except ConfigError:
        return load_settings(None, overrides=overrides, environ={}).socket_path


class Client:
    def __init__(self, *, socket_path: Path | None = None, url: str | None = None, token: str | None = None,
                 timeout: float = 30.0) -> None:
        headers = {"x-shiftboss-actor": f"{_user()}@{socket.gethostname()}"}
        if url:
            if token:
                headers["authorization"] = f"Bearer {token}"
            self.where = url
            self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        else:
            assert socket_path is not None
            self.where = str(socket_path)
            self._http = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://shiftboss",
                                      headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                raw: bytes | None = None) -> Any:
        content = raw if raw is not None else None if body is None else msgspec.json.encode(body)
        content_type = "application/octet-stream" if raw is not None else "application/json"
        try:
            response = self._http.request(method, path, content=content, params=_params(params),
                                          headers={"content-type": content_type} if content else None)
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise EngineUnreachable(f"no engine answers at {self.where} ({exc}); start one with `shiftboss run`",
                                    code="unreachable") from exc
        except httpx.TimeoutException as exc:
            raise ClientError(f"the engine at {self.where} did not answer in time", code="timeout") from exc
        except httpx.HTTPError as exc:
            raise ClientError(f"request to {self.where} failed: {exc}", code="transport") from exc
        return _decode(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body)

    def post_bytes(self, path: str, data: bytes) -> Any:
        """A raw body (``POST /v1/files``: a job's tarball)."""
        return self.request("POST", path, raw=data)

    def events(self, since: int | None = None, *, job: str | None = None, types: str | None = None) -> Iterator[Event]:
        """Follow ``/v1/events`` (blocking iterator)."""
        params = _params({"since": since, "job": job, "types": types})
        try:
            with self._http.stream("GET", "/v1/events", params=params, timeout=httpx.Timeout(30, read=None)) as resp:
                if resp.status_code != 200:
                    resp.read()
                    _decode(resp)
                for line in resp.iter_lines():
                    if line.strip():
                        yield msgspec.json.decode(line, type=Event)
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise EngineUnreachable(f"no engine answers at {self.where}", code="unreachable") from exc
        except httpx.RemoteProtocolError as exc:
            raise ClientError("the engine closed the event stream", code="closed") from exc


def _params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {k: v for k, v in params.items() if v is not None}


def _decode(response: httpx.Response) -> Any:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if response.status_code >= 400:
        error = (data or {}).get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            raise ClientError(error.get("message", "error"), code=error.get("code", "error"),
                              status=response.status_code, details=error.get("details"))
        raise ClientError(f"HTTP {response.status_code}: {response.text[:200]}", status=response.status_code)
    return data


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def socket_accepts(path: Path) -> bool:
    """Whether something listens on the Unix socket ``path`` (probing with our own socket, which
    we always close: a failed HTTP connect would leak one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True
