"""What the engine lends job handlers: one typed field per service.

A new chain kind adds one field here (``soroban``, ``solana``, ``cometbft`` …) and its adapters
are put in it by the supervisor; handlers read the field, never look a service up by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from engine.chains import Heights
from engine.chains.cometbft import CometChain
from engine.chains.evm import EvmChain
from engine.chains.solana import SolanaChain
from engine.chains.soroban import KaleFarm, SorobanChain
from engine.errors import PermanentFailure
from engine.jobs._cloudmesh import CloudMesh
from engine.jobs._submit import Submitter
from engine.pow.runtime import PowRuntime
from engine.remote._coordinator import RemotePool

T = TypeVar("T")


@dataclass(slots=True)
class Services:
    """Handed to every handler as ``ctx.services``."""

    #: the one heights book: every chain's head, fed by the chain adapters' watchers (and by hand)
    heights: Heights
    #: queue more jobs (idempotency keys make a repeated scan harmless)
    submit: Submitter
    #: hashing threads of each PoW pool, by pool name
    pow: dict[str, PowRuntime] = field(default_factory=dict)
    #: EVM chain adapters by their ``[chains.<name>]``
    evm: dict[str, EvmChain] = field(default_factory=dict)
    #: Soroban (Stellar) chain adapters by their ``[chains.<name>]``
    soroban: dict[str, SorobanChain] = field(default_factory=dict)
    #: Solana chain adapters by their ``[chains.<name>]``
    solana: dict[str, SolanaChain] = field(default_factory=dict)
    #: CometBFT (Cosmos SDK) chain adapters by their ``[chains.<name>]`` — the Structs chain
    cometbft: dict[str, CometChain] = field(default_factory=dict)
    #: the CloudMesh worker of ``[cloudmesh]``, if configured
    cloudmesh: CloudMesh | None = None
    #: the KALE farm of ``[kale]``, if configured
    kale: KaleFarm | None = None
    #: trusted pools (``remote = true``) by pool name: their allowlisted workers
    remote: dict[str, RemotePool] = field(default_factory=dict)

    def pow_runtime(self, pool: str) -> PowRuntime:
        """The hashing threads of ``pool``; a pool without them fails the job for good."""
        runtime = self.pow.get(pool)
        if runtime is None:
            raise PermanentFailure(f"pool {pool} has no hashing threads", code="no_pow_threads")
        return runtime

    def evm_chain(self, name: str) -> EvmChain:
        """The EVM chain ``name``; an unknown one fails the job for good."""
        return _chain(self.evm, name, "evm")

    def cometbft_chain(self, name: str) -> CometChain:
        """The CometBFT chain ``name``; an unknown one fails the job for good."""
        return _chain(self.cometbft, name, "cometbft")


def _chain(chains: dict[str, T], name: str, kind: str) -> T:
    chain = chains.get(name)
    if chain is None:
        raise PermanentFailure(f"no chain {name!r} with kind = \"{kind}\" is configured "
                               f"(those: {', '.join(sorted(chains)) or 'none'})", code="unknown_chain")
    return chain
