"""Trigger a job: pick a kind, fill the form generated from its payload schema (errors show under
each field, from the form and from the engine), submit; the new job opens. An upload field
(``compute.run``'s files) takes a local directory or tarball: it is packed and uploaded first."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static

from console.errors import ApiError, ConsoleError
from console.forms import Field, fields_of, parse, place
from console.host import host
from console.messages import BarStale
from console.widgets.status_bar import StatusBar
from engine.schema import JobSubmit, KindInfo
from engine.schema.files import FilesError, job_tarball

_COMMON = (
    Field("priority", "integer", False, "0–9, higher runs first", 5, minimum=0, maximum=9),
    Field("delay", "number", False, "seconds before it may start", minimum=0),
    Field("idempotency_key", "string", False, "same key → same job, never a second one"),
)


class TriggerScreen(Screen[str | None]):
    """Dismisses with the new job's id (None if backed out)."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("ctrl+enter,ctrl+j", "submit", "Submit")]
    AUTO_FOCUS = "#kind"

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[str, KindInfo] = {}
        self.fields: list[Field] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with VerticalScroll(id="trigger"):
            yield Label("Trigger a job", classes="section")
            yield Select[str]([], prompt="kind", id="kind")
            yield Static("", id="kind-help")
            yield VerticalScroll(id="form")
            yield Label("", id="form-error")
            with Horizontal(id="trigger-buttons"):
                yield Button("Submit", variant="primary", id="submit")
                yield Button("Back (Esc)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.post_message(BarStale())
        self.load_kinds()

    @work(exclusive=True, group="kinds")
    async def load_kinds(self) -> None:
        try:
            kinds = (await host(self.app).api.kinds()).kinds
        except ConsoleError as exc:
            self.query_one("#form-error", Label).update(f"cannot list kinds: {exc}")
            return
        self.kinds = {k.name: k for k in kinds}
        self.query_one("#kind", Select).set_options([(k.name, k.name) for k in kinds])

    @on(Select.Changed, "#kind")
    async def _kind_chosen(self, event: Select.Changed) -> None:
        info = self.kinds.get(str(event.value)) if event.value is not Select.BLANK else None
        form = self.query_one("#form", VerticalScroll)
        await form.remove_children()
        if info is None:
            return
        self.query_one("#kind-help", Static).update(f"{info.description}\npool {info.pool} · "
                                                    f"{info.max_attempts} attempts · timeout {info.timeout:g}s")
        self.fields = fields_of(info.payload_schema)
        widgets: list[Widget] = []
        for f in (*self.fields, *_COMMON):
            label = f"{f.name}{' *' if f.required else ''}  [dim]{f.hint}[/]"
            widgets.append(Label(label, classes="field-label"))
            if f.description:
                widgets.append(Label(f.description, classes="field-help"))
            default = "" if f.default in (None, "") or f.type == "json" else str(f.default).lower() \
                if isinstance(f.default, bool) else str(f.default)
            widgets.append(Input(value="", placeholder=default or ("required" if f.required else "optional"),
                                 id=f"field-{_wid(f.name)}", classes="field"))
            widgets.append(Label("", id=f"error-{_wid(f.name)}", classes="field-error"))
        await form.mount_all(widgets)
        if self.fields:
            self.query_one(f"#field-{_wid(self.fields[0].name)}", Input).focus()

    def _values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{_wid(f.name)}", Input).value for f in (*self.fields, *_COMMON)}

    def _show_errors(self, errors: dict[str, str], general: str = "") -> None:
        for f in (*self.fields, *_COMMON):
            self.query_one(f"#error-{_wid(f.name)}", Label).update(errors.get(f.name, ""))
        self.query_one("#form-error", Label).update(general)

    @on(Input.Submitted, ".field")
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        kind = self.query_one("#kind", Select).value
        if kind is Select.BLANK:
            self.query_one("#form-error", Label).update("pick a kind first")
            return
        values = self._values()
        payload, errors = parse(self.fields, values)
        common, common_errors = parse(list(_COMMON), values)
        errors.update(common_errors)
        self._show_errors(errors, "fix the marked fields" if errors else "")
        if not errors:
            self.submit(JobSubmit(kind=str(kind), payload=payload, **common))

    @work(exclusive=True, group="submit")
    async def submit(self, job: JobSubmit) -> None:
        try:
            for f in self.fields:
                if f.type == "upload" and (path := _get(job.payload, f.name)) is not None:
                    place(job.payload, f.name, await self._upload(f, str(path)))
            result = await host(self.app).api.submit(job)
        except FilesError:
            return  # shown under its field
        except ApiError as exc:
            field = str(exc.details.get("field", "")).removeprefix("payload.")
            names = [f.name for f in (*self.fields, *_COMMON) if field == f.name or field.startswith(f"{f.name}.")]
            if names:
                self._show_errors({names[0]: str(exc).split(": ", 1)[-1]}, "the engine refused this job")
            else:
                self._show_errors({}, f"the engine refused this job: {exc}")
            return
        except ConsoleError as exc:
            self._show_errors({}, str(exc))
            return
        self.dismiss(result.id)

    async def _upload(self, f: Field, path: str) -> str:
        """The SHA-256 of ``path`` packed and uploaded (a SHA-256 typed in is taken as is)."""
        if re.fullmatch(r"[0-9a-f]{64}", path):
            return path
        self.query_one("#form-error", Label).update(f"packing {path} …")
        try:
            data = await asyncio.to_thread(job_tarball, path)
        except FilesError as exc:
            self._show_errors({f.name: str(exc)}, "fix the marked fields")
            raise
        self.query_one("#form-error", Label).update(f"uploading {len(data):,} bytes …")
        return (await host(self.app).api.upload(data)).sha256

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.dismiss(None)


def _wid(name: str) -> str:
    """A widget id for a (dotted) field name."""
    return name.replace(".", "--")


def _get(payload: dict[str, Any], name: str) -> Any:
    for part in name.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return None
        payload = payload[part]
    return payload
