"""Solana: the CloudMesh program's interface (and, next, the chain adapter and its sender)."""

from engine.chains.solana import _cloudmesh as cloudmesh

__all__ = ["cloudmesh"]
