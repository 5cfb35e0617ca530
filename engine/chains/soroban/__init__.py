"""Stellar/Soroban: the Soroban RPC client, the chain adapter with its transaction sender, and
the KALE farm service."""

from engine.chains.soroban._chain import SorobanChain
from engine.chains.soroban._farm import KaleFarm
from engine.chains.soroban._rpc import ContractFailed, SorobanRpc

__all__ = ["ContractFailed", "KaleFarm", "SorobanChain", "SorobanRpc"]
