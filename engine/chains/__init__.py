"""Chains: the adapter shape every chain follows, the one heights book they feed, and the
manual height source. Each chain kind lives in its own folder (``evm/`` …)."""

from engine.chains._adapter import ChainAdapter
from engine.chains.heights import Heights
from engine.chains.manual import ManualHeights

__all__ = ["ChainAdapter", "Heights", "ManualHeights"]
