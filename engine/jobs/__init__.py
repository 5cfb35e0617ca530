"""The job contract and the kinds this engine ships.

A kind is a payload schema (a msgspec Struct) plus an async handler that receives a
:class:`JobContext` (identity, progress, the stop flag, typed :class:`Services`). The scheduler
runs handlers; this package never imports the scheduler.
"""

from engine.jobs import builtin, cloudmesh, compute, evm, kale, pow, structs
from engine.jobs._context import JobContext
from engine.jobs._registry import Kind, Registry, payload_error
from engine.jobs._services import Services, Submitter


def default_registry() -> Registry:
    """Every kind this engine ships."""
    return Registry([*builtin.KINDS, *pow.KINDS, *structs.KINDS, *evm.KINDS, *kale.KINDS, *compute.KINDS, *cloudmesh.KINDS])


__all__ = ["JobContext", "Kind", "Registry", "Services", "Submitter", "default_registry", "payload_error"]
