"""Specialised builds of the counter kernel (Structs SHA-256, Hashcash SHA-1).

The generic kernel does not know which message words hold a counter's four low digits, so every
lane recomputes every word, round and schedule word. A build for one (algorithm, word the digits
start in, spill into the next word) — ``WA``/``SPILL`` as compile-time literals — lets LLVM keep
the other 14 or 15 words scalar and hoist what depends on them alone out of the lane loop: the
rounds before word WA and the schedule words that never see it (measured +15 % on the lane loop
for the Structs bench message). A job's prefix and counter length decide its build.

Hashing never waits for a compile: a build that is not loaded yet is compiled into Numba's disk
cache by a child process (``python -m engine.pow._build``, niced: a compile in this process
would hold the GIL for seconds at a time and starve the hashing threads — measured 1.8 MH/s
instead of 60) while the generic kernel hashes; then this process loads it from the cache in
well under a second. ``SHIFTBOSS_POW_SPECIALISE=0`` turns this off (the generic kernel only).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("shiftboss.pow")

Key = tuple[int, int, int]  # (algorithm, WA, SPILL)
Entry = Callable[..., Any]


def enabled() -> bool:
    return os.environ.get("SHIFTBOSS_POW_SPECIALISE", "1").strip() not in ("0", "false", "no")


class Variants:
    def __init__(self) -> None:
        self._ready: dict[Key, Entry] = {}
        self._pending: set[Key] = set()
        self._failed: set[Key] = set()
        self._lock = threading.Lock()

    def entry(self, key: Key, args: tuple[Any, ...], prefix: bytes = b"") -> Entry | None:
        """The build for ``key`` if it is loaded; otherwise start building it and return None.
        ``args``: a call's arguments (without WA, SPILL), for the build's signature; ``prefix``:
        the work's, for the child process that compiles it."""
        ready = self._ready.get(key)
        if ready is not None or not enabled():
            return ready
        with self._lock:
            if key in self._pending or key in self._failed:
                return None
            self._pending.add(key)
        threading.Thread(target=self._load, args=(key, args, prefix), name=f"pow-build-{key}", daemon=True).start()
        return None

    def load_now(self, key: Key, args: tuple[Any, ...]) -> Entry:
        """Compile (or load from the cache) the build for ``key`` now."""
        import numba
        from numba import types

        from engine.pow import _counter_kernel

        algo, *rest = (numba.typeof(a) for a in args)  # the algorithm a literal too: one hash's code only
        signature = (types.literal(key[0]), *rest, types.literal(key[1]), types.literal(key[2]))
        entry: Entry = _counter_kernel.search.compile(signature)
        self._ready[key] = entry
        return entry

    def _load(self, key: Key, args: tuple[Any, ...], prefix: bytes) -> None:
        try:
            began = time.monotonic()
            child = subprocess.run([sys.executable, "-m", "engine.pow._build", str(key[0]), prefix.hex(),
                                    str(int(args[4]))], capture_output=True, text=True, timeout=600)
            if child.returncode != 0:
                raise RuntimeError(child.stderr.strip()[-500:] or f"exit status {child.returncode}")
            self.load_now(key, args)  # from the cache the child wrote
            log.info("PoW kernel build %s ready (%.1f s)", key, time.monotonic() - began)
        except Exception:  # the generic kernel keeps hashing
            log.exception("PoW kernel build %s failed; the generic kernel keeps hashing", key)
            self._failed.add(key)
        finally:
            with self._lock:
                self._pending.discard(key)


VARIANTS = Variants()
