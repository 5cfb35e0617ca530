"""`shiftboss jobs kinds` renders each payload field: type or enum values, bounds, required or default."""

from __future__ import annotations

from typing import Any

from engine.cli._jobs import describe_field
from engine.jobs import default_registry


def fields(kind: str) -> dict[str, str]:
    schema: dict[str, Any] = next(iter(default_registry().get(kind).payload_schema()["$defs"].values()))
    required = set(schema.get("required", []))
    return {name: describe_field(name, f, name in required) for name, f in schema["properties"].items()}


def test_enums_optionals_defaults_and_required_fields_are_shown() -> None:
    kale = fields("pow.kale")
    assert kale["index"] == "index: integer (≥ 0, ≤ 4294967295), required — block index (u32)"
    assert kale["mode"].startswith('mode: "best" | "until" = "until" — ')
    assert kale["seconds"].startswith("seconds: number or null (> 0, ≤ 3600) = null — time budget")
    assert "?" not in "".join(kale.values())
    structs = fields("pow.structs")
    assert structs["action"].startswith('action: "build" | "mine" | "raid" | "refine", required')
    assert structs["chain"].startswith('chain: string (length ≥ 1, length ≤ 64) = "structs"')


def test_submit_wait_progress_lines_say_what_a_job_is_doing() -> None:
    from engine.cli._jobs import _progress_line

    assert _progress_line({"hashrate": {"10s": 2.5e7}, "best_zeros": 6, "hashes": 1234}) == \
        "25.00 MH/s · best 6 zeros · 1,234 hashes"
    assert _progress_line({"waiting_info": {"chain": "devnet", "blocks_remaining": 3}}) == \
        "waiting for devnet: 3 blocks to go"
    assert _progress_line({"elapsed": 1.5, "total": 3}) == "1.5/3 s"
    assert _progress_line({"tx": "x"}) == ""
