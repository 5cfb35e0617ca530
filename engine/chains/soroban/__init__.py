"""Stellar/Soroban: the Soroban RPC client and the chain adapter."""

from engine.chains.soroban._chain import SorobanChain
from engine.chains.soroban._rpc import ContractFailed, SorobanRpc

__all__ = ["ContractFailed", "SorobanChain", "SorobanRpc"]
