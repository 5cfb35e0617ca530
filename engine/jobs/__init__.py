"""Job kinds and their handlers."""

from engine.jobs._registry import Kind, Registry, payload_error


def default_registry() -> Registry:
    """Every kind this engine ships."""
    from engine.jobs import builtin, evm, pow

    return Registry([*builtin.KINDS, *pow.KINDS, *evm.KINDS])


__all__ = ["Kind", "Registry", "default_registry", "payload_error"]
