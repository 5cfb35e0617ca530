"""Files as kubo's ``ipfs add`` stores them, and their CIDs — computed here, so that bytes fetched
from any node or gateway can be checked against the CID they were asked for.

kubo's defaults are reproduced: fixed 262,144-byte chunks; each chunk a UnixFS ``File`` node in a
dag-pb block (CIDv0, ``Qm…``) or a raw block (CIDv1, raw leaves, ``bafk…``/``bafy…``); more than
one chunk under parents of at most 174 links (the balanced layout) whose UnixFS data carries the
file size and each child's size. dag-pb and UnixFS are protobuf: the few fields are written by
hand (links before data, as dag-pb's canonical form has it). Multihash and CID encoding come
from ``multiformats``.
"""

from __future__ import annotations

from dataclasses import dataclass

from multiformats import CID, multihash

CHUNK = 262_144
MAX_LINKS = 174
UNIXFS_FILE = 2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:  # a length-delimited protobuf field
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _uint(number: int, value: int) -> bytes:  # a varint protobuf field
    return _varint(number << 3) + _varint(value)


@dataclass(frozen=True)
class Node:
    cid: CID
    block: bytes
    file_size: int  # bytes of the file under it
    tree_size: int  # its block and every block under it (a link's Tsize)


class Importer:
    """``ipfs add`` of one file: :meth:`add` gives the root CID and keeps every block."""

    def __init__(self, cid_version: int = 0, raw_leaves: bool | None = None) -> None:
        if cid_version not in (0, 1):
            raise ValueError("cid_version: 0 or 1")
        self.cid_version = cid_version
        self.raw_leaves = cid_version == 1 if raw_leaves is None else raw_leaves
        if cid_version == 0 and self.raw_leaves:
            raise ValueError("raw leaves need CIDv1")
        self.blocks: dict[str, bytes] = {}

    def add(self, data: bytes) -> str:
        level = [self._leaf(data[at:at + CHUNK]) for at in range(0, max(len(data), 1), CHUNK)]
        while len(level) > 1:
            level = [self._parent(level[at:at + MAX_LINKS]) for at in range(0, len(level), MAX_LINKS)]
        return str(level[0].cid)

    def _cid(self, codec: str, block: bytes) -> CID:
        digest = multihash.digest(block, "sha2-256")
        if self.cid_version == 0:
            return CID("base58btc", 0, "dag-pb", digest)
        return CID("base32", 1, codec, digest)

    def _keep(self, codec: str, block: bytes, file_size: int, under: int = 0) -> Node:
        cid = self._cid(codec, block)
        self.blocks[str(cid)] = block
        return Node(cid, block, file_size, len(block) + under)

    def _leaf(self, chunk: bytes) -> Node:
        if self.raw_leaves:
            return self._keep("raw", chunk, len(chunk))
        unixfs = _uint(1, UNIXFS_FILE) + (_field(2, chunk) if chunk else b"") + _uint(3, len(chunk))
        return self._keep("dag-pb", _field(1, unixfs), len(chunk))

    def _parent(self, children: list[Node]) -> Node:
        size = sum(c.file_size for c in children)
        unixfs = _uint(1, UNIXFS_FILE) + _uint(3, size) + b"".join(_uint(4, c.file_size) for c in children)
        links = b"".join(_field(2, _field(1, bytes(c.cid)) + _field(2, b"") + _uint(3, c.tree_size)) for c in children)
        return self._keep("dag-pb", links + _field(1, unixfs), size, sum(c.tree_size for c in children))


def cid_of(data: bytes, cid_version: int = 0, raw_leaves: bool | None = None) -> str:
    """The CID ``ipfs add`` gives ``data`` with these options (kubo's defaults otherwise)."""
    return Importer(cid_version, raw_leaves).add(data)


def matches(data: bytes, cid: str) -> bool:
    """Whether ``data`` is the file ``cid`` names, under kubo's default layout for that CID's
    version (v0: dag-pb leaves; v1: raw leaves, then dag-pb leaves)."""
    try:
        parsed = CID.decode(cid)
    except (ValueError, KeyError):
        return False
    if parsed.version == 0:
        return cid_of(data, 0) == str(parsed)
    wanted = str(parsed.set(base="base32"))
    if any(cid_of(data, 1, raw) == wanted for raw in (True, False)):
        return True
    # the v0 tree's root named by a v1 CID (what tools that convert v0 CIDs give)
    return str(CID.decode(cid_of(data, 0)).set(version=1, base="base32")) == wanted
