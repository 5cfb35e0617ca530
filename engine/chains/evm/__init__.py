"""EVM chains: JSON-RPC with failover, a local anvil devnet, the demo contracts' artifacts."""

from engine.chains.evm._anvil import DEV_KEYS, Anvil, find_anvil
from engine.chains.evm._chain import EvmChain
from engine.chains.evm._rpc import Endpoint, EvmRpc, decode_revert, to_bytes, to_int

__all__ = ["DEV_KEYS", "Anvil", "Endpoint", "EvmChain", "EvmRpc", "decode_revert", "find_anvil",
           "to_bytes", "to_int"]
