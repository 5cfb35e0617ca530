"""CIDs computed here match kubo's (checked against Debian's ipfs_cid, built on go-ipfs's own
importer) for empty, one-chunk and several-chunk files; bytes are matched against a CID."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine.ipfs import CHUNK, Importer, cid_of, matches
from tests.conftest import require_tool


def kubo_cids(path: Path) -> dict[str, str]:
    out = subprocess.run([require_tool("ipfs_cid"), str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [0, 21, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_cids_match_kubos_importer(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = kubo_cids(path)
    assert cid_of(data) == expected["CIDv0"]
    assert matches(data, expected["CIDv0"]) and matches(data, expected["CIDv1"])
    assert not matches(data + b"x", expected["CIDv0"]) and not matches(data + b"x", expected["CIDv1"])


def test_known_cids_and_blocks() -> None:
    hello = b'print("hello world")\n'
    assert cid_of(hello) == "QmVHSWhAL7fNkRiHfoEJGeMYjaYZUsKHvix7L54SptR8ie"
    raw = cid_of(hello, 1)  # kubo's --cid-version=1: raw leaves
    assert raw.startswith("bafkrei") and matches(hello, raw)
    importer = Importer()
    root = importer.add(os.urandom(2 * CHUNK + 5))
    assert root in importer.blocks and len(importer.blocks) == 4  # three leaves and their parent
    assert not matches(hello, "not-a-cid")
    with pytest.raises(ValueError, match="raw leaves need CIDv1"):
        Importer(0, raw_leaves=True)
