"""``shiftboss jobs …``: submit, list, show, retry, cancel, watch."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from engine.cli._common import EXIT_CONFIG, EXIT_ERROR, client_options
from engine.client import Client, ClientError
from engine.output import ago, emit_json, fail, state, table
from engine.schema import JOB_STATES, TERMINAL_STATES
from engine.schema.files import FilesError, job_tarball

_BATCH = 5000
_PAST = {"retry": "retried", "cancel": "cancelled"}


@click.group()
def jobs() -> None:
    """Submit, inspect and steer jobs."""


def _payload(payload_json: str | None, fields: tuple[str, ...]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if payload_json:
        try:
            payload = json.loads(payload_json)
        except json.JSONDecodeError as exc:
            fail(f"--payload is not valid JSON: {exc}", EXIT_CONFIG)
        if not isinstance(payload, dict):
            fail("--payload must be a JSON object", EXIT_CONFIG)
    for item in fields:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"-p expects key=value, got {item!r}", EXIT_CONFIG)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        *parents, last = key.split(".")  # manifest.entrypoint=main.py sets payload["manifest"]["entrypoint"]
        node = payload
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                fail(f"-p {key}: {part} is not an object in the payload", EXIT_CONFIG)
        node[last] = parsed
    return payload


def _uploads(client: Client, payload: dict[str, Any], uploads: tuple[str, ...]) -> None:
    """``--upload FIELD=PATH``: PATH (a directory or tarball) packed, uploaded, and FIELD set to
    the SHA-256 the engine stored it under."""
    for item in uploads:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            fail(f"--upload expects FIELD=PATH, got {item!r}", EXIT_CONFIG)
        try:
            data = job_tarball(path)
        except FilesError as exc:
            fail(f"--upload {key}: {exc}", EXIT_CONFIG)
        payload[key] = client.post_bytes("/v1/files", data)["sha256"]


@jobs.command("submit")
@click.argument("kind")
@click.option("--payload", "payload_json", metavar="JSON", help="Payload as a JSON object.")
@click.option("-p", "fields", multiple=True, metavar="KEY=VALUE", help="A payload field (value parsed as JSON if it can be).")
@click.option("--upload", "uploads", multiple=True, metavar="FIELD=PATH",
              help="Pack PATH (a directory or tarball), upload it, and set FIELD to its SHA-256 (compute.run's files).")
@click.option("--priority", type=click.IntRange(0, 9), default=5, show_default=True, help="0–9, higher runs first.")
@click.option("--pool", help="Pool to run in (default: the pool that serves the kind).")
@click.option("--delay", type=float, help="Seconds to wait before the job may run.")
@click.option("--ttl", type=float, help="Seconds until the job expires if not completed.")
@click.option("--timeout", type=float, help="Seconds one attempt may run.")
@click.option("--max-attempts", type=int, help="Attempt budget.")
@click.option("--backoff", type=float, help="First retry delay in seconds (doubles per attempt).")
@click.option("--key", "idempotency_key", help="Idempotency key: the same key never makes a second job.")
@click.option("--count", type=click.IntRange(1, 10_000_000), default=1, show_default=True,
              help="Submit this many copies (batched, each batch one transaction).")
@click.option("--wait", is_flag=True, help="Wait until the job finishes; exit 1 unless it completed.")
@client_options
def submit(client: Client, as_json: bool, kind: str, payload_json: str | None, fields: tuple[str, ...],
           uploads: tuple[str, ...], priority: int, pool: str | None, delay: float | None, ttl: float | None, timeout: float | None,
           max_attempts: int | None, backoff: float | None, idempotency_key: str | None, count: int,
           wait: bool) -> None:
    """Submit a job of KIND (see `shiftboss jobs kinds`).

    \b
    Examples:
      shiftboss jobs submit sleep -p seconds=5
      shiftboss jobs submit demo.flaky --payload '{"fail_times": 2}' --wait
      shiftboss jobs submit noop --priority 9 --delay 30 --ttl 600 --key nightly-2026-11-23
      shiftboss jobs submit noop --count 10000
      shiftboss jobs submit compute.run --upload files=./job -p manifest.entrypoint=main.py --wait
    """
    payload = _payload(payload_json, fields)
    _uploads(client, payload, uploads)
    spec: dict[str, Any] = {"kind": kind, "payload": payload, "priority": priority}
    for name, value in (("pool", pool), ("delay", delay), ("ttl", ttl), ("timeout", timeout),
                        ("max_attempts", max_attempts), ("backoff", backoff), ("idempotency_key", idempotency_key)):
        if value is not None:
            spec[name] = value
    if count > 1 and idempotency_key:
        fail("--count and --key together would make one job; drop one", EXIT_CONFIG)
    results: list[dict[str, Any]] = []
    if count == 1:
        results.append(client.post("/v1/jobs", spec))
    else:
        show = not as_json and count >= 5 * _BATCH
        for start in range(0, count, _BATCH):
            results += client.post("/v1/jobs", {"jobs": [spec] * min(_BATCH, count - start)})["jobs"]
            if show:
                click.echo(f"\rsubmitted {len(results):,}/{count:,}", nl=False, err=True)
        if show:
            click.echo(err=True)
    if wait and count == 1:
        job = _wait(client, results[0]["id"], show=not as_json and sys.stderr.isatty())
        if as_json:
            emit_json(job)
        else:
            _print_job(job, [])
        if job["state"] != "completed":
            raise SystemExit(EXIT_ERROR)
        return
    if as_json:
        emit_json(results[0] if count == 1 else {"jobs": results})
    elif count == 1:
        r = results[0]
        click.echo(f"{r['id']}  {r['state']}" + ("" if r["created"] else "  (existing job: same idempotency key)"))
    else:
        click.echo(f"submitted {sum(r['created'] for r in results):,} jobs")


def _wait(client: Client, job_id: str, *, show: bool = False) -> dict[str, Any]:
    """Follow the job to its end; with ``show``, one status line on stderr as it moves."""
    job = client.get(f"/v1/jobs/{job_id}")["job"]
    if job["state"] in TERMINAL_STATES:
        return job
    began = time.monotonic()
    state, detail = job["state"], ""
    for event in client.events(job=job_id, since=0):
        if event.type == "job.state":
            state = event.data.get("to", state)
            if state in TERMINAL_STATES:
                break
        elif event.type == "job.progress":
            detail = _progress_line(event.data)
        if show:
            line = f"{job_id}: {state}" + (f" · {detail}" if detail else "") + f" · {time.monotonic() - began:.0f}s"
            click.echo("\r" + line[:110].ljust(110), nl=False, err=True)
    if show:
        click.echo(err=True)
    return client.get(f"/v1/jobs/{job_id}")["job"]  # type: ignore[no-any-return]


def _progress_line(progress: dict[str, Any]) -> str:
    if "hashrate" in progress:
        rate = (progress.get("hashrate") or {}).get("10s") or 0
        return f"{rate / 1e6:,.2f} MH/s · best {progress.get('best_zeros', 0)} zeros · {progress.get('hashes', 0):,} hashes"
    if "waiting_info" in progress:
        info = progress["waiting_info"]
        return f"waiting for {info.get('chain')}: {info.get('blocks_remaining')} blocks to go"
    if "total" in progress:
        return f"{progress.get('elapsed', 0):g}/{progress['total']:g} s"
    return ""


@jobs.command("kinds")
@client_options
def kinds(client: Client, as_json: bool) -> None:
    """Job kinds this engine runs, with their payload fields."""
    data = client.get("/v1/kinds")
    if as_json:
        emit_json(data)
        return
    for k in data["kinds"]:
        defs: dict[str, Any] = k["payload_schema"].get("$defs", {})
        payload: dict[str, Any] = next(iter(defs.values())) if defs else {}
        required = set(payload.get("required", []))
        click.echo(f"{click.style(k['name'], bold=True)}  (pool {k['pool']}, {k['max_attempts']} attempts, "
                   f"{k['timeout']:g} s timeout)\n  {k['description']}")
        for name, schema in payload.get("properties", {}).items():
            click.echo(f"    {describe_field(name, schema, name in required)}")


def describe_field(name: str, schema: dict[str, Any], required: bool) -> str:
    """One payload field as a line: ``name: type (bounds) required|= default — description``."""
    options = schema.get("anyOf", [schema])
    real = [o for o in options if o.get("type") != "null"] or options
    first = real[0]
    if "enum" in first:
        kind = " | ".join(json.dumps(v) for v in first["enum"])
    else:
        kind = first.get("type", "any")
    if len(real) < len(options):
        kind += " or null"
    bounds = [f"{label} {first[key]}" for key, label in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                                                          ("exclusiveMaximum", "<"), ("minLength", "length ≥"),
                                                          ("maxLength", "length ≤"), ("pattern", "matches"))
              if key in first]
    line = f"{name}: {kind}" + (f" ({', '.join(bounds)})" if bounds else "")
    line += ", required" if required else f" = {json.dumps(schema.get('default'))}" if "default" in schema else ""
    description = first.get("description") or schema.get("description")
    return line + (f" — {description}" if description else "")


def filter_options(fn: Any) -> Any:
    fn = click.option("--text", help="Match id, kind, payload, error or idempotency key.")(fn)
    fn = click.option("--pool", help="Only this pool.")(fn)
    fn = click.option("--kind", help="Only this kind.")(fn)
    return click.option("--state", "states", multiple=True, type=click.Choice(JOB_STATES),
                        help="Only jobs in this state (repeatable).")(fn)


@jobs.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--cursor", help="Continue after this cursor (printed at the end of a page).")
@client_options
def list_(client: Client, as_json: bool, states: tuple[str, ...], kind: str | None, pool: str | None,
          text: str | None, limit: int, cursor: str | None) -> None:
    """List jobs, newest first."""
    data = client.get("/v1/jobs", state=",".join(states) or None, kind=kind, pool=pool, text=text, limit=limit,
                      cursor=cursor)
    if as_json:
        emit_json(data)
        return
    now = time.time()
    table(["id", "kind", "pool", "state", "pri", "tries", "updated", "note"],
          [[j["id"], j["kind"], j["pool"], j["state"], j["priority"], f"{j['attempts']}/{j['max_attempts']}",
            ago(j["updated_at"], now), _note(j, now)] for j in data["jobs"]], empty="no jobs match")
    more = f" · next page: --cursor {data['next_cursor']}" if data.get("next_cursor") else ""
    click.echo(f"{len(data['jobs'])} of {data['total']:,}{more}")


def _note(job: dict[str, Any], now: float) -> str:
    if job.get("error") and job["state"] in ("failed", "retrying", "expired", "cancelled"):
        text = f"{job['error']['code']}: {job['error']['message']}"
        if job["state"] == "retrying" and job.get("not_before"):
            text = f"retry {ago(job['not_before'], now)} · " + text
        return text[:60]
    if job["state"] == "waiting" and job.get("not_before"):
        return f"runs {ago(job['not_before'], now)}"
    return ""


@jobs.command("show")
@click.argument("job_id")
@client_options
def show(client: Client, as_json: bool, job_id: str) -> None:
    """One job: payload, progress, attempts, result or error, audit records."""
    data = client.get(f"/v1/jobs/{job_id}")
    if as_json:
        emit_json(data)
    else:
        _print_job(data["job"], data["audit"])


def _print_job(job: dict[str, Any], audit: list[dict[str, Any]]) -> None:
    click.echo(f"{click.style(job['id'], bold=True)}  {state(job['state'])}")
    for label, value in (("kind", job["kind"]), ("pool", job["pool"]), ("priority", job["priority"]),
                         ("attempts", f"{job['attempts']}/{job['max_attempts']} (timeout {job['timeout']:g} s)"),
                         ("created", ago(job["created_at"])), ("not before", ago(job.get("not_before"))),
                         ("deadline", ago(job.get("deadline"))), ("key", job.get("idempotency_key"))):
        if value not in (None, "-"):
            click.echo(f"  {label:<10} {value}")
    click.echo(f"  payload    {json.dumps(job['payload'])}")
    if job.get("progress"):
        click.echo(f"  progress   {json.dumps(job['progress'])}")
    if job.get("result") is not None:
        click.echo(f"  result     {json.dumps(job['result'])}")
    if job.get("error"):
        e = job["error"]
        click.echo(f"  error      {e['code']}: {e['message']} ({'retryable' if e['retryable'] else 'not retryable'})")
    if job.get("history"):
        click.echo("\nattempts")
        table(["#", "started", "took", "outcome", "error"],
              [[a["n"], ago(a["started_at"]), f"{a['finished_at'] - a['started_at']:.3f}s" if a.get("finished_at") else "-",
                a["outcome"], (a["error"] or {}).get("message", "")[:60]] for a in job["history"]])
    if audit:
        click.echo("\naudit")
        table(["when", "actor", "action", "reason"], [[ago(r["ts"]), r["actor"], r["action"], r["reason"]] for r in audit])


def _bulk_or_single(action: str) -> Any:
    @click.argument("job_ids", nargs=-1)
    @filter_options
    @click.option("--reason", default="", help="Why (recorded in the audit log).")
    @click.option("--dry-run", is_flag=True, help="Only count the jobs the filter selects.")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation of a bulk action.")
    @client_options
    def command(client: Client, as_json: bool, job_ids: tuple[str, ...], states: tuple[str, ...], kind: str | None,
                pool: str | None, text: str | None, reason: str, dry_run: bool, yes: bool) -> None:
        has_filter = bool(states or kind or pool or text)
        if job_ids and has_filter:
            fail("give job ids or a filter, not both", EXIT_CONFIG)
        if not job_ids and not has_filter:
            fail(f"give job ids, or a filter (--state/--kind/--pool/--text) to {action} in bulk", EXIT_CONFIG)
        if job_ids:
            results, errors = [], 0
            for job_id in job_ids:
                try:
                    results.append(client.post(f"/v1/jobs/{job_id}/{action}", {"reason": reason}))
                except ClientError as exc:
                    if len(job_ids) == 1:
                        raise
                    errors += 1
                    results.append({"id": job_id, "error": {"code": exc.code, "message": str(exc)}})
            if as_json:
                emit_json(results[0] if len(results) == 1 else {"results": results})
            else:
                for r in results:
                    click.echo(f"{r['id']}  {r.get('state') or 'error: ' + r['error']['message']}")
            if errors:
                raise SystemExit(EXIT_ERROR)
            return
        flt = {"state": list(states) or None, "kind": kind, "pool": pool, "text": text}
        preview = client.post(f"/v1/jobs/{action}", {"filter": flt, "dry_run": True, "reason": reason})
        if dry_run or preview["matched"] == 0:
            if as_json:
                emit_json(preview)
            else:
                click.echo(f"{preview['matched']:,} job(s) would be {_PAST[action]}")
            return
        if not yes and not as_json:
            click.confirm(f"{action} {preview['matched']:,} job(s)?", abort=True)
        result = client.post(f"/v1/jobs/{action}", {"filter": flt, "dry_run": False, "reason": reason})
        if as_json:
            emit_json(result)
        else:
            click.echo(f"{action}: {result['changed']:,} of {result['matched']:,} job(s)")

    return command


jobs.command("retry", help="Retry failed, cancelled or expired jobs: by id, or every job a filter selects "
             "(asks for confirmation after a preview count; --dry-run only counts).")(_bulk_or_single("retry"))
jobs.command("cancel", help="Cancel jobs: by id, or every job a filter selects (asks for confirmation after a "
             "preview count; --dry-run only counts). Running jobs go cancelling, then cancelled.")(_bulk_or_single("cancel"))


@jobs.command("watch")
@click.argument("job_id", required=False)
@click.option("--since", type=int, help="Replay events after this sequence number first.")
@click.option("--types", help="Only these event types (comma-separated prefixes, e.g. job.state,audit).")
@client_options
def watch(client: Client, as_json: bool, job_id: str | None, since: int | None, types: str | None) -> None:
    """Follow the event stream live (one job's, if JOB_ID is given: ends when it finishes)."""
    try:
        follow(client, job_id, since, types, as_json=as_json)
    except KeyboardInterrupt:
        pass


def follow(client: Client, job_id: str | None, since: int | None, types: str | None, *, as_json: bool = False) -> None:
    if job_id is not None:
        job = client.get(f"/v1/jobs/{job_id}")["job"]
        if since is None:
            since = 0
        if job["state"] in TERMINAL_STATES and not as_json:
            click.echo(f"{job_id} is already {job['state']}")
    last = since
    while True:
        try:
            for event in client.events(last, job=job_id, types=types):
                if event.type == "stream.heartbeat":
                    continue
                last = event.seq if event.type != "stream.reset" else last
                if as_json:
                    click.echo(json.dumps({"seq": event.seq, "ts": event.ts, "type": event.type, "job_id": event.job_id,
                                           "pool": event.pool, "data": event.data}))
                else:
                    click.echo(_event_line(event))
                if job_id and event.type == "job.state" and event.data.get("to") in TERMINAL_STATES:
                    return
            return
        except ClientError as exc:
            if exc.code not in ("closed", "unreachable"):
                raise
            click.echo(click.style(f"connection lost ({exc}); reconnecting…", fg="yellow"), err=True)
            time.sleep(1)


def _event_line(event: Any) -> str:
    t = time.strftime("%H:%M:%S", time.localtime(event.ts))
    d = event.data
    if event.type == "job.state":
        extra = ""
        if d.get("error"):
            extra = f"  {d['error']['code']}: {d['error']['message']}"
        return f"{t} #{event.seq:<8} {event.job_id}  {d['from']} → {state(d['to'])}{extra}"
    if event.type == "job.submitted":
        return f"{t} #{event.seq:<8} {event.job_id}  submitted → {state(d['state'])}"
    if event.type == "job.progress":
        return f"{t} #{event.seq:<8} {event.job_id}  progress {json.dumps(d)}"
    if event.type == "audit":
        return f"{t} #{event.seq:<8} audit  {d['actor']} {d['action']} {d['target']}" + (f" — {d['reason']}" if d.get("reason") else "")
    return f"{t} #{event.seq:<8} {event.type} {json.dumps(d)}"
