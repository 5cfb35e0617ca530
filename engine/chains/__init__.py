"""Chains: what the engine knows of block heights (watchers come in later issues)."""

from engine.chains.heights import Heights

__all__ = ["Heights"]
