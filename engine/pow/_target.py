"""What the PoW kernels are compiled for: the host CPU, with 512-bit vectors where it has AVX-512.

LLVM's tuning for Intel's AVX-512 CPUs (skylake-avx512 … rocketlake, sapphirerapids) sets
``prefer-256-bit``: the 16-lane loops of our kernels are then split into pairs of ymm registers.
Measured on an Intel Xeon (rocketlake), same commit: KALE +19 %, Structs +39 %, Hashcash +80 %
with ``-prefer-256-bit``; on this project's AMD machine (znver4, whose tuning does not set it) the
flag changes nothing. So wherever the CPU has AVX-512 the kernels are compiled with
``-prefer-256-bit``, unless ``SHIFTBOSS_POW_VECTORS=256`` asks otherwise (``shiftboss bench pow``
measures both). A ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` the operator set is left alone.

The setting must be in place before Numba builds its CPU target, so the kernel modules call
:func:`configure` before they import numba. Numba's cache key holds the CPU name and features,
so kernels compiled one way are never loaded the other way.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

ENV = "SHIFTBOSS_POW_VECTORS"
CHOICES = ("auto", "512", "256")


@dataclass(frozen=True)
class Target:
    cpu: str  # LLVM's name for the CPU the kernels are compiled for
    vector_bits: int  # the widest vectors the kernels' 16-lane loops use
    features: tuple[str, ...]  # the CPU features that matter here
    source: str  # who decided: "auto", SHIFTBOSS_POW_VECTORS or NUMBA_CPU_*

    def describe(self) -> str:
        return f"{self.cpu}, {self.vector_bits}-bit vectors ({', '.join(self.features) or 'no SIMD'}; {self.source})"


_chosen: Target | None = None
_RELEVANT = ("avx512f", "avx512vl", "avx512bw", "avx2", "sse4.2", "sha")


def configure() -> Target:
    """Decide once per process, before any kernel compiles (idempotent)."""
    global _chosen
    if _chosen is not None:
        return _chosen
    import llvmlite.binding as llvm

    want = os.environ.get(ENV, "auto").strip() or "auto"
    if want not in CHOICES:
        raise ValueError(f"{ENV}={want!r}: expected one of {', '.join(CHOICES)}")
    cpu = os.environ.get("NUMBA_CPU_NAME") or llvm.get_host_cpu_name()
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        flags = os.environ.get("NUMBA_CPU_FEATURES") or ""
        if os.environ.get("NUMBA_CPU_NAME") and not flags:
            have = set(_NAMED.get(cpu, ()))
        else:
            have = {f[1:] for f in flags.split(",") if f.startswith("+")} if flags else _host(llvm)
        prefer_256 = "-prefer-256-bit" not in flags
        source = "NUMBA_CPU_NAME/NUMBA_CPU_FEATURES"
    else:
        have = _host(llvm)
        prefer_256 = want == "256"
        source = "auto" if want == "auto" else f"{ENV}={want}"
        if "avx512f" in have and not prefer_256:
            os.environ["NUMBA_CPU_FEATURES"] = llvm.get_host_cpu_features().flatten() + ",-prefer-256-bit"
    if "numba.core.config" in sys.modules:  # imported already: make it read the setting
        sys.modules["numba.core.config"].reload_config()
    bits = 512 if "avx512f" in have and not prefer_256 else 256 if "avx2" in have or "avx512f" in have else 128
    _chosen = Target(cpu, bits, tuple(f for f in _RELEVANT if f in have), source)
    return _chosen


def _host(llvm: object) -> set[str]:
    features = llvm.get_host_cpu_features()  # type: ignore[attr-defined]
    return {name for name, on in features.items() if on}


_NAMED = {"haswell": ("avx2", "sse4.2"), "broadwell": ("avx2", "sse4.2"), "skylake": ("avx2", "sse4.2"),
          "znver2": ("avx2", "sse4.2", "sha"), "znver3": ("avx2", "sse4.2", "sha")}
"""Features of the CPU names an operator may set in NUMBA_CPU_NAME to build for another machine."""
