"""``shiftboss ipfs devnet``: the local IPFS endpoint (Kubo RPC subset, a gateway, Pinata's pin API)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
import trio

from engine.cli._common import EXIT_CONFIG, serve_until_stopped
from engine.output import fail


@click.group()
def ipfs() -> None:
    """IPFS for the CloudMesh worker: a local endpoint for tests and the demo."""


@ipfs.command("devnet")
@click.option("--port", type=click.IntRange(0, 65535), default=5001, show_default=True,
              help="Port on 127.0.0.1 for the API, the gateway (/ipfs/<cid>) and Pinata's API, all on one.")
@click.option("--jwt-file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".demo/pinata.jwt"), show_default=True,
              help="The bearer token pinJSONToIPFS accepts: read from this file, or made and written there (0600).")
def devnet(port: int, jwt_file: Path) -> None:
    """Serve a local IPFS endpoint: the Kubo RPC's add, cat and block/get, a path gateway, and
    Pinata's pinJSONToIPFS — CIDs exactly as kubo's `ipfs add` makes them (256 KiB chunks,
    dag-pb or raw leaves, balanced parents; v0 by default, v1 with cid-version=1), kubo's error
    shape, Pinata's bearer check and JSON.stringify serialization. It is not an IPFS node: no
    peers, blocks in memory, gone when it stops. Ctrl-C or SIGTERM stops it."""
    from engine.devnets.ipfs import IpfsDevnet

    try:
        jwt = jwt_file.read_text().strip() if jwt_file.exists() else ""
        if not jwt:
            jwt_file.parent.mkdir(parents=True, exist_ok=True)
            jwt = secrets.token_urlsafe(24)
            fd = os.open(jwt_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(jwt + "\n")
    except OSError as exc:
        fail(f"--jwt-file {jwt_file}: {exc.strerror or exc}", EXIT_CONFIG)
    node = IpfsDevnet(pinata_jwt=jwt)

    async def start(nursery: trio.Nursery) -> None:
        url = await nursery.start(node.run, "127.0.0.1", port)
        click.echo(f"IPFS devnet (a local endpoint, not an IPFS node) at {url}\n"
                   f"  Kubo RPC {url}/api/v0 · gateway {url}/ipfs/<cid> · Pinata {url}/pinning/pinJSONToIPFS "
                   f"(bearer token in {jwt_file})\nCtrl-C stops it")

    serve_until_stopped("IPFS devnet", f"127.0.0.1:{port}", start)
