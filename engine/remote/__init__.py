"""The trusted compute pool: the signed protocol between the coordinator and its workers, the
worker agent (``shiftboss worker run``) and its sandbox."""

from engine.remote._protocol import ProtocolError, generate_key, load_key, worker_id

__all__ = ["ProtocolError", "generate_key", "load_key", "worker_id"]
