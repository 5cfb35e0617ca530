"""A local ``anvil`` devnet as a child process: found in ./node_modules (npm package
``@foundry-rs/anvil-linux-amd64``, installed by ``make node``), ``$SHIFTBOSS_ANVIL`` or PATH.

Used by ``shiftboss devnet``, the EVM tests and ``shiftboss bench evm``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
from pathlib import Path

from engine.errors import ChainError
from engine.ports import free_port

NPM_PATH = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
#: keys of anvil's default mnemonic ("test test … junk"), accounts 0–5: public knowledge, devnet only
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
)


def find_anvil() -> Path | None:
    """``$SHIFTBOSS_ANVIL``, else node_modules here or beside this checkout, else PATH."""
    if os.environ.get("SHIFTBOSS_ANVIL"):
        return Path(os.environ["SHIFTBOSS_ANVIL"])
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / NPM_PATH).is_file():
            return root / NPM_PATH
    found = shutil.which("anvil")
    return Path(found) if found else None


#: anvil writes every state older than those it keeps in memory to ~/.foundry/anvil/tmp, one
#: directory per run that is never removed (76 GB here after a few days of tests and benches),
#: and mines ever more slowly as it does: older states are dropped instead
KEEP_STATES_IN_MEMORY = ["--max-persisted-states", "0"]


class Anvil:
    """``anvil --port P`` (plus ``args``); ``start()`` returns once it answers JSON-RPC."""

    def __init__(self, *, port: int | None = None, args: list[str] | None = None, log: Path | None = None,
                 binary: Path | None = None, detached: bool = False) -> None:
        self.detached = detached  # its own session: outlives this process and its terminal
        self.binary = binary or find_anvil()
        if self.binary is None:
            raise ChainError("anvil not found: run `make node` (installs it into ./node_modules) or set SHIFTBOSS_ANVIL")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args or []
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> Anvil:
        out = open(self.log, "ab") if self.log else None  # the child keeps its own copy; ours is closed below
        try:
            self.proc = subprocess.Popen(
                [str(self.binary), "--port", str(self.port), "--host", "127.0.0.1", *KEEP_STATES_IN_MEMORY,
                 *self.args],
                stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=self.detached)
        finally:
            if out is not None:
                out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ChainError(f"anvil exited with {self.proc.returncode} during start-up")
            if self.answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise ChainError(f"anvil did not answer on port {self.port} within {timeout:g} s")

    def answers(self) -> bool:
        try:
            self.rpc("eth_chainId")
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return True

    def rpc(self, method: str, *params: object) -> object:
        """A blocking JSON-RPC call (for set-up and tests; the engine uses :class:`EvmRpc`)."""
        from engine.chains.evm._devnet import Rpc

        return Rpc(self.url)(method, *params)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
