"""The local Structs chain with one player, and engine settings that follow it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from cosmpy.crypto.keypairs import PrivateKey

from engine.chains.cometbft import tx as codec
from engine.config import Settings
from engine.devnets.structs import PREFIX, StructsDevnet
from engine.pow.structs import difficulty, message_prefix
from tests.conftest import make_settings


@dataclass
class Player:
    key: PrivateKey
    key_file: Path
    address: str
    player_id: str


@dataclass
class Local:
    node: StructsDevnet
    rpc: str
    rest: str
    alice: Player

    def settings(self, data_dir: Path, **more: Any) -> Settings:
        return make_settings(data_dir, **{
            "chains.structs.kind": "cometbft", "chains.structs.rpc": [self.rpc], "chains.structs.rest": [self.rest],
            "chains.structs.chain_id": "structstestnet-111", "chains.structs.poll_interval": 0.1,
            "chains.structs.keys": {"alice": str(self.alice.key_file)}, **more})

    def player(self, tmp: Path, name: str) -> Player:
        path = tmp / f"{name}.key"
        key = codec.create_key(path)
        address = codec.address(key.public_key, PREFIX)
        return Player(key, path, address, self.node.chain.add_player(address))


def solve(action: str, object_id: str, block_start: int, zeros: int) -> tuple[str, str]:
    """A (proof, nonce) with ``zeros`` leading zero hex digits, by hashlib."""
    prefix = message_prefix(action, object_id, block_start)
    nonce = 0
    while True:
        proof = hashlib.sha256(f"{prefix}{nonce}".encode()).hexdigest()
        if proof.startswith("0" * zeros):
            return proof, str(nonce)
        nonce += 1


def age_for(zeros: int, difficulty_range: int) -> int:
    """The first age at which ``zeros`` digits are enough."""
    age = 2
    while difficulty(age, difficulty_range) > zeros:
        age += 1
    return age


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[Local]:
    node = StructsDevnet(block_seconds=0.1)
    async with trio.open_nursery() as nursery:
        rpc, rest = await nursery.start(node.run)
        key_file = tmp_path / "alice.key"
        key = codec.create_key(key_file)
        address = codec.address(key.public_key, PREFIX)
        yield Local(node, rpc, rest, Player(key, key_file, address, node.chain.add_player(address)))
        nursery.cancel_scope.cancel()
