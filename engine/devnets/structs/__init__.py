"""A local Structs chain (CometBFT RPC + Cosmos REST) for tests and the demo; see :mod:`.chain`."""

from engine.devnets.structs.chain import CHAIN_ID, PREFIX, StructsChain
from engine.devnets.structs.server import StructsDevnet

__all__ = ["CHAIN_ID", "PREFIX", "StructsChain", "StructsDevnet"]
