"""The console against a real engine subprocess, driven through Pilot as an operator would."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label

from console import make_app
from console.api import Target
from console.errors import ConsoleError
from console.screens.audit import AuditScreen
from console.screens.dashboard import DashboardScreen
from console.screens.detail import JobDetailScreen
from console.screens.dialogs import AskReason, Confirm
from console.screens.jobs import JobsScreen
from engine.client import Client
from engine.lifecycle import EngineProcess
from tests.console.conftest import eventually, open_trigger

SIZE = (120, 36)


def app_for(engine: EngineProcess, **kwargs):  # type: ignore[no-untyped-def]
    return make_app(Target(str(engine.socket)), actor="pilot", **kwargs)


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


@pytest.mark.asyncio
async def test_trigger_a_job_and_watch_it_complete(engine: EngineProcess, client: Client) -> None:
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_trigger(app, pilot, "sleep")
        field = await eventually(lambda: screen.query("#field-seconds") and screen.query_one("#field-seconds", Input))
        field.value = "lots"
        await pilot.press("enter")
        await eventually(lambda: "whole number" in str(screen.query_one("#error-seconds").render())
                         or "number" in str(screen.query_one("#error-seconds").render()), what="inline error")
        assert client.get("/v1/jobs")["total"] == 0  # nothing was submitted
        field.value = "0.3"
        field.focus()
        await pilot.press("enter")
        detail = await eventually(lambda: isinstance(app.screen, JobDetailScreen) and app.screen, what="job opened")
        job_id = detail.job_id
        assert client.get(f"/v1/jobs/{job_id}")["job"]["kind"] == "sleep"
        await eventually(lambda: detail.detail is not None and detail.detail.job.state == "completed",
                         what="detail follows the job to completed")


@pytest.mark.asyncio
async def test_retry_a_failed_job_from_the_jobs_table(engine: EngineProcess, client: Client) -> None:
    job_id = client.post("/v1/jobs", {"kind": "demo.flaky", "payload": {"permanent": True}})["id"]
    await eventually(lambda: client.get(f"/v1/jobs/{job_id}")["job"]["state"] == "failed")
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await eventually(lambda: jobs.table.current is not None and jobs.table.current.id == job_id)
        await pilot.press("r")
        await eventually(lambda: any(r["action"] == "retry" and r["target"] == job_id
                                     for r in client.get("/v1/audit")["records"]), what="retry audited")
        record = next(r for r in client.get("/v1/audit")["records"] if r["action"] == "retry")
        assert record["actor"].endswith("(on behalf of pilot)")
        job = client.get(f"/v1/jobs/{job_id}")["job"]
        assert job["attempts"] >= 1 and job["state"] in ("queued", "running", "failed")
        # the table follows the job live: its row leaves "failed" and comes back to it
        await eventually(lambda: len(client.get(f"/v1/jobs/{job_id}")["job"]["history"]) == 2)
        await eventually(lambda: jobs.table.current is not None and jobs.table.current.state == "failed")


@pytest.mark.asyncio
async def test_bulk_cancel_previews_the_count_then_cancels(engine: EngineProcess, client: Client) -> None:
    client.post("/v1/pools/default/pause", {"reason": "hold for the test"})
    client.post("/v1/jobs", {"jobs": [{"kind": "noop"}] * 30})
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await pilot.press("s")  # state filter → queued
        await eventually(lambda: jobs.query_state.state == ("queued",) and jobs.table.window.counted)
        await pilot.press("C")
        ask = await eventually(lambda: isinstance(app.screen, AskReason) and app.screen, what="preview dialog")
        assert "30 jobs" in ask.title_text
        assert client.get("/v1/jobs", state="queued")["total"] == 30  # the preview changed nothing
        await pilot.press("enter")  # no reason: refused
        assert isinstance(app.screen, AskReason)
        await type_text(pilot, "wrong batch")
        await pilot.press("enter")
        await eventually(lambda: client.get("/v1/jobs", state="cancelled")["total"] == 30)
        await eventually(lambda: jobs.table.window.counted and jobs.table.window.total == 0,
                         what="the filtered table empties")
        bulk = next(r for r in client.get("/v1/audit")["records"] if r["action"] == "bulk-cancel")
        assert bulk["reason"] == "wrong batch" and bulk["details"]["count"] == 30


@pytest.mark.asyncio
async def test_estop_asks_reason_and_confirmation_then_resume(engine: EngineProcess, client: Client) -> None:
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: app.snapshot is not None)
        await pilot.press("j")
        await eventually(lambda: isinstance(app.screen, JobsScreen))
        await pilot.press("ctrl+s")  # from any screen
        await eventually(lambda: isinstance(app.screen, AskReason))
        await type_text(pilot, "bad payout")
        await pilot.press("enter")
        await eventually(lambda: isinstance(app.screen, Confirm))
        assert client.get("/v1/status")["estop"]["active"] is False  # not before the confirmation
        await pilot.press("y")
        await eventually(lambda: client.get("/v1/status")["estop"]["active"])
        estop = client.get("/v1/status")["estop"]
        assert estop["reason"] == "bad payout" and estop["actor"].endswith("(on behalf of pilot)")
        await eventually(lambda: app.snapshot.status.estop.active, what="console sees the e-stop")
        bar = str(app.screen.query_one("#status-bar").render())
        assert "E-STOP ACTIVE" in bar and "bad payout" in bar
        await pilot.press("ctrl+r")
        await eventually(lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")  # backing out changes nothing
        assert client.get("/v1/status")["estop"]["active"]
        await pilot.press("ctrl+r")
        await eventually(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await eventually(lambda: not client.get("/v1/status")["estop"]["active"])
        await pilot.press("a")  # the audit view shows both, with who and why
        audit = await eventually(lambda: isinstance(app.screen, AuditScreen) and app.screen)
        table = audit.query_one("#audit", DataTable)
        await eventually(lambda: table.row_count >= 2, what="audit rows")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [r[3] for r in rows[:2]] == ["resume", "estop"]
        assert rows[1][2].endswith("(on behalf of pilot)") and rows[1][5] == "bad payout"
        title = audit.query_one("#audit-title", Label)
        assert "operator actions" in str(title.render())
        await pilot.press("o")  # every record, automatic ones too
        await eventually(lambda: "every record" in str(title.render()), what="all records")


@pytest.mark.asyncio
async def test_read_only_hides_and_refuses_every_mutation(engine: EngineProcess, client: Client) -> None:
    client.post("/v1/jobs", {"kind": "noop"})
    before = client.get("/v1/audit")["records"]
    app = app_for(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: app.snapshot is not None)
        for key in ("ctrl+s", "t", "p", "D"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen), key
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await eventually(lambda: jobs.table.current is not None)
        for key in ("r", "c", "C", "B"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is jobs, key
        footer_keys = {b.binding.id for b in app.screen.active_bindings.values() if b.enabled}
        assert not footer_keys & {"estop", "trigger", "retry", "cancel", "bulk_cancel"}
    assert client.get("/v1/audit")["records"] == before
    assert client.get("/v1/status")["estop"]["active"] is False


@pytest.mark.asyncio
async def test_a_lost_engine_shows_a_banner_and_the_stream_resumes_without_a_gap(
        engine: EngineProcess, client: Client) -> None:
    app = app_for(engine)
    async with app.run_test(size=SIZE):
        await eventually(lambda: app.snapshot is not None)
        start = app.last_seq
        client.post("/v1/jobs", {"jobs": [{"kind": "noop"}] * 5})
        await eventually(lambda: app.last_seq == client.get("/v1/status")["last_seq"], what="caught up")
        engine.terminate()
        await eventually(lambda: not app.connected, what="connection loss noticed")
        await eventually(lambda: "CONNECTION LOST" in str(app.screen.query_one("#status-bar").render()))
        assert engine.proc is not None and engine.proc.returncode == 0
        engine.start()
        with engine.client() as again:
            again.post("/v1/jobs", {"jobs": [{"kind": "noop"}] * 7})  # while the console is still away
            await eventually(lambda: app.connected, within=15, what="reconnected")
            await eventually(lambda: app.last_seq == again.get("/v1/status")["last_seq"], what="caught up again")
            assert app.gaps == 0
            assert app.events_received == again.get("/v1/status")["last_seq"] - start
        await eventually(lambda: "CONNECTION LOST" not in str(app.screen.query_one("#status-bar").render()),
                         what="the banner cleared")  # the bar redraws when the reconnection message is handled


@pytest.mark.asyncio
async def test_the_keymap_remaps_an_action_everywhere(engine: EngineProcess) -> None:
    app = app_for(engine, keymap={"estop": "ctrl+e", "jobs": "f2"})
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: app.snapshot is not None)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("f2")
        await eventually(lambda: isinstance(app.screen, JobsScreen))
        await pilot.press("ctrl+e")
        await eventually(lambda: isinstance(app.screen, AskReason))


def test_an_unknown_keymap_action_is_named() -> None:
    with pytest.raises(ConsoleError, match="unknown action 'estopp'"):
        make_app(Target("/nonexistent.sock"), keymap={"estopp": "ctrl+e"})
    with pytest.raises(ConsoleError, match="console.keymap.estop"):
        make_app(Target("/nonexistent.sock"), keymap={"estop": " "})


@pytest.mark.asyncio
async def test_a_read_only_token_over_tcp_makes_the_console_read_only(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "token").write_text("full-secret\n")
    (tmp_path / "ro").write_text("view-secret\n")
    config = (f'[api]\ntcp = "127.0.0.1:{port}"\ntoken_file = "{tmp_path / "token"}"\n'
              f'read_only_token_file = "{tmp_path / "ro"}"\n')
    with EngineProcess(tmp_path / "e", config) as engine, engine.client() as client:
        app = make_app(Target(f"http://127.0.0.1:{port}", token="view-secret"), actor="viewer")
        async with app.run_test(size=SIZE) as pilot:
            await eventually(lambda: app.snapshot is not None)
            assert app.read_only
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            await eventually(lambda: "READ-ONLY" in str(app.screen.query_one("#status-bar").render()))
        assert client.get("/v1/audit")["records"] == []


@pytest.mark.asyncio
async def test_search_sort_and_pool_controls(engine: EngineProcess, client: Client) -> None:
    client.post("/v1/pools/default/pause", {"reason": "hold for the test"})
    client.post("/v1/jobs", {"jobs": [{"kind": "noop", "priority": p % 10} for p in range(40)]})
    client.post("/v1/jobs", {"kind": "noop", "payload": {"note": "needle-42"}})
    client.post("/v1/pools/default/resume", {})
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        # pools: pause with a reason, resume, drain (confirmed) on the pool under the cursor
        await eventually(lambda: app.screen.query_one("#pools").row_count >= 1)
        await pilot.press("p")
        await eventually(lambda: isinstance(app.screen, AskReason))
        await type_text(pilot, "maintenance")
        await pilot.press("enter")
        await eventually(lambda: client.get("/v1/pools")["pools"][0]["state"] == "paused")
        assert client.get("/v1/pools")["pools"][0]["reason"] == "maintenance"
        await eventually(lambda: "pool:default" in app.screen.query_one("#attention").rows, what="attention")
        await pilot.press("u")
        await eventually(lambda: client.get("/v1/pools")["pools"][0]["state"] == "active")
        await pilot.press("D")
        await eventually(lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await eventually(lambda: client.get("/v1/pools")["pools"][0]["state"] in ("draining", "drained"))
        # jobs: text search, then sort by priority
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await pilot.press("slash")
        await type_text(pilot, "needle-42")
        await pilot.press("enter")
        await eventually(lambda: jobs.table.window.counted and jobs.table.window.total == 1, what="search")
        assert jobs.table.current is not None and jobs.table.current.payload == {"note": "needle-42"}
        await pilot.press("x", "o", "o")  # clear the filter; newest → oldest → priority
        await eventually(lambda: jobs.query_state.sort == "-priority" and jobs.table.window.counted
                         and jobs.table.current is not None)
        assert jobs.table.window.total == 41 and jobs.table.current.priority == 9


@pytest.mark.asyncio
async def test_freeze_stops_live_updates_until_released(engine: EngineProcess, client: Client) -> None:
    client.post("/v1/pools/default/pause", {"reason": "hold"})
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await eventually(lambda: jobs.table.window.counted)
        await pilot.press("f")
        assert "FROZEN" in str(app.screen.query_one("#status-bar").render())
        client.post("/v1/jobs", {"jobs": [{"kind": "noop"}] * 5})
        await eventually(lambda: app.last_seq == client.get("/v1/status")["last_seq"], what="events still arrive")
        await pilot.pause(0.5)
        assert jobs.table.window.total == 0  # …but the view holds still
        await pilot.press("f")
        await eventually(lambda: jobs.table.window.counted and jobs.table.window.total == 5, what="caught up")


@pytest.mark.asyncio
async def test_the_palette_offers_the_screen_actions_and_hides_mutations_when_read_only(
        engine: EngineProcess) -> None:
    from console.commands import ActionCommands

    for read_only in (False, True):
        app = app_for(engine, read_only=read_only)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("j")
            await eventually(lambda app=app: isinstance(app.screen, JobsScreen))  # type: ignore[misc]
            provider = ActionCommands(app.screen)
            titles = {a.title for a in provider._available()}
            assert {"Jobs", "Dashboard", "Search", "Sort", "Help"} <= titles
            assert ({"E-STOP", "Retry", "Bulk cancel", "Trigger"} <= titles) is not read_only
            assert not ({"E-STOP", "Retry", "Bulk cancel", "Trigger"} & titles) or not read_only


@pytest.mark.asyncio
async def test_at_80_columns_the_footer_keeps_estop_help_and_quit(engine: EngineProcess) -> None:
    """What does not fit leaves the footer least-needed first; what stays fits on the screen."""
    from textual.widgets._footer import FooterKey

    app = app_for(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, kind in (("d", DashboardScreen), ("j", JobsScreen), ("a", AuditScreen)):
            await pilot.press(key)
            screen = await eventually(lambda kind=kind: isinstance(app.screen, kind) and app.screen)
            await pilot.pause()
            shown = await eventually(lambda screen=screen: [k for k in screen.query(FooterKey) if k.region.width] or None)
            keys = {k.key for k in shown}
            assert {"ctrl+s", "question_mark", "q"} <= keys, keys
            assert all(k.region.right <= 80 for k in shown)  # nothing is cut off
        assert "a" not in keys and "d" in keys  # on the audit screen its own key left first
    async with app_for(engine).run_test(size=(160, 36)) as pilot:
        await pilot.pause()
        wide = {k.key for k in pilot.app.screen.query(FooterKey)}
        assert {"d", "j", "a", "t", "f"} <= wide  # a wide terminal shows them all


@pytest.mark.asyncio
async def test_at_140_columns_the_workers_table_shows_every_column(engine: EngineProcess) -> None:
    app = app_for(engine)
    async with app.run_test(size=(140, 45)):
        workers = await eventually(lambda: app.screen.query_one("#workers", DataTable).row_count
                                   and app.screen.query_one("#workers", DataTable))
        await eventually(lambda: workers.virtual_size.width <= workers.size.width,
                         what=f"workers table {workers.virtual_size.width} wide in {workers.size.width} columns")
        assert app.screen.query_one("#running", DataTable).display  # the middle shows what runs


@pytest.mark.asyncio
async def test_the_cursor_stays_on_its_job_when_new_jobs_push_the_rows_down(engine: EngineProcess,
                                                                            client: Client) -> None:
    for _ in range(5):
        client.post("/v1/jobs", {"kind": "noop"})
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        jobs = await eventually(lambda: isinstance(app.screen, JobsScreen) and app.screen)
        await eventually(lambda: jobs.table.window.total == 5 and jobs.table.current is not None)
        await pilot.press("down", "down")
        chosen = jobs.table.current
        assert jobs.table.cursor == 2 and chosen is not None
        for _ in range(3):  # newest first: three rows above it
            client.post("/v1/jobs", {"kind": "noop"})
        await eventually(lambda: jobs.table.window.total == 8 and jobs.table.cursor == 5,
                         what="the cursor followed its job")
        assert jobs.table.current is not None and jobs.table.current.id == chosen.id


@pytest.mark.asyncio
async def test_the_jobs_screen_is_built_while_the_operator_reads_the_dashboard(engine: EngineProcess,
                                                                               client: Client) -> None:
    client.post("/v1/jobs", {"kind": "noop"})
    app = app_for(engine)
    async with app.run_test(size=SIZE) as pilot:
        def prebuilt() -> JobsScreen | None:
            try:
                stack = app.get_screen_stack("jobs")
            except KeyError:
                return None
            return stack[0] if stack and isinstance(stack[0], JobsScreen) and stack[0].table.window.total else None

        jobs = await eventually(prebuilt, what="the jobs screen built in the background")
        assert isinstance(app.screen, DashboardScreen)  # without leaving the dashboard
        await pilot.press("j")
        await pilot.pause()
        assert app.screen is jobs and jobs.table.window.row(0) is not None  # rows at once, no "loading…"
