"""Runs jobs through the real sandbox in a process of its own, as whoever starts it (the tests
start it as root and as an unprivileged user): ``python -m tests.engine.sandbox.runner SPEC``
where SPEC is a JSON file ``{"scratch", "results", "jobs": [{"files": {name: text}, "manifest",
"limits"}], "hide": [...]}``; the jobs run at once; prints one JSON list of their results."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import trio

from engine.sandbox import Limits, Manifest, Sandbox, run


async def main(spec: dict[str, Any]) -> list[dict[str, Any]]:
    sandbox = Sandbox.probe(Path(spec["scratch"]), hide=tuple(Path(p) for p in spec.get("hide", [])),
                            environments={k: Path(v) for k, v in spec.get("environments", {}).items()})
    results: list[dict[str, Any]] = [{} for _ in spec["jobs"]]

    async def one(i: int, job: dict[str, Any]) -> None:
        def populate(dest: str) -> None:
            for name, text in job["files"].items():
                path = Path(dest) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)

        out = Path(spec["results"]) / str(i)
        out.mkdir(parents=True, exist_ok=True)
        result = await run(sandbox, populate, msgspec.convert(job["manifest"], Manifest), Limits(**job.get("limits", {})),
                           out)
        results[i] = {**result.public(), "uid": os.getuid(), "kept": {
            name: (out / name).read_bytes().decode(errors="replace") for name in result.outputs}}

    async with trio.open_nursery() as nursery:
        for i, job in enumerate(spec["jobs"]):
            nursery.start_soon(one, i, job)
    return results


if __name__ == "__main__":
    print(json.dumps(trio.run(main, json.loads(Path(sys.argv[1]).read_text()))), flush=True)
