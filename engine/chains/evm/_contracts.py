"""The demo contracts' artifacts (``make contracts``), with just enough ABI handling to deploy
them, encode calls and decode results and events with eth-abi."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak

ARTIFACTS = Path(__file__).parent / "artifacts"
WORKER_ROLE = keccak(text="WORKER_ROLE")


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return str(param["type"])


@dataclass(frozen=True)
class Function:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def selector(self) -> bytes:
        return keccak(text=f"{self.name}({','.join(self.inputs)})")[:4]

    def encode(self, *args: Any) -> bytes:
        return self.selector + encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        return tuple(decode(list(self.outputs), data))


@dataclass(frozen=True)
class Contract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes

    def fn(self, name: str) -> Function:
        for item in self.abi:
            if item.get("type") == "function" and item["name"] == name:
                return Function(name, tuple(_type(p) for p in item["inputs"]), tuple(_type(p) for p in item["outputs"]))
        raise KeyError(f"{self.name} has no function {name!r}")

    def deploy_data(self, *args: Any) -> bytes:
        ctor = next((i for i in self.abi if i.get("type") == "constructor"), None)
        types = [_type(p) for p in ctor["inputs"]] if ctor else []
        return self.bytecode + (encode(types, list(args)) if types else b"")

    def event_topic(self, name: str) -> bytes:
        for item in self.abi:
            if item.get("type") == "event" and item["name"] == name:
                return keccak(text=f"{name}({','.join(_type(p) for p in item['inputs'])})")
        raise KeyError(f"{self.name} has no event {name!r}")


@functools.cache
def load(name: str) -> Contract:
    """One of ActionExecutor, WorkflowRegistry, FeeEscrow, DemoTarget."""
    data = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return Contract(name, data["abi"], bytes.fromhex(data["bytecode"][2:]))


def action_data(target: str, call: bytes) -> bytes:
    """A workflow action: ``abi.encode(address target, bytes callData)`` (empty: a no-op run)."""
    return encode(["address", "bytes"], [target, call])
