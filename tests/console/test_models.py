"""The console's plain-Python parts: payload forms, the jobs window, figures, the action table."""

from __future__ import annotations

import pytest

from console import actions
from console.api import JobQuery
from console.format import ago, hashrate, sparkline, summary
from console.forms import fields_of, parse
from console.jobs_window import PAGE, JobWindow
from engine.schema import Event, Job, JobError

SCHEMA = {
    "$ref": "#/$defs/P",
    "$defs": {"P": {"type": "object", "required": ["seconds"], "properties": {
        "seconds": {"type": "number", "minimum": 0, "maximum": 60, "description": "how long"},
        "bits": {"type": "integer", "minimum": 1, "maximum": 48, "default": 20},
        "action": {"enum": ["build", "mine"]},
        "permanent": {"type": "boolean", "default": False},
        "date": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "extra": {"type": "object"},
    }}},
}


def test_a_form_is_generated_from_the_payload_schema() -> None:
    fields = {f.name: f for f in fields_of(SCHEMA)}
    assert list(fields) == ["seconds", "bits", "action", "permanent", "date", "extra"]
    assert fields["seconds"].required and fields["seconds"].type == "number"
    assert fields["bits"].hint == "integer, 1…48, default 20"
    assert fields["action"].choices == ("build", "mine")
    assert fields["date"].type == "string" and fields["date"].nullable
    assert fields["extra"].type == "json"


def test_form_values_parse_into_a_payload_or_an_error_per_field() -> None:
    fields = fields_of(SCHEMA)
    payload, errors = parse(fields, {"seconds": "2.5", "bits": "0x10", "action": "mine", "permanent": "yes",
                                     "extra": '{"a": 1}'})
    assert errors == {}
    assert payload == {"seconds": 2.5, "bits": 16, "action": "mine", "permanent": True, "extra": {"a": 1}}
    _, errors = parse(fields, {"bits": "many", "action": "raid", "permanent": "maybe", "extra": "{", "seconds": "99"})
    assert errors == {"seconds": "must be ≤ 60", "bits": "expected a whole number, got 'many'",
                      "action": "one of: build, mine", "permanent": "expected true or false",
                      "extra": "expected JSON: Expecting property name enclosed in double quotes"}
    assert parse(fields, {})[1] == {"seconds": "required"}


def test_compute_run_gets_an_upload_field_and_the_manifest_flattened() -> None:
    from engine.jobs.compute import KINDS

    fields = {f.name: f for f in fields_of(KINDS[0].payload_schema())}
    assert fields["files"].type == "upload" and fields["files"].required
    assert fields["manifest.entrypoint"].required and fields["manifest.entrypoint"].type == "string"
    assert set(fields["manifest.interpreter"].choices) == {"python3", "python", "node", "sh", "bash"}
    assert not fields["manifest.args"].required and fields["manifest.args"].type == "json"
    payload, errors = parse(list(fields.values()), {"files": "./job", "manifest.entrypoint": "main.py",
                                                    "manifest.args": '["7"]', "manifest.interpreter": "sh"})
    assert errors == {}
    assert payload == {"files": "./job", "manifest": {"entrypoint": "main.py", "args": ["7"], "interpreter": "sh"}}
    assert parse(list(fields.values()), {"files": "./job"})[1] == {"manifest.entrypoint": "required"}


def _job(n: int, state: str = "queued") -> Job:
    return Job(id=f"noop_{n:04d}", kind="noop", pool="default", state=state, priority=5, payload={}, attempts=0,
               max_attempts=3, timeout=60, created_at=1000.0 + n, updated_at=1000.0 + n)


def test_the_window_fetches_only_pages_around_the_view_and_drops_stale_answers() -> None:
    w = JobWindow()
    assert w.wanted(0, 30) == [0]
    w.loading(0)
    assert w.wanted(0, 30) == []  # already asked for
    assert w.store(w.epoch, 0, [_job(i) for i in range(PAGE)], 100_000, near=0)
    assert w.total == 100_000 and w.row(5).id == "noop_0005" and w.row(PAGE) is None
    assert w.wanted(950, 1010) == [9, 10]
    asked = w.epoch
    w.reset(JobQuery(state=("failed",)))
    assert not w.store(asked, 9, [_job(1)], None, near=0)  # answer to the old filter: dropped
    assert w.row(0) is None and w.total == 0
    for page in range(40):  # memory stays bounded however far one scrolls
        w.store(w.epoch, page, [_job(page * PAGE + i) for i in range(PAGE)], None, near=page * PAGE)
    assert len(w._pages) <= 24 and w.row(39 * PAGE) is not None and w.row(0) is None


def test_events_update_rows_in_place_and_flag_moves() -> None:
    w = JobWindow(JobQuery(state=("queued", "running")))
    w.store(w.epoch, 0, [_job(1), _job(2)], 2, near=0)
    changed, moved = w.apply([
        Event(seq=1, ts=2000.0, type="job.state", job_id="noop_0002", data={"from": "queued", "to": "running",
                                                                             "attempt": 1}),
        Event(seq=2, ts=2001.0, type="job.progress", job_id="noop_0002", data={"hashes": 10}),
    ])
    assert changed == {1} and not moved
    assert w.row(1).state == "running" and w.row(1).attempts == 1 and w.row(1).progress == {"hashes": 10}
    changed, moved = w.apply([Event(seq=3, ts=2002.0, type="job.state", job_id="noop_0002",
                                    data={"from": "running", "to": "failed",
                                          "error": {"code": "boom", "message": "it broke", "retryable": False}})])
    assert changed == {1} and moved  # "failed" leaves this filter: the rows must be re-read
    assert w.row(1).error == JobError(code="boom", message="it broke")
    assert w.apply([Event(seq=4, ts=1.0, type="job.submitted", job_id="noop_0009")])[1]


def test_figures_read_well() -> None:
    assert ago(100.0, now=100.0 + 3725) == "1h02m"
    assert ago(None) == "—"
    assert sparkline([0, 5, 10], 8) == "▁▄█"
    assert sparkline([0, 0], 8) == "▁▁"
    assert hashrate({"10s": 0.0, "60s": 3.5e7}) == 3.5e7
    job = _job(1, "running")
    job.progress = {"best_zeros": 5, "target_zeros": 8, "hashrate": {"10s": 3.6e7}, "eta_s": 75}
    assert summary(job) == "best 5/8 zeros · 36.0 MH/s · eta 1m15s"
    job.state, job.error = "failed", JobError(code="timeout", message="attempt took over 60 s")
    assert summary(job) == "timeout: attempt took over 60 s"


def test_a_structs_proof_reads_as_age_difficulty_best_zeros_and_transaction() -> None:
    job = _job(1, "waiting")
    job.kind = "pow.structs"
    job.progress = {"waiting_info": {"chain": "structs", "height": 1005, "current_age": 5, "target_age": 10,
                                     "blocks_remaining": 5, "difficulty_now": 42}}
    assert summary(job) == "waiting: age 5/10 · difficulty now 42 · 5 blocks to wait"
    job.state = "running"
    job.progress = {"height": 1450, "age": 450, "difficulty": 6, "best_zeros": 5, "target_zeros": 6,
                    "hashrate": {"10s": 8.1e7}}
    assert summary(job) == "age 450 · difficulty now 6 · best 5/6 zeros · 81.0 MH/s"
    job.progress = {**job.progress, "phase": "following", "tx": "9F2C41D07A66E1B0", "tx_state": "sent"}
    assert summary(job) == "age 450 · difficulty now 6 · tx 9F2C41D07A… sent"
    job.state = "completed"
    job.result = {"proof_of_work": {"zeros": 6, "difficulty": 6},
                  "transaction": {"hash": "9F2C41D07A66E1B0", "status": "included", "height": 1451}}
    assert summary(job) == "proof 6/6 zeros · tx 9F2C41D07A… included at 1451"


def test_one_action_table_feeds_bindings_with_ids_and_tooltips() -> None:
    ids = [a.id for a in actions.ACTIONS]
    assert len(ids) == len(set(ids))
    for scope in ("app", "dashboard", "jobs", "detail"):
        for binding in actions.bindings(scope):
            assert binding.id in actions.BY_ID and binding.tooltip
    assert {"estop", "resume_estop", "trigger", "retry", "cancel", "bulk", "pause_pool"} <= actions.MUTATING
    with pytest.raises(actions.ConsoleError):
        actions.check_keymap({"nope": "x"})


def test_chain_trouble_reaches_the_attention_panel() -> None:
    from console.screens.dashboard import chain_attention
    from engine.schema import Chain

    chains = [Chain(name="devnet", kind="evm", head=9, detail={
        "error": "", "reorgs": [{"at": 990.0, "depth": 2, "fork_block": 7}],
        "signer": {"address": "0xabc", "balance_eth": 0.05, "min_balance_eth": 0.1, "low_balance": True}}),
        Chain(name="mainnet", kind="evm", detail={"error": "no RPC endpoint answered"}),
        Chain(name="sol", kind="solana", detail={"cloudmesh": {"address": "Worker1111", "balance": 20_000_000,
                                                               "low_balance": True}})]
    rows = chain_attention(chains, now=1000.0)
    assert set(rows) == {"reorg:devnet", "balance:devnet", "chain:mainnet", "cloudmesh:sol"}
    assert "0.0200 SOL" in str(rows["cloudmesh:sol"][2])
    assert "0.0500 ETH, below 0.1 ETH" in str(rows["balance:devnet"][2])
    assert "depth 2 at block 7" in str(rows["reorg:devnet"][2]) and rows["reorg:devnet"][1] == "10s"
    assert chain_attention(chains, now=5000.0).keys() == {"balance:devnet", "chain:mainnet", "cloudmesh:sol"}
    unisolated = Chain(name="cm", kind="solana", detail={"cloudmesh": {"sandbox": "none"}})
    refusing = Chain(name="cm2", kind="solana", detail={"cloudmesh": {"sandbox": "bwrap", "sandbox_error":
                                                                      "sandbox: bubblewrap is not installed"}})
    rows = chain_attention([unisolated, refusing], now=1000.0)
    assert "UNISOLATED" in str(rows["sandbox:cm"][2]) and "bubblewrap is not installed" in str(rows["sandbox:cm2"][2])


def test_a_worker_that_runs_jobs_unisolated_says_so() -> None:
    from console.screens.dashboard import _worker_row
    from engine.schema import Worker

    detail = {"remote": True, "max_concurrent_jobs": 4, "isolation": ["none: NOT ISOLATED", "session", "rlimits"]}
    bare = Worker(id="w1", pool="farm", state="idle", health="ok", detail=detail)
    boxed = Worker(id="w2", pool="farm", state="idle", health="ok", detail={**detail, "isolation": ["bubblewrap 0.8.0"]})
    assert str(_worker_row(bare)[2]) == "ok · NOT ISOLATED" and str(_worker_row(boxed)[2]) == "ok"


def test_an_engine_row_shows_the_services_it_runs() -> None:
    from console.screens.dashboard import _worker_row
    from engine.schema import Worker

    leading = Worker(id="db1:41:a1b2c3", pool="(engine)", state="running", heartbeat_at=None,
                     detail={"services": ["chain.head:structs", "store.timers"], "this": True})
    standby = Worker(id="db2:77:d4e5f6", pool="(engine)", state="running", detail={"services": []})
    assert str(_worker_row(leading)[4]) == "chain.head:structs, store.timers"
    assert str(_worker_row(standby)[4]) == ""


def test_feed_messages_without_a_screen_are_ignored_not_fatal() -> None:
    """Events and snapshots can arrive while the app starts, stops or switches modes (no screen
    on the stack): the console must not crash on them (it once did, in the bench)."""
    from console import Target, make_app
    from console.messages import EventsArrived, Resync

    app = make_app(Target("/nonexistent.sock"))
    assert app._screen() is None
    app.refresh_bar()
    app.on_events_arrived(EventsArrived([Event(seq=1, ts=0.0, type="job.submitted", job_id="x")]))
    app.on_resync(Resync())
    assert app._under_modal()


def test_every_action_in_the_table_has_a_handler_on_its_scope() -> None:
    from console.app import ShiftbossApp
    from console.screens.audit import AuditScreen
    from console.screens.cloudmesh import CloudMeshScreen
    from console.screens.dashboard import DashboardScreen
    from console.screens.detail import JobDetailScreen
    from console.screens.jobs import JobsScreen
    from console.screens.kale import KaleScreen

    owners = {"app": ShiftbossApp, "dashboard": DashboardScreen, "jobs": JobsScreen, "detail": JobDetailScreen,
              "audit": AuditScreen, "kale": KaleScreen, "cloudmesh": CloudMeshScreen}
    for a in actions.ACTIONS:
        target, _, name = a.action.rpartition(".")
        owner = ShiftbossApp if target == "app" or a.scope == "app" else owners[a.scope]
        method = "action_" + name.split("(")[0]
        assert hasattr(owner, method), f"{a.id}: {owner.__name__} has no {method}"


def test_wide_tables_show_whole_ids_and_the_layout_does_not_follow_the_scrollbar() -> None:
    from console.widgets.job_table import _cells, columns, header_line

    job = _job(7)
    job.id = "noop_01M8S4MAS894GYNYJP2RT5GPAM"  # 31 characters
    wide = columns(138, wide=True)  # a 140-wide table whose scrollbar takes two columns
    assert wide[0].width == 32 and _cells(job, 0.0, wide[0].width)[0] == job.id
    assert header_line(138, True).split()[:2] == ["ID", "STATE"] and header_line(138, True).index("STATE") == 33
    narrow = columns(100)
    assert _cells(job, 0.0, narrow[0].width)[0] == "…" + job.id[-11:]
