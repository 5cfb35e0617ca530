"""Solana: the chain adapter, its transaction sender, and the CloudMesh program's interface."""

from engine.chains.solana import _cloudmesh as cloudmesh
from engine.chains.solana._chain import SolanaChain
from engine.chains.solana._rpc import PreflightFailed, SolanaRpc
from engine.chains.solana._txs import SolanaTxs, TxFailed

__all__ = ["PreflightFailed", "SolanaChain", "SolanaRpc", "SolanaTxs", "TxFailed", "cloudmesh"]
