"""The benchmark drivers behind ``shiftboss bench …``: each prints our figure beside its
baseline measured in the same run (queue vs a redis-py loop, PoW vs C references, EVM vs a
web3.py loop, KALE farming vs the seed's sequential miner processes,
CloudMesh jobs vs the seed's one-at-a-time worker, Structs proofs vs the seed's forked hashlib
worker, the console's key → frame times)."""

import click

from engine.bench._cloudmesh import bench_cloudmesh
from engine.bench._console import bench_console
from engine.bench._evm import bench_evm
from engine.bench._kale import bench_kale
from engine.bench._pool import bench_pool
from engine.bench._pow import bench_pow
from engine.bench._queue import bench_queue
from engine.bench._sandbox import bench_sandbox
from engine.bench._structs import bench_structs


@click.group()
def bench() -> None:
    """Benchmarks: our figures beside a baseline measured in the same run."""


for command in (bench_queue, bench_pow, bench_evm, bench_kale, bench_pool, bench_sandbox, bench_cloudmesh, bench_structs,
                bench_console):
    bench.add_command(command)

__all__ = ["bench"]
