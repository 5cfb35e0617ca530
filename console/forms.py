"""Payload forms generated from a job kind's JSON schema (as ``GET /v1/kinds`` gives it).
Plain Python: :func:`fields_of` reads the schema, :func:`parse` turns what was typed into a
payload, or into an error per field. The engine validates again at submit (and names the field).

A nested object (``compute.run``'s manifest) becomes one field per property, named with dots
(``manifest.entrypoint``); a field marked as an upload (``x-upload``) takes a local path, which
the form packs and uploads before it submits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.schema.files import UPLOAD_MARK


@dataclass(frozen=True)
class Field:
    name: str  # dotted for a nested object's property: manifest.entrypoint
    type: str  # integer | number | string | boolean | enum | json | upload
    required: bool
    description: str = ""
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False

    @property
    def hint(self) -> str:
        bits = [self.type]
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            bits.append(f"{lo}…{hi}")
        if self.default not in (None, ""):
            bits.append(f"default {self.default}")
        return ", ".join(bits)


def fields_of(schema: dict[str, Any]) -> list[Field]:
    defs = schema.get("$defs", {})
    return _fields(_deref(schema, defs), defs, "", True)


def _fields(root: dict[str, Any], defs: dict[str, Any], prefix: str, parent_required: bool) -> list[Field]:
    required = set(root.get("required", []))
    out: list[Field] = []
    for name, prop in root.get("properties", {}).items():
        prop = _deref(prop, defs)
        if prop.get("type") == "object" and "properties" in prop:
            out += _fields(prop, defs, f"{prefix}{name}.", parent_required and name in required)
            continue
        nullable = False
        if "anyOf" in prop:
            options = [_deref(p, defs) for p in prop["anyOf"]]
            nullable = any(o.get("type") == "null" for o in options)
            concrete = [o for o in options if o.get("type") != "null"]
            merged = {**(concrete[0] if len(concrete) == 1 else {"type": "json"}), **{k: v for k, v in prop.items() if k != "anyOf"}}
            prop = merged
        kind = "upload" if UPLOAD_MARK in prop else "enum" if "enum" in prop else prop.get("type", "json")
        if kind not in ("integer", "number", "string", "boolean", "enum", "upload"):
            kind = "json"
        out.append(Field(name=prefix + name, type=kind, required=parent_required and name in required,
                         description=prop.get("description", ""),
                         default=prop.get("default"), choices=tuple(str(c) for c in prop.get("enum", ())),
                         minimum=prop.get("minimum"), maximum=prop.get("maximum"), nullable=nullable))
    return out


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def parse(fields: list[Field], raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(payload, errors by field name). Empty optional fields are left out (the default applies)."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        text = raw.get(f.name, "").strip()
        if not text:
            if f.required:
                errors[f.name] = "required"
            continue
        try:
            value = _convert(f, text)
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            if f.minimum is not None and value < f.minimum:
                errors[f.name] = f"must be ≥ {f.minimum:g}"
                continue
            if f.maximum is not None and value > f.maximum:
                errors[f.name] = f"must be ≤ {f.maximum:g}"
                continue
        place(payload, f.name, value)
    return payload, errors


def place(payload: dict[str, Any], name: str, value: Any) -> None:
    """Set ``payload[a][b] = value`` for the dotted name ``a.b``."""
    *parents, last = name.split(".")
    for part in parents:
        payload = payload.setdefault(part, {})
    payload[last] = value


def _convert(f: Field, text: str) -> Any:
    if f.type == "integer":
        try:
            return int(text, 0)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
    if f.type == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if f.type == "boolean":
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if f.type == "enum":
        if text not in f.choices:
            raise ValueError(f"one of: {', '.join(f.choices)}")
        return text
    if f.type == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected JSON: {exc.msg}") from None
    return text
