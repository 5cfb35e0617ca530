"""What a job handler gets: identity, progress reporting, the stop flag and its lease."""

from __future__ import annotations

import threading
from typing import Any

from engine.jobs._services import Services


class JobContext:
    """Handed to every handler call.

    * ``progress(**fields)`` records kind-specific progress (hashes, best score, waiting_info);
      it is cheap to call often — the scheduler persists and publishes it about once a second.
    * ``stop_requested`` is a :class:`threading.Event` set when the attempt must stop (cancel,
      e-stop, shutdown, deadline). Trio code is cancelled normally; code running in threads
      (PoW kernels) must check this flag between batches.
    * ``lease_until`` is when the job's lease ends unless renewed; the scheduler renews the
      leases of all live jobs every third of ``store.lease_ttl``.
    * ``services`` is what the engine lends handlers (:class:`Services`): typed fields, one per
      service — PoW runtimes by pool, the heights book, chains by name, job submission.
    """

    __slots__ = ("job_id", "kind", "pool", "priority", "attempt", "max_attempts", "deadline", "lease_until",
                 "services", "_stop", "_stopped", "_progress", "_dirty", "stop_reason")

    def __init__(self, job_id: str, kind: str, pool: str, attempt: int, max_attempts: int,
                 deadline: float | None, lease_until: float, *, services: Services, priority: int = 5) -> None:
        self.job_id = job_id
        self.priority = priority
        self.services = services
        self.kind = kind
        self.pool = pool
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.lease_until = lease_until
        self._stop: threading.Event | None = None  # made on first use: most handlers never need it
        self._stopped = False
        self.stop_reason: str | None = None  # why the attempt is being stopped: cancel | estop | shutdown | …
        self._progress: dict[str, Any] = {}
        self._dirty = False

    @property
    def stop_requested(self) -> threading.Event:
        if self._stop is None:
            self._stop = threading.Event()
            if self._stopped:
                self._stop.set()
        return self._stop

    def request_stop(self) -> None:
        """Set the stop flag (scheduler side)."""
        self._stopped = True
        if self._stop is not None:
            self._stop.set()

    def progress(self, **fields: Any) -> None:
        """Merge ``fields`` into this job's progress."""
        self._progress.update(fields)
        self._dirty = True

    def take_progress(self) -> dict[str, Any] | None:
        """The progress if it changed since the last call (used by the flusher)."""
        if not self._dirty:
            return None
        self._dirty = False
        return dict(self._progress)
