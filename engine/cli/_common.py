"""Options and helpers shared by every client command."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.client import Client, ClientError, EngineUnreachable, resolve_socket
from engine.output import emit_json, fail

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3


def client_options(fn: F) -> F:
    """Adds ``--socket/--url/--token-file/--data-dir/--json`` and passes ``client`` and ``as_json``."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
    @click.option("--data-dir", type=click.Path(file_okay=False), help="Find the engine's socket in this data dir.")
    @click.option("--token-file", type=click.Path(dir_okay=False, exists=True),
                  help="File with the bearer token for --url (or set SHIFTBOSS_TOKEN).")
    @click.option("--url", envvar="SHIFTBOSS_URL", help="Engine API over TCP, e.g. http://127.0.0.1:8787.")
    @click.option("--socket", "socket_", envvar="SHIFTBOSS_SOCKET", type=click.Path(dir_okay=False),
                  help="Engine API Unix socket [env SHIFTBOSS_SOCKET; default: <data dir>/engine.sock].")
    @functools.wraps(fn)
    def wrapper(*args: Any, socket_: str | None, url: str | None, token_file: str | None, data_dir: str | None,
                as_json: bool, **kwargs: Any) -> Any:
        client = make_client(socket_, url, token_file, data_dir)
        try:
            return fn(*args, client=client, as_json=as_json, **kwargs)
        except EngineUnreachable as exc:
            _report(exc, as_json, EXIT_UNREACHABLE)
        except ClientError as exc:
            _report(exc, as_json, EXIT_ERROR)
        finally:
            client.close()

    return wrapper  # type: ignore[return-value]


def make_client(socket_: str | None, url: str | None, token_file: str | None, data_dir: str | None,
                timeout: float = 30.0) -> Client:
    if url:
        token = Path(token_file).read_text().strip() if token_file else os.environ.get("SHIFTBOSS_TOKEN")
        return Client(url=url, token=token, timeout=timeout)
    return Client(socket_path=resolve_socket(socket_, data_dir), timeout=timeout)


def _report(exc: ClientError, as_json: bool, code: int) -> None:
    if as_json:
        emit_json({"error": {"code": exc.code, "message": str(exc), "details": exc.details}})
        raise SystemExit(code)
    fail(str(exc), code)


def serve_until_stopped(what: str, where: str, start: Callable[[Any], Awaitable[dict[str, Any] | None]], *,
                        state_path: Path | None = None) -> None:
    """Run a server (a devnet, a worker) in the foreground: ``start(nursery)`` starts its tasks
    and says where it listens; Ctrl-C or SIGTERM stops it. An address it cannot bind (``where``)
    is one clear error line. With ``state_path``, what ``start`` returns is written there once it
    serves (``detach_devnet`` waits for it) and removed when it stops."""
    import json
    import signal

    import trio

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            state = await start(nursery)
            if state_path is not None:
                await trio.Path(state_path).write_text(json.dumps({**(state or {}), "pid": os.getpid()}, indent=2) + "\n")
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.unlink(missing_ok=True)
    try:
        trio.run(main)
    except* OSError as group:
        first = group.exceptions[0]
        why = first.strerror if isinstance(first, OSError) and first.strerror else first
        fail(f"the {what} could not start on {where}: {why}", EXIT_ERROR)
    finally:
        if state_path is not None:
            state_path.unlink(missing_ok=True)


def detach_devnet(what: str, args: list[str], state_path: Path) -> dict[str, Any]:
    """Run ``shiftboss <args>`` (a devnet that writes ``state_path`` once it serves) in its own
    session, its output in ``<state>.log``; its state once written, or exit with its log's end
    if it stops first."""
    import json
    import subprocess
    import sys
    import time

    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.unlink(missing_ok=True)
    log_path = state_path.with_suffix(".log")
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen([sys.executable, "-m", "engine", *args, "--state", str(state_path)], stdin=devnull,
                                 stdout=log, stderr=log, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + 30
    while not (state_path.exists() and state_path.read_text().strip().endswith("}")):
        if child.poll() is not None or time.monotonic() > deadline:
            fail(f"the {what} did not start; end of {log_path}:\n" + log_path.read_text()[-800:], EXIT_ERROR)
        time.sleep(0.05)
    state: dict[str, Any] = json.loads(state_path.read_text())
    state["log"] = str(log_path)
    return state
