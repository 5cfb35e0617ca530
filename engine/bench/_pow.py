"""``shiftboss bench pow``: our PoW kernels beside C references and Python, plus e-stop latency
and event-loop lag of a real engine while every thread hashes — all measured in one run.

C references are compiled here from ``benchmarks/`` with ``cc -O3 -march=native``: the
project's own (a scalar one, and a SIMD one: 8 or 16 nonces in lockstep, GCC vector extensions,
running the same unrolled rounds our generators write, algorithm for algorithm), and the
hand-written AVX-512 intrinsics miners of ``benchmarks/intrinsics/`` — the fastest C there is
here, and the yardstick of the KALE and Structs targets. ``--avx2`` measures everything as an
AVX2-only machine would run it: our kernels compiled for ``haswell``, the C with
``-march=haswell``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import trio

from engine.output import emit_json, percentiles

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
KALE_TARGET_VS_INTRINSICS = 0.95  # docs/design.md §7
STRUCTS_TARGET_VS_INTRINSICS = 0.8
HASHCASH_TARGET_VS_SIMD = 0.8
HASWELL_FEATURES = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+pclmul,"
                    "+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f,-avx512vl,-avx512bw,"
                    "-avx512dq,-avx512cd,-sha")
_march = "native"  # "haswell" under --avx2
STRUCTS_TARGET_VS_OPENSSL = 2.0
STRUCTS_PREFIX = b"5-42BUILD1000NONCE"
STRUCTS_START = 10**9  # 10-digit nonces: a one-block message, as in the C references
SCALING_TARGET = 0.9
ESTOP_P99_TARGET_MS = 100.0
LAG_P99_TARGET_MS = 20.0


@click.command("pow")
@click.option("--seconds", type=click.FloatRange(0.5, 60), default=2.0, show_default=True,
              help="Seconds per hashrate measurement.")
@click.option("--estops", type=click.IntRange(5, 1000), default=30, show_default=True,
              help="E-stops to time for the latency figure.")
@click.option("--avx2", is_flag=True, help="Measure as an AVX2-only CPU would run: kernels compiled for haswell "
              "(NUMBA_CPU_NAME/NUMBA_CPU_FEATURES), C with -march=haswell. The first run compiles the kernels (~1 min).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure and its baseline.")
def bench_pow(seconds: float, estops: int, avx2: bool, as_json: bool) -> None:
    """PoW hash rates (1 thread, all threads) beside the fastest C here and Python; e-stop
    latency and event-loop lag while every thread hashes. Prints what the kernels were
    compiled for (CPU, vector width)."""
    global _march
    say = (lambda msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    if avx2:
        os.environ.update(NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL_FEATURES)
        _march = "haswell"
    from engine.pow._target import configure
    from engine.pow.kale import KaleWork

    target = configure()
    say(f"kernels compiled for {target.describe()}")

    work = KaleWork(0, bytes(32), bytes(31) + b"\x04")  # the job the C references hash
    say("loading the KALE kernel …")
    work.search(0, 8, 64)
    result: dict[str, Any] = {"cpu_threads": os.cpu_count(), "cpu_model": _cpu_model(), "march": _march,
                              "target": {"cpu": target.cpu, "vector_bits": target.vector_bits,
                                         "features": list(target.features), "source": target.source},
                              "kale": {}, "structs": {}, "hashcash": {}}
    kale = result["kale"]
    say(f"ours, 1 thread, {seconds:g} s …")
    kale["ours_1_thread"] = _rate_1_thread(work, seconds)
    with tempfile.TemporaryDirectory(prefix="shiftboss-bench-pow-") as tmp:
        say(f"C references: compiling with cc -O3 -march={_march} …")
        kale["c_scalar"], kale["c_simd"] = _c_references(Path(tmp), seconds, work)
        say("intrinsics references (benchmarks/intrinsics): verify, then every SIMD implementation …")
        intrinsics = _intrinsics(Path(tmp), seconds)
        kale["c_intrinsics"] = intrinsics["kale"]
        say(f"python (pycryptodome Keccak) loop, {seconds:g} s …")
        kale["python_pycryptodome"] = _python_rate(work, seconds)
        say("Structs SHA-256: ours, C references, OpenSSL, hashlib …")
        result["structs"] = _structs_figures(Path(tmp), seconds)
        result["structs"]["c_intrinsics"] = intrinsics["sha256"]
        fastest = intrinsics["sha256"].get("hashes_per_s")
        result["structs"]["ratios"]["ours_vs_c_intrinsics_per_thread"] = (
            round(result["structs"]["ours_1_thread"]["hashes_per_s"] / fastest, 2) if fastest else None)
        say("Hashcash SHA-1: ours, hashlib …")
        result["hashcash"] = _hashcash_figures(Path(tmp), seconds)
        say(f"engine: all threads, e-stop ×{estops}, loop lag …")
        engine_figures = trio.run(_engine_figures, Path(tmp) / "engine", seconds, estops)
    kale["ours_all_threads"] = engine_figures.pop("all_threads")
    kale["ours_cuda"] = _cuda_rate(work, seconds)
    result.update(engine_figures)
    simd = kale["c_simd"].get("hashes_per_s")
    one = kale["ours_1_thread"]["hashes_per_s"]
    threads = result["threads"]
    fastest = kale["c_intrinsics"].get("hashes_per_s")
    result["ratios"] = {
        "ours_vs_c_intrinsics_per_thread": round(one / fastest, 2) if fastest else None,
        "ours_vs_c_simd_per_thread": round(one / simd, 2) if simd else None,
        "ours_vs_c_scalar": round(one / kale["c_scalar"]["hashes_per_s"], 2) if kale["c_scalar"].get("hashes_per_s") else None,
        "ours_vs_python": round(one / kale["python_pycryptodome"]["hashes_per_s"], 1),
        "scaling": round(kale["ours_all_threads"]["hashes_per_s"] / (one * threads), 2),
    }
    result["targets"] = {"kale_vs_c_intrinsics_per_thread": KALE_TARGET_VS_INTRINSICS, "scaling": SCALING_TARGET,
                         "structs_vs_c_intrinsics_per_thread": STRUCTS_TARGET_VS_INTRINSICS,
                         "structs_vs_openssl": STRUCTS_TARGET_VS_OPENSSL,
                         "hashcash_vs_c_simd_per_thread": HASHCASH_TARGET_VS_SIMD,
                         "estop_p99_ms": ESTOP_P99_TARGET_MS, "loop_lag_p99_ms": LAG_P99_TARGET_MS}
    r, sr, hr = result["ratios"], result["structs"]["ratios"], result["hashcash"]["ratios"]
    result["met"] = met = {
        "kale": (r["ours_vs_c_intrinsics_per_thread"] or 0) >= KALE_TARGET_VS_INTRINSICS,
        "structs": (sr["ours_vs_c_intrinsics_per_thread"] or 0) >= STRUCTS_TARGET_VS_INTRINSICS
        and (sr["ours_vs_openssl"] or 0) >= STRUCTS_TARGET_VS_OPENSSL,
        "hashcash": (hr["ours_vs_c_simd_per_thread"] or 0) >= HASHCASH_TARGET_VS_SIMD,
        "scaling": min(r["scaling"], sr["scaling"], hr["scaling"]) >= SCALING_TARGET,
        "estop": result["estop_ms"]["p99"] <= ESTOP_P99_TARGET_MS,
        "loop_lag": result["loop_lag_ms"]["p99"] <= LAG_P99_TARGET_MS,
    }
    result["meets_targets"] = all(met.values())
    if as_json:
        emit_json(result)
    else:
        _print(result)


def _rate_1_thread(work: Any, seconds: float) -> dict[str, Any]:
    """The best of three runs of ``seconds``/3, as the intrinsics miners measure themselves."""
    best, start = 0.0, 0
    for _ in range(3):
        hashes, count = 0, 1 << 20
        began = time.perf_counter()
        while (elapsed := time.perf_counter() - began) < seconds / 3:
            hashes += work.search(start + hashes, count, 64).hashes
        start += hashes
        best = max(best, hashes / elapsed)
    return {"hashes_per_s": round(best)}


def _cuda_rate(work: Any, seconds: float) -> dict[str, Any]:
    """KALE on the CUDA device, when there is one (never under Numba's CUDA simulator)."""
    from engine.pow.runtime import cuda_available

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not cuda_available():
        return {"error": "no CUDA device"}
    work.search_cuda(0, 1 << 20, 64)  # compile
    hashes, count = 0, 1 << 26
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        hashes += work.search_cuda(hashes, count, 64).hashes
    return {"hashes_per_s": round(hashes / elapsed)}


def _c_references(tmp: Path, seconds: float, work: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build and run both KALE C references; check each against our kernel over the same nonces."""
    from engine.pow._codegen import generate_c

    (tmp / "kale_rounds.h").write_text(generate_c())

    def ours(start: int, count: int) -> Any:
        return work.search(start, count, 64)

    scalar = _run_c(tmp, "kale_ref.c", "kale_ref_1", ["-DLANES=1"], [], int(3e6 * seconds) // 8 * 8, 0, ours)
    simd = _run_c(tmp, "kale_ref.c", "kale_ref_8", ["-DLANES=8"], [], int(40e6 * seconds) // 8 * 8, 0, ours)
    return scalar, simd


def _structs_figures(tmp: Path, seconds: float) -> dict[str, Any]:
    """SHA-256 over STRUCTS_PREFIX ‖ nonce: ours on 1 and all threads (the kernel called from
    threads, as the PoW runtime does), C scalar and SIMD, OpenSSL (one-shot and low-level),
    hashlib; each C result checked against our kernel over the same nonces."""
    import hashlib

    from engine.pow._codegen_counter import STRUCTS, generate_c
    from engine.pow.structs import StructsWork

    work = StructsWork(STRUCTS_PREFIX)
    work.prepare(STRUCTS_START)  # the kernel build for this message (the engine loads it in the background)
    work.search(STRUCTS_START, 16, 64)
    out: dict[str, Any] = {"message": STRUCTS_PREFIX.decode() + "{nonce}"}
    rate = _rate_1_thread(_Offset(work, STRUCTS_START), seconds)
    out["ours_1_thread"] = rate
    out["ours_all_threads"] = _threads_rate(work, STRUCTS_START, seconds)
    threads = out["ours_all_threads"]["threads"]
    include = tmp / "sha256"
    include.mkdir()
    (include / "rounds.h").write_text(generate_c(STRUCTS))
    builds = {"c_scalar": (["-DLANES=1"], [], 5e6), "c_simd": (["-DLANES=16"], [], 70e6),
              "openssl_sha256": (["-DOPENSSL"], ["-lcrypto"], 4e6),
              "openssl_low_level": (["-DOPENSSL", "-DOPENSSL_CTX"], ["-lcrypto"], 20e6)}
    for name, (flags, libs, guess) in builds.items():
        out[name] = _run_c(tmp, "counter_ref.c", name, flags, libs, int(guess * seconds), STRUCTS_START,
                           lambda start, count: work.search(start, count, 64), include=include)
    hashes, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        for _ in range(1000):
            hashlib.sha256(STRUCTS_PREFIX + str(STRUCTS_START + hashes).encode()).digest()
            hashes += 1
    out["python_hashlib"] = {"hashes_per_s": round(hashes / elapsed)}
    one = out["ours_1_thread"]["hashes_per_s"]
    openssl = max(out[k].get("hashes_per_s", 0) for k in ("openssl_sha256", "openssl_low_level"))
    simd = out["c_simd"].get("hashes_per_s")
    out["ratios"] = {
        "ours_vs_c_simd_per_thread": round(one / simd, 2) if simd else None,
        "ours_vs_openssl": round(one / openssl, 2) if openssl else None,
        "ours_vs_python": round(one / out["python_hashlib"]["hashes_per_s"], 1),
        "scaling": round(out["ours_all_threads"]["hashes_per_s"] / (one * threads), 2),
    }
    return out


def _threads_rate(work: Any, base: int, seconds: float) -> dict[str, Any]:
    """Our kernel called from one thread per core, as the PoW runtime does."""
    import threading

    threads = os.cpu_count() or 1
    totals = [0] * threads

    def hash_for(i: int) -> None:
        hashes, start = 0, base + i * 10**8  # as many digits as at base: the same kernel build
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            hashes += work.search(start + hashes, 1 << 20, 1 << 20).hashes
        totals[i] = hashes

    began = time.perf_counter()
    pool = [threading.Thread(target=hash_for, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"hashes_per_s": round(sum(totals) / (time.perf_counter() - began)), "threads": threads}


def _hashcash_figures(tmp: Path, seconds: float) -> dict[str, Any]:
    import hashlib

    from engine.pow._codegen_counter import HASHCASH, generate_c
    from engine.pow.hashcash import HashcashWork

    prefix = b"1:20:040428:foo::0298b26853c8ebb3:"
    work = HashcashWork(prefix)
    work.prepare(2**40)
    work.search(0, 16, 64)
    out: dict[str, Any] = {"ours_1_thread": _rate_1_thread(_Offset(work, 2**40), seconds),
                           "ours_all_threads": _threads_rate(work, 2**40, seconds)}
    hashes, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        for _ in range(1000):
            hashlib.sha1(prefix + f"{2**40 + hashes:x}".encode()).digest()
            hashes += 1
    out["python_hashlib"] = {"hashes_per_s": round(hashes / elapsed)}
    include = tmp / "sha1"
    include.mkdir()
    (include / "rounds.h").write_text(generate_c(HASHCASH))
    for name, lanes, guess in (("c_scalar", 1, 8e6), ("c_simd", 16, 100e6)):
        out[name] = _run_c(tmp, "counter_ref.c", f"hashcash_{name}", ["-DHASHCASH", f"-DLANES={lanes}"], [],
                           int(guess * seconds), 2**40, lambda start, count: work.search(start, count, 1 << 20),
                           include=include)
    one = out["ours_1_thread"]["hashes_per_s"]
    simd = out["c_simd"].get("hashes_per_s")
    out["ratios"] = {"ours_vs_python": round(one / out["python_hashlib"]["hashes_per_s"], 1),
                     "ours_vs_c_simd_per_thread": round(one / simd, 2) if simd else None,
                     "scaling": round(out["ours_all_threads"]["hashes_per_s"] / (one * out["ours_all_threads"]["threads"]), 2)}
    return out


class _Offset:
    """A work whose nonces start at ``base`` (for the 1-thread rate loop)."""

    def __init__(self, work: Any, base: int) -> None:
        self.work, self.base = work, base

    def search(self, start: int, count: int, target: int) -> Any:
        return self.work.search(self.base + start, count, target)


def _run_c(tmp: Path, source: str, name: str, flags: list[str], libs: list[str], count: int, start: int,
           ours: Any, include: Path | None = None) -> dict[str, Any]:
    """Build ``benchmarks/<source>`` with ``cc -O3 -march=native``, hash ``count`` nonces from
    ``start``, and check its best nonce against ours over the same range."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return {"error": "no C compiler (cc) found"}
    binary = tmp / name
    build = subprocess.run([cc, "-O3", f"-march={_march}", *flags, f"-I{include or tmp}", "-o", str(binary),
                            str(BENCHMARKS / source), *libs], capture_output=True, text=True)
    if build.returncode != 0:
        return {"error": f"cc failed: {build.stderr.strip()[:300]}"}
    fields = dict(kv.split("=") for kv in subprocess.run(
        [str(binary), str(start), str(count)], capture_output=True, text=True, check=True).stdout.split())
    best = (int(fields["best_nonce"]), int(fields["best_zeros"]))
    mine = ours(start, count)
    return {"hashes_per_s": round(int(fields["hashes"]) / float(fields["seconds"])), "best_nonce": best[0],
            "best_zeros": best[1], "flags": " ".join(["-O3", f"-march={_march}", *flags, *libs]),
            "matches_ours": best == (mine.best_nonce, mine.best_zeros)}


INTRINSICS = {"kale": ("kale.c", [], ("avx512", "avx512row", "rowloop", "unrolled")),
              "sha256": ("sha.c", ["-lcrypto"], ("avx512", "shani", "plain"))}


def _intrinsics(tmp: Path, seconds: float) -> dict[str, dict[str, Any]]:
    """Build the intrinsics miners (``benchmarks/intrinsics``, see its README), run their own
    test vectors, then every SIMD implementation on one thread; the fastest is the yardstick."""
    cc = shutil.which("cc") or shutil.which("gcc")
    out: dict[str, dict[str, Any]] = {}
    src = tmp / "intrinsics"
    shutil.copytree(BENCHMARKS / "intrinsics", src)
    for name, (source, libs, impls) in INTRINSICS.items():
        if cc is None:
            out[name] = {"error": "no C compiler (cc) found"}
            continue
        binary = src / name
        flags = ["-O3", f"-march={_march}", "-pthread"]
        build = subprocess.run([cc, *flags, "-o", str(binary), str(src / source), *libs],
                               capture_output=True, text=True)
        if build.returncode != 0:
            out[name] = {"error": f"cc failed: {build.stderr.strip()[:300]}"}
            continue
        verified = subprocess.run([str(binary), "verify"], capture_output=True, text=True).returncode == 0
        rates = {}
        for impl in impls:
            run = subprocess.run([str(binary), "bench", impl, "1", f"{max(seconds / 3, 0.2):g}"],
                                 capture_output=True, text=True)
            fields = run.stdout.split("best=")
            if run.returncode == 0 and len(fields) == 2:
                rates[impl] = round(float(fields[1].split()[0]))
        best = max(rates, key=lambda k: rates[k]) if rates else None
        out[name] = {"hashes_per_s": rates[best], "fastest": best, "rates": rates, "verified": verified,
                     "flags": " ".join([*flags, *libs])} if best else {"error": "no implementation ran"}
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _python_rate(work: Any, seconds: float) -> dict[str, Any]:
    hashes = 0
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        for _ in range(1000):
            work.hash(hashes)
            hashes += 1
    return {"hashes_per_s": round(hashes / elapsed)}


async def _engine_figures(data_dir: Path, seconds: float, estops: int) -> dict[str, Any]:
    from engine.config import load_settings
    from engine.schema import JobSubmit
    from engine.store import Store
    from engine.supervisor import Supervisor

    settings = load_settings(None, overrides={"engine.data_dir": str(data_dir), "engine.log_level": "warning"},
                             environ={})
    store = Store.open(settings.db_path)
    engine = Supervisor(settings, store)
    runtime = engine.services.pow["pow"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        # all threads, with a lag probe on the event loop
        lags: list[float] = []
        payload = {"index": 0, "entropy": "00" * 32, "farmer": "00" * 31 + "04", "min_zeros": 1,
                   "mode": "best", "seconds": seconds}
        submitted = await engine.service.submit([JobSubmit(kind="pow.kale", payload=payload)], "bench", batch=False)
        job_id = submitted.jobs[0].id
        async with trio.open_nursery() as probe:
            probe.start_soon(_probe_lag, lags)
            await _poll_until(lambda: _finished(engine, job_id), 0.05)
            probe.cancel_scope.cancel()
        done = await _job(engine, job_id)
        all_threads = {"hashes_per_s": round(done.result["hashes"] / done.result["seconds"]),
                       "threads": runtime.threads}
        # e-stop latency: every thread hashing → e-stop → every thread idle
        latencies = []
        long_job = {"index": 0, "entropy": "00" * 32, "farmer": "00" * 31 + "05", "min_zeros": 16}
        await engine.service.submit([JobSubmit(kind="pow.kale", payload=long_job)], "bench", batch=False)
        for _ in range(estops):
            with trio.fail_after(30):
                await _poll_until(lambda: all(w.state == "hashing" for w in runtime.workers()), 0.002)
            await trio.sleep(0.03)  # land at a random point inside a batch
            began = trio.current_time()
            await engine.service.estop("bench", "latency")
            await _poll_until(runtime.idle, 0.0005)
            latencies.append((trio.current_time() - began) * 1000)
            await engine.service.resume("bench", "latency")
        engine.request_shutdown()
    return {"threads": runtime.threads, "all_threads": all_threads, "estop_ms": percentiles(latencies),
            "loop_lag_ms": percentiles(lags)}


async def _poll_until(predicate: Any, interval: float) -> None:
    """Watch state that other threads change (no event to wait on): check every ``interval``."""
    while True:
        value = predicate()
        if hasattr(value, "__await__"):
            value = await value
        if value:
            return
        await trio.sleep(interval)


async def _finished(engine: Any, job_id: str) -> bool:
    return (await _job(engine, job_id)).state in ("completed", "failed")


async def _job(engine: Any, job_id: str) -> Any:
    return (await engine.service.job_detail(job_id)).job


async def _probe_lag(lags: list[float], interval: float = 0.005) -> None:
    while True:
        planned = trio.current_time() + interval
        await trio.sleep(interval)
        lags.append(max(0.0, trio.current_time() - planned) * 1000)


def _print(r: dict[str, Any]) -> None:
    k, ratios = r["kale"], r["ratios"]

    def rate(d: dict[str, Any]) -> str:
        return f"{d['hashes_per_s'] / 1e6:,.2f} MH/s" if "hashes_per_s" in d else d.get("error", "?")

    s, sr = r["structs"], r["structs"]["ratios"]
    rows = [
        ("KALE, ours, 1 thread", rate(k["ours_1_thread"]), ""),
        (f"KALE, ours, {r['threads']} threads", rate(k["ours_all_threads"]), f"scaling {ratios['scaling']} × threads"),
        (f"KALE, C intrinsics ({k['c_intrinsics'].get('fastest', '?')}), 1 thread", rate(k["c_intrinsics"]),
         f"ours {ratios['ours_vs_c_intrinsics_per_thread']}×"),
        ("KALE, C SIMD (8 lanes), 1 thread", rate(k["c_simd"]), f"ours {ratios['ours_vs_c_simd_per_thread']}×"),
        ("KALE, C scalar, 1 thread", rate(k["c_scalar"]), f"ours {ratios['ours_vs_c_scalar']}×"),
        ("KALE, Python (pycryptodome)", rate(k["python_pycryptodome"]), f"ours {ratios['ours_vs_python']}×"),
        ("KALE, ours on the CUDA device", rate(k["ours_cuda"]), ""),
        ("Structs SHA-256, ours, 1 thread", rate(s["ours_1_thread"]), ""),
        (f"Structs, ours, {s['ours_all_threads']['threads']} threads", rate(s["ours_all_threads"]),
         f"scaling {sr['scaling']} × threads"),
        (f"Structs, C intrinsics ({s['c_intrinsics'].get('fastest', '?')}), 1 thread", rate(s["c_intrinsics"]),
         f"ours {sr['ours_vs_c_intrinsics_per_thread']}×"),
        ("Structs, C SIMD (16 lanes), 1 thread", rate(s["c_simd"]), f"ours {sr['ours_vs_c_simd_per_thread']}×"),
        ("Structs, C scalar, 1 thread", rate(s["c_scalar"]), ""),
        ("Structs, OpenSSL SHA256_Init/Update/Final", rate(s["openssl_low_level"]), f"ours {sr['ours_vs_openssl']}×"),
        ("Structs, OpenSSL SHA256() one-shot", rate(s["openssl_sha256"]), ""),
        ("Structs, Python hashlib", rate(s["python_hashlib"]), f"ours {sr['ours_vs_python']}×"),
        ("Hashcash SHA-1, ours, 1 thread", rate(r["hashcash"]["ours_1_thread"]), ""),
        (f"Hashcash, ours, {r['hashcash']['ours_all_threads']['threads']} threads", rate(r["hashcash"]["ours_all_threads"]),
         f"scaling {r['hashcash']['ratios']['scaling']} × threads"),
        ("Hashcash, C SIMD (16 lanes), 1 thread", rate(r["hashcash"]["c_simd"]),
         f"ours {r['hashcash']['ratios']['ours_vs_c_simd_per_thread']}×"),
        ("Hashcash, C scalar, 1 thread", rate(r["hashcash"]["c_scalar"]), ""),
        ("Hashcash, Python hashlib (OpenSSL SHA-1)", rate(r["hashcash"]["python_hashlib"]),
         f"ours {r['hashcash']['ratios']['ours_vs_python']}×"),
        ("e-stop → all threads idle", f"p50 {r['estop_ms']['p50']} ms · p99 {r['estop_ms']['p99']} ms", ""),
        ("event-loop lag, all hashing", f"p50 {r['loop_lag_ms']['p50']} ms · p99 {r['loop_lag_ms']['p99']} ms", ""),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    tg = r["target"]
    click.echo(f"shiftboss bench pow — {r['cpu_model']}, {r['cpu_threads']} CPU threads; kernels for {tg['cpu']} "
               f"with {tg['vector_bits']}-bit vectors ({tg['source']}); C with -march={r['march']}")
    for row in rows:
        click.echo("  ".join(c.ljust(width[i]) for i, c in enumerate(row)).rstrip())
    t = r["targets"]
    click.echo(f"targets: KALE ≥ {t['kale_vs_c_intrinsics_per_thread']}× and Structs ≥ "
               f"{t['structs_vs_c_intrinsics_per_thread']}× the intrinsics C per thread, Structs ≥ {t['structs_vs_openssl']}× "
               f"OpenSSL, Hashcash ≥ {t['hashcash_vs_c_simd_per_thread']}× the project's C SIMD, scaling ≥ {t['scaling']}, "
               f"e-stop p99 ≤ {t['estop_p99_ms']:g} ms, loop lag p99 ≤ {t['loop_lag_p99_ms']:g} ms")
    click.echo("  " + ", ".join(f"{name} {'met' if ok else 'NOT MET'}" for name, ok in r["met"].items()))
