"""The dashboard: pools (queue depth with a sparkline, rates, why paused), workers (state, health,
hash rate), chain heads, and the attention panel — what an operator must look at now."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label

from console import actions, format
from console.api import JobQuery
from console.errors import ConsoleError
from console.format import POOL_STYLE, STATE_STYLE, ago, hashrate, rate, si, span, sparkline
from console.messages import Snapshot
from console.screens.base import LiveScreen
from console.screens.dialogs import AskReason, Confirm
from console.widgets.tables import sync_rows
from engine.schema import Chain, Job, Pool, Status, Worker

HISTORY = 40  # queue-depth samples kept per pool for its sparkline
ATTENTION_S = 3.0
DEADLINE_SOON_S = 120.0
WAITING_LATE_S = 30.0
FAILED_RECENT_S = 900.0
SHOW_FAILED = 3


class DashboardScreen(LiveScreen):
    SCOPE = "dashboard"
    BINDINGS = actions.bindings("dashboard")
    AUTO_FOCUS = "#pools"

    def __init__(self) -> None:
        super().__init__()
        self.depth: dict[str, deque[int]] = {}
        self._attention_jobs: dict[str, tuple[str, str, Text]] = {}
        self._status: Status | None = None
        self._workers: list[Worker] = []
        self._chains: list[Chain] = []
        self._last_at: float | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with Vertical(id="dash"):
            yield Label("Pools", classes="section")
            yield DataTable(id="pools", cursor_type="row", zebra_stripes=False)
            with Horizontal(id="dash-lower"):
                with Vertical(id="attention-box"):
                    yield Label("Attention", classes="section")
                    yield DataTable(id="attention", cursor_type="row")
                    yield Label("Running", classes="section", id="running-title")
                    yield DataTable(id="running", cursor_type="row")
                with Vertical(id="workers-box"):
                    yield Label("Workers", classes="section")
                    yield DataTable(id="workers", cursor_type="row")
                    yield Label("Chains", classes="section", id="chains-title")
                    yield DataTable(id="chains", cursor_type="row")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#pools", DataTable).add_columns("POOL", "STATE", "QUEUE", "DEPTH", "RUN", "WAIT", "RETRY",
                                                        "DONE/s", "FAIL/s", "WHY")
        self.query_one("#workers", DataTable).add_columns("WORKER", "STATE", "HEALTH", "RUN", "JOB", "HASHRATE",
                                                          "BEAT")
        self.query_one("#chains", DataTable).add_columns("CHAIN", "KIND", "HEAD", "LAG", "SIGNER", "NONCE", "TXS")
        self.query_one("#attention", DataTable).add_columns("!", "WHEN", "WHAT")
        self.query_one("#running", DataTable).add_columns("JOB", "KIND", "POOL", "FOR", "PROGRESS")
        self._show_chains(False)

    # --- data -------------------------------------------------------------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._status = snapshot.status
        self._workers = snapshot.workers
        self._chains = snapshot.chains
        for pool in snapshot.pools:
            self.depth.setdefault(pool.name, deque(maxlen=HISTORY))
            if snapshot.at != self._last_at:  # a new read, not the same one shown again
                self.depth[pool.name].append(pool.queued + pool.waiting + pool.retrying)
        self._last_at = snapshot.at
        sync_rows(self.query_one("#pools", DataTable), {p.name: self._pool_row(p) for p in snapshot.pools})
        sync_rows(self.query_one("#workers", DataTable), {w.id: _worker_row(w) for w in snapshot.workers})
        chains = {c.name: _chain_row(c) for c in snapshot.chains}
        self._show_chains(bool(chains))
        sync_rows(self.query_one("#chains", DataTable), chains)
        self._render_attention()

    def resync(self) -> None:
        self.fetch_attention()

    def _pool_row(self, p: Pool) -> list[str | Text]:
        depth = p.queued + p.waiting + p.retrying
        why = p.reason or ""
        if p.actor and p.state != "active":
            why = f"{why} ({p.actor}, {ago(p.since)})" if why else f"{p.actor}, {ago(p.since)}"
        return [p.name, Text(p.state, POOL_STYLE.get(p.state, "")), f"{depth:,}",
                sparkline(self.depth.get(p.name, [depth]), 16), f"{p.running}/{p.concurrency}", f"{p.waiting:,}",
                f"{p.retrying:,}", rate(p.completed_per_s), Text(rate(p.failed_per_s),
                                                                  "red" if p.failed_per_s else ""), why]

    def _show_chains(self, shown: bool) -> None:
        self.query_one("#chains").display = shown
        self.query_one("#chains-title").display = shown

    # --- attention --------------------------------------------------------------------------

    @work(exclusive=True, group="poll-attention")
    async def fetch_attention(self) -> None:
        if not self.shiftboss.frozen:
            api = self.shiftboss.api
            try:
                retrying, failed, waiting, running = await asyncio.gather(
                    api.jobs(JobQuery(state=("retrying",), sort="-updated"), limit=20, count=False),
                    api.jobs(JobQuery(state=("failed",), sort="-updated"), limit=20, count=False),
                    api.jobs(JobQuery(state=("waiting",), sort="created"), limit=50, count=False),
                    api.jobs(JobQuery(state=("running", "queued"), sort="-priority"), limit=200, count=False),
                )
            except ConsoleError:
                pass  # the status bar shows the connection; the next round tries again
            else:
                if not self.query("#running"):  # the console is closing: its widgets are gone
                    return
                now = format.clock()
                self._attention_jobs = attention_jobs(retrying.jobs + failed.jobs + waiting.jobs + running.jobs, now)
                self._render_attention()
                started = {short_id(j.id): j.started_at or j.updated_at for j in running.jobs if j.state == "running"}
                sync_rows(self.query_one("#running", DataTable),  # the longest running first
                          {j.id: _running_row(j, now) for j in running.jobs if j.state == "running"},
                          order=lambda cells: started.get(str(cells[0]), now))
        if self.is_current:
            self.set_timer(ATTENTION_S, self.fetch_attention)

    def _render_attention(self) -> None:
        rows: dict[str, tuple[str, str, Text]] = {}
        st = self._status
        if st is not None and st.estop.active:
            unsaved = "" if st.estop.persisted else " (not persisted yet: the store cannot write)"
            rows["estop"] = ("‼", ago(st.estop.since), Text(f"E-STOP by {st.estop.actor}: {st.estop.reason}{unsaved}",
                                                            "bold red"))
        if st is not None and not st.store.writable:
            rows["store"] = ("‼", ago(st.store.since), Text(f"the store cannot write: {st.store.error}", "bold red"))
        for p in st.pools if st else []:
            if p.stopped_by == "engine":
                continue  # the engine's e-stop is one row above, not one per pool
            if p.state == "stopped":
                rows[f"pool:{p.name}"] = ("‼", ago(p.since),
                                          Text(f"pool {p.name} e-stopped by {p.actor}: {p.reason}", "bold red"))
            elif p.state in ("paused", "draining"):
                rows[f"pool:{p.name}"] = ("!", ago(p.since),
                                          Text(f"pool {p.name} {p.state}: {p.reason or 'no reason given'}", "yellow"))
        for w in self._workers:
            if w.health != "ok":
                rows[f"worker:{w.id}"] = ("‼" if w.health == "down" else "!", ago(w.heartbeat_at),
                                          Text(f"worker {w.id} {w.health}" + (f": {w.reason}" if w.reason else ""),
                                               "red"))
        rows.update(chain_attention(self._chains, format.clock()))
        rows.update(self._attention_jobs)
        severity = {"‼": 0, "!": 1, "·": 2}
        ordered = dict(sorted(rows.items(), key=lambda kv: (severity.get(kv[1][0], 3), kv[0])))
        if not ordered:
            ordered = {"ok": ("·", "", Text("nothing needs attention", "green"))}
        sync_rows(self.query_one("#attention", DataTable), ordered,
                  order=lambda cells: (severity.get(str(cells[0]), 3), str(cells[2])))

    @on(DataTable.RowSelected, "#attention")
    def open_attention(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if key.startswith("job:"):
            self.open_job(key[4:])

    @on(DataTable.RowSelected, "#running")
    def open_running(self, event: DataTable.RowSelected) -> None:
        self.open_job(str(event.row_key.value))

    # --- pool actions -----------------------------------------------------------------------

    def _pool(self) -> str | None:
        table = self.query_one("#pools", DataTable)
        if not table.rows:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_pause_pool(self) -> None:
        name = self._pool()
        if name is None:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.request(f"pause pool {name}", lambda: self.shiftboss.api.pool_action(name, "pause", reason))

        self.app.push_screen(AskReason(f"Pause pool {name}", "It stops claiming new jobs; running ones finish.",
                                       yes="Pause"), done)

    def action_resume_pool(self) -> None:
        name = self._pool()
        if name is not None:
            self.request(f"resume pool {name}", lambda: self.shiftboss.api.pool_action(name, "resume"))

    def action_drain_pool(self) -> None:
        name = self._pool()
        if name is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.request(f"drain pool {name}", lambda: self.shiftboss.api.pool_action(name, "drain", "console"))

        self.app.push_screen(Confirm(f"Drain pool {name}?", "Running jobs finish; nothing new is claimed until "
                                     "you resume the pool.", yes="Drain", danger=True), done)


    def action_drain_worker(self) -> None:
        table = self.query_one("#workers", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        worker = next((w for w in self._workers if w.id == key), None)
        if worker is None or not worker.detail.get("remote"):
            self.notify("drain applies to a trusted pool's remote workers (move the cursor onto one)", severity="warning")
            return
        worker_id = str(worker.detail["worker_id"])
        action: Literal["drain", "undrain"] = "undrain" if worker.state == "drained" else "drain"
        if action == "undrain":
            self.request(f"undrain worker {worker.id}", lambda: self.shiftboss.api.worker_action(worker_id, "undrain"))
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.request(f"drain worker {worker.id}",
                             lambda: self.shiftboss.api.worker_action(worker_id, "drain", reason))

        self.app.push_screen(AskReason(f"Drain worker {worker.id}", "It is sent no new jobs; running ones finish.",
                                       yes="Drain"), done)


def _chain_row(c: Chain) -> list[str | Text]:
    signer = (c.detail or {}).get("signer") or {}
    balance = signer.get("balance_eth")
    funds = "" if not signer else ("?" if balance is None else f"{balance:,.3f} ETH")
    nonce = "" if not signer else f"{signer.get('chain_pending_nonce', '?')}/{signer.get('ledger_next_nonce', '?')}"
    txs = " ".join(f"{n} {state}" for state, n in sorted((signer.get("txs") or {}).items()))
    return [c.name, c.kind, "—" if c.head is None else f"{c.head:,}", "—" if c.lag_s is None else f"{c.lag_s:.1f}s",
            Text(funds, "bold red" if signer.get("low_balance") else ""), nonce, txs]


def _worker_row(w: Worker) -> list[str | Text]:
    rates = w.detail.get("hashrate")
    job = short_id(w.jobs[0]) if len(w.jobs) == 1 else (f"{len(w.jobs)} jobs" if w.jobs else "")
    if w.pool == "(engine)" and w.detail.get("services"):  # engines sharing a store: what this one runs
        job = ", ".join(str(name) for name in w.detail["services"])
    run = f"{w.running}/{w.detail['max_concurrent_jobs']}" if w.detail.get("remote") else str(w.running)
    health = Text(w.health, {"ok": "green", "degraded": "yellow", "down": "bold red"}[w.health])
    if any(str(name).startswith("none") for name in w.detail.get("isolation") or []):
        health.append(" · NOT ISOLATED", "bold red")  # the worker runs jobs with sandbox = none
    return [w.id, Text(w.state, "yellow" if w.state == "compiling" else ""), health,
            run, job, si(hashrate(rates), "H/s") if rates is not None else "", ago(w.heartbeat_at)]


def attention_jobs(jobs: list[Job], now: float) -> dict[str, tuple[str, str, Text]]:
    """The jobs an operator should look at (key → severity, when, what): retrying, failed lately
    (the newest few, and how many in all), waiting past their time, PoW jobs near their deadline."""
    out: dict[str, tuple[str, str, Text]] = {}
    failed = sorted((j for j in jobs if j.state == "failed" and now - j.updated_at < FAILED_RECENT_S),
                    key=lambda j: -j.updated_at)
    if len(failed) > SHOW_FAILED:
        more = "+" if len(failed) >= 20 else ""
        out["failed"] = ("!", ago(failed[0].updated_at, now),
                         Text(f"{len(failed)}{more} jobs failed in the last {span(FAILED_RECENT_S)} (jobs: s → failed)",
                              "red"))
    for job in jobs:
        key = f"job:{job.id}"
        name = f"{job.kind} {short_id(job.id)}"
        err = f": {job.error.message}" if job.error else ""
        if job.state == "retrying":
            when = "" if job.not_before is None else span(job.not_before - now)
            out[key] = ("!", when, Text(f"{name} retrying {job.attempts}/{job.max_attempts}{err}",
                                        STATE_STYLE["retrying"]))
        elif job.state == "failed" and job in failed[:SHOW_FAILED]:
            out[key] = ("!", ago(job.updated_at, now), Text(f"{name} failed{err}", "red"))
        elif job.state == "waiting" and job.not_before is not None and now - job.not_before > WAITING_LATE_S:
            info = (job.progress or {}).get("waiting_info") or {}
            gate = ", ".join(f"{k}={v}" for k, v in info.items()) if isinstance(info, dict) else str(info)
            out[key] = ("!", ago(job.not_before, now), Text(f"{name} waiting past its time" +
                                                            (f" ({gate})" if gate else ""), "blue"))
        if (job.kind.startswith("pow.") and job.deadline is not None and job.state not in ("completed", "failed")
                and job.deadline - now < DEADLINE_SOON_S):
            out[key] = ("‼" if job.deadline < now + 30 else "!", span(job.deadline - now),
                        Text(f"{name} deadline close ({job.state})", "bold yellow"))
    return out


def chain_attention(chains: list[Chain], now: float) -> dict[str, tuple[str, str, Text]]:
    """A chain that cannot be reached, a signer (or the CloudMesh worker) low on funds, a recent reorg."""
    out: dict[str, tuple[str, str, Text]] = {}
    for chain in chains:
        detail = chain.detail or {}
        if detail.get("error"):
            out[f"chain:{chain.name}"] = ("‼", "", Text(f"chain {chain.name}: {detail['error']}", "bold red"))
        signer = detail.get("signer") or {}
        if signer.get("low_balance"):
            address = str(signer.get("address", ""))
            out[f"balance:{chain.name}"] = ("‼", "", Text(
                f"signer {address[:6]}…{address[-4:]} on {chain.name}: {signer.get('balance_eth', 0):.4f} ETH, "
                f"below {signer.get('min_balance_eth')} ETH", "bold red"))
        mesh = detail.get("cloudmesh") or {}
        if mesh.get("low_balance"):
            address = str(mesh.get("address", ""))
            out[f"cloudmesh:{chain.name}"] = ("‼", "", Text(
                f"CloudMesh worker {address[:6]}…{address[-4:]} on {chain.name}: "
                f"{(mesh.get('balance') or 0) / 1e9:.4f} SOL — complete_job needs fees", "bold red"))
        if mesh.get("sandbox_error"):
            out[f"sandbox:{chain.name}"] = ("‼", "", Text(f"CloudMesh runs no code: {mesh['sandbox_error']}", "bold red"))
        elif mesh.get("sandbox") == "none":
            out[f"sandbox:{chain.name}"] = ("!", "", Text("CloudMesh runs job code UNISOLATED (sandbox = none)",
                                                          "bold yellow"))
        for reorg in (detail.get("reorgs") or [])[-1:]:
            if now - float(reorg.get("at", 0)) < 600:
                out[f"reorg:{chain.name}"] = ("!", ago(reorg.get("at"), now), Text(
                    f"reorg on {chain.name}: depth {reorg.get('depth')} at block {reorg.get('fork_block')}", "yellow"))
    return out


def _running_row(job: Job, now: float) -> list[str | Text]:
    return [short_id(job.id), job.kind, job.pool, span(now - (job.started_at or job.updated_at)), format.summary(job)]


def short_id(job_id: str) -> str:
    return job_id if len(job_id) <= 12 else "…" + job_id[-11:]
