"""The engine's one error hierarchy.

::

    EngineError
     ├── ConfigError            invalid config.toml / env override (lists every key and reason)
     ├── EngineLocked           another engine holds the data dir
     ├── UnsafeDataDir          the data dir is another user's or writable by others
     ├── StoreError             the durable store failed (disk, lock, I/O)
     │    └── DatabaseUnusable  corrupt, foreign or too-new database file
     ├── Rejected               a request the engine's rules refuse: code, message, details
     │    ├── Invalid           a value breaks a rule (``details["field"]`` names it)
     │    │    ├── UnknownKind
     │    │    └── InvalidPayload
     │    ├── NotFound          no such thing
     │    │    ├── JobNotFound
     │    │    └── PoolNotFound
     │    └── Conflict          the thing exists but its state does not allow the request
     │         ├── InvalidTransition
     │         └── IdempotencyConflict
     ├── JobFailure             raised by a job handler: the attempt failed
     │    └── PermanentFailure  …and retrying cannot help
     ├── WaitForChain           raised by a job handler: not yet — wait until a chain reaches a height
     └── ChainError             talking to a chain
          ├── RpcUnavailable    no endpoint answered (after failover and retries)
          ├── BadAnswer         an endpoint answered something malformed or inconsistent
          ├── RpcError          the node answered with a JSON-RPC error (code, message, data)
          │    └── Reverted     a call or estimate reverted (decoded reason in ``reason``)
          └── WrongChain        the endpoint serves another chain id than configured

Domain errors carry no transport: the control API's one mapping table
(:mod:`engine.api._errors`) turns them into HTTP statuses. Third-party errors are translated
where they cross into engine code, with ``raise … from``.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class ConfigError(EngineError):
    """The configuration is invalid. ``problems`` holds ``(key, reason)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {key}: {reason}" for key, reason in problems)
        super().__init__(f"invalid {source}:\n{lines}")


class EngineLocked(EngineError):
    """Another engine process already owns this data directory."""


class UnsafeDataDir(EngineError):
    """The data dir (or a file in it) could let another local user read or redirect the engine's
    data; the message says how to fix it."""


class StoreError(EngineError):
    """The durable store failed an operation (disk full, locked, I/O error)."""


class DatabaseUnusable(StoreError):
    """The database file cannot be used (corrupt, not ours, or from a newer version)."""


class Rejected(EngineError):
    """A request the engine's rules refuse. ``code`` is stable and machine-readable, ``message``
    names what is wrong for a person, ``details`` carries the specifics (``field``, ``id`` …)."""

    code = "rejected"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class Invalid(Rejected):
    """A value in the request breaks a rule; ``details["field"]`` names it."""

    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        extra = {} if field is None else {"field": field}
        super().__init__(message, code=code, details={**extra, **(details or {})})


class UnknownKind(Invalid):
    code = "unknown_kind"


class InvalidPayload(Invalid):
    code = "invalid_payload"


class NotFound(Rejected):
    code = "not_found"


class JobNotFound(NotFound):
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}", details={"id": job_id})


class PoolNotFound(NotFound):
    code = "unknown_pool"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no pool named {name!r}; pools: {', '.join(known)}", details={"pool": name})


class Conflict(Rejected):
    """The target exists, but its state does not allow the request."""

    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_state"

    def __init__(self, job_id: str, state: str, action: str) -> None:
        self.job_id, self.state, self.action = job_id, state, action
        super().__init__(f"cannot {action} job {job_id}: it is {state}", details={"id": job_id, "state": state})


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"

    def __init__(self, key: str, job_id: str) -> None:
        self.key, self.job_id = key, job_id
        super().__init__(
            f"idempotency key {key!r} already belongs to job {job_id} with a different kind or payload",
            details={"id": job_id, "key": key},
        )


class JobFailure(EngineError):
    """Raised by a job handler when an attempt fails and may be retried."""

    retryable = True

    def __init__(self, message: str, *, code: str = "failed", details: dict[str, Any] | None = None):
        self.code, self.message, self.details = code, message, details
        super().__init__(message)


class PermanentFailure(JobFailure):
    """Raised by a job handler when retrying cannot help: the job fails at once."""

    retryable = False


class EstopActive(JobFailure):
    """The emergency stop is engaged: a chain's sender sends nothing new (what it already sent
    is still followed). Retried once the stop is released."""


class WaitForChain(EngineError):
    """Raised by a job handler whose gate is not met: the job goes back to ``waiting`` (the
    attempt not counted) until ``chain`` reaches ``height``, then runs again."""

    def __init__(self, chain: str, height: int, start: int, info: dict[str, Any],
                 difficulty_range: int | None = None) -> None:
        self.chain, self.height, self.start, self.info = chain, height, start, info
        self.difficulty_range = difficulty_range  # a Structs proof: waiting_info shows the difficulty now
        super().__init__(f"waiting for {chain} to reach height {height}")


class ChainError(EngineError):
    """Talking to a chain failed."""


class RpcUnavailable(ChainError):
    """No endpoint of the chain answered, after failover and retries."""


class BadAnswer(ChainError):
    """An endpoint answered with something malformed or inconsistent (a lying node)."""


class RpcError(ChainError):
    """The node answered a request with a JSON-RPC error."""

    def __init__(self, message: str, *, code: int = 0, data: Any = None, method: str = "") -> None:
        super().__init__(message)
        self.code, self.data, self.method = code, data, method


class Reverted(RpcError):
    """A call, estimate or transaction reverted; ``reason`` is the decoded revert reason."""

    def __init__(self, reason: str, *, code: int = 3, data: Any = None, method: str = "") -> None:
        super().__init__(f"execution reverted: {reason}" if reason else "execution reverted", code=code,
                         data=data, method=method)
        self.reason = reason


class WrongChain(ChainError):
    """The endpoint serves a different chain id than the one configured."""
