"""The shape every chain adapter has (EVM today; Stellar/Soroban, Solana and CometBFT next).

An adapter is one ``[chains.<name>]`` of config.toml, run by the supervisor as a service:

* ``run(*, task_status)`` connects (checking the chain id, where the chain has one), reports
  ready, then runs its **head watcher** and its signers' senders until cancelled. A chain that
  does not answer does not stop the engine: the adapter shows the error and keeps trying.
* The head watcher feeds the one :class:`~engine.chains.heights.Heights` book with every new
  head (``heights.observe``) — which publishes ``chain.head``, persists the height, and moves on
  jobs gated on it (``pow.structs`` can wait on any watched chain) — and reports reorgs with
  ``heights.reorg`` (``chain.reorg``).
* ``status()`` is what ``/v1/chains`` shows of it.
* Its transaction sender(s) keep the guarantees of the EVM one: one transaction per intent,
  persisted signed before it is sent, reconciled with the chain, nothing new during an e-stop.
* ``aclose()`` releases its connections (called shielded at shutdown).

A new chain kind is a new folder under ``engine/chains/`` with one class of this shape, one
settings model in :mod:`engine.config`, and one field in :class:`engine.jobs.Services`.
"""

from __future__ import annotations

from typing import NoReturn, Protocol

import trio

from engine.schema import Chain


class ChainAdapter(Protocol):
    #: the ``[chains.<name>]`` it serves (``manual`` for the hand-set heights)
    name: str
    #: ``evm``, ``soroban``, ``solana``, ``cometbft``, ``manual``
    kind: str

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn: ...

    async def status(self) -> list[Chain]:
        """What ``/v1/chains`` shows of this adapter: one entry per chain it follows."""
        ...

    async def aclose(self) -> None: ...
