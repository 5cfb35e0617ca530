"""The local Solana node: Solana's JSON-RPC over LiteSVM running the CloudMesh program."""

from engine.devnets.solana.node import PROGRAMS, SolanaDevnet

__all__ = ["PROGRAMS", "SolanaDevnet"]
