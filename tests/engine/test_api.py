"""The control API over a real hypercorn server: Unix socket and TCP loopback (port 0)."""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import trio

from engine.config import Settings
from engine.errors import ConfigError
from engine.schema import ErrorEnvelope, Event, JobSubmit
from engine.supervisor import Supervisor
from tests.conftest import make_settings, running_engine, wait_for


async def snapshot(engine: Supervisor, client: httpx.AsyncClient) -> tuple[int, int, int]:
    """What must not change after a refused request: jobs, audit records, last event."""
    total = (await client.get("/v1/jobs", params={"limit": 1})).json()["total"]
    audit = len((await client.get("/v1/audit", params={"limit": 1000})).json()["records"])
    return total, audit, engine.store.last_seq


async def state_is(client: httpx.AsyncClient, job_id: str, state: str) -> bool:
    return (await client.get(f"/v1/jobs/{job_id}")).json()["job"]["state"] == state  # type: ignore[no-any-return]


def error_of(response: httpx.Response) -> dict[str, Any]:
    envelope = msgspec.json.decode(response.content, type=ErrorEnvelope)  # the documented shape, exactly
    return msgspec.to_builtins(envelope.error)  # type: ignore[no-any-return]


BAD_REQUESTS = [
    # (method, path, body bytes, status, code, field)
    ("POST", "/v1/jobs", b'{"kind": "noop",', 400, "malformed_json", None),
    ("POST", "/v1/jobs", b'{"kind": "mint.money"}', 422, "unknown_kind", "kind"),
    ("POST", "/v1/jobs", b'{"kind": "sleep", "payload": {"seconds": "soon"}}', 422, "invalid_payload", "payload.seconds"),
    ("POST", "/v1/jobs", b'{"kind": "sleep", "payload": {}}', 422, "invalid_payload", "payload.seconds"),
    ("POST", "/v1/jobs", b'{"kind": "sleep", "payload": {"seconds": -1}}', 422, "invalid_payload", "payload.seconds"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "priority": 11}', 422, "invalid_request", "priority"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "colour": "red"}', 422, "invalid_request", "colour"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "pool": "nowhere"}', 422, "unknown_pool", "pool"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "delay": 5, "not_before": 1}', 422, "invalid_request", "delay"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "deadline": 1}', 422, "invalid_request", "deadline"),
    ("POST", "/v1/jobs", b'{"jobs": [{"kind": "noop"}, {"kind": "sleep", "payload": {"seconds": "x"}}]}', 422,
     "invalid_payload", "jobs[1].payload.seconds"),
    ("POST", "/v1/jobs", b'{"jobs": []}', 422, "invalid_request", "jobs"),
    ("GET", "/v1/jobs/noop_NOSUCHJOB", b"", 404, "job_not_found", None),
    ("POST", "/v1/jobs/noop_NOSUCHJOB/retry", b"", 404, "job_not_found", None),
    ("GET", "/v1/jobs?state=sleeping", b"", 422, "invalid_request", "state"),
    ("GET", "/v1/jobs?limit=abc", b"", 422, "invalid_request", "limit"),
    ("POST", "/v1/estop", b'{"reason": ""}', 422, "invalid_request", "reason"),
    ("POST", "/v1/estop", b"{}", 422, "invalid_request", "reason"),
    ("POST", "/v1/estop", b'{"reason": "ok\\nfake: resumed by admin"}', 422, "invalid_request", "reason"),
    ("POST", "/v1/pools/default/pause", b'{"reason": "nul\\u0000"}', 422, "invalid_request", "reason"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "delay": 1e308}', 422, "invalid_request", "delay"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "ttl": 1e308}', 422, "invalid_request", "ttl"),
    ("POST", "/v1/jobs", b'{"kind": "noop", "not_before": 1e300}', 422, "invalid_request", "not_before"),
    ("POST", "/v1/pools/nowhere/pause", b"", 404, "unknown_pool", None),
    ("POST", "/v1/pools/default/explode", b"", 404, "not_found", None),
    ("POST", "/v1/jobs/cancel", b'{"filter": {"state": ["bogus"]}}', 422, "invalid_request", "filter.state[0]"),
    ("GET", "/v1/nothing", b"", 404, "not_found", None),
    ("DELETE", "/v1/status", b"", 405, "method_not_allowed", None),
]


@pytest.mark.trio
async def test_bad_requests_get_clear_errors_and_change_nothing(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (engine, client):
        await client.post("/v1/jobs", json={"kind": "noop"})
        await trio.sleep(0.1)
        before = await snapshot(engine, client)
        for method, path, body, status, code, field in BAD_REQUESTS:
            r = await client.request(method, path, content=body)
            assert r.status_code == status, (path, body, r.text)
            err = error_of(r)
            assert err["code"] == code, (path, body, err)
            assert err["message"], err
            if field is not None:
                assert err["details"]["field"] == field, (path, body, err)
                assert field in err["message"]
        assert await snapshot(engine, client) == before
        assert (await client.get("/v1/status")).status_code == 200  # still serving


@pytest.mark.trio
async def test_retry_of_a_running_job_is_a_conflict(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (engine, client):
        job_id = (await client.post("/v1/jobs", json={"kind": "sleep", "payload": {"seconds": 30}})).json()["id"]
        await wait_for(lambda: state_is(client, job_id, "running"))
        before = await snapshot(engine, client)
        r = await client.post(f"/v1/jobs/{job_id}/retry", json={"reason": "again"})
        assert r.status_code == 409
        assert error_of(r) == {"code": "invalid_state", "message": f"cannot retry job {job_id}: it is running",
                               "details": {"id": job_id, "state": "running"}}
        assert await snapshot(engine, client) == before


@pytest.mark.trio
async def test_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **{"api.max_body_bytes": 2048})
    async with running_engine(settings) as (engine, client):
        before = await snapshot(engine, client)
        big = json.dumps({"kind": "noop", "payload": {"note": "x" * 900}, "idempotency_key": "k" * 100})
        r = await client.post("/v1/jobs", content=json.dumps({"jobs": [json.loads(big)] * 4}))
        assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"

        async def chunks():  # no content-length: the limit is enforced while reading
            for _ in range(10):
                yield b" " * 1000

        r = await client.post("/v1/jobs", content=chunks())
        assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"
        assert await snapshot(engine, client) == before


@pytest.mark.trio
async def test_batch_submit_idempotency_and_listing(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path, **{"pools.default.concurrency": 1})) as (_engine, client):
        await client.post("/v1/pools/default/pause", json={"reason": "hold for the test"})
        r = await client.post("/v1/jobs", json={"jobs": [{"kind": "noop", "priority": p} for p in range(10)]})
        assert r.status_code == 201 and len(r.json()["jobs"]) == 10
        first = await client.post("/v1/jobs", json={"kind": "noop", "idempotency_key": "wf-7@1700000000"})
        again = await client.post("/v1/jobs", json={"kind": "noop", "idempotency_key": "wf-7@1700000000"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json() == {**first.json(), "created": False}
        page1 = (await client.get("/v1/jobs", params={"limit": 4, "state": "queued"})).json()
        assert page1["total"] == 11 and len(page1["jobs"]) == 4
        page2 = (await client.get("/v1/jobs", params={"limit": 4, "cursor": page1["next_cursor"]})).json()
        ids = [j["id"] for j in page1["jobs"] + page2["jobs"]]
        assert len(set(ids)) == 8
        found = (await client.get("/v1/jobs", params={"text": "wf-7@"})).json()
        assert [j["id"] for j in found["jobs"]] == [first.json()["id"]]


@pytest.mark.trio
async def test_listing_sorts_and_jumps_by_offset(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        await client.post("/v1/pools/default/pause", json={"reason": "hold for the test"})
        await client.post("/v1/jobs", json={"jobs": [{"kind": "noop", "priority": p % 10} for p in range(25)]})
        newest = (await client.get("/v1/jobs", params={"limit": 25})).json()["jobs"]
        by_priority = (await client.get("/v1/jobs", params={"limit": 25, "sort": "-priority"})).json()["jobs"]
        assert [j["priority"] for j in by_priority] == sorted((j["priority"] for j in newest), reverse=True)
        oldest = (await client.get("/v1/jobs", params={"limit": 25, "sort": "created"})).json()["jobs"]
        assert [j["id"] for j in oldest] == [j["id"] for j in reversed(newest)]
        page = (await client.get("/v1/jobs", params={"limit": 5, "offset": 20, "count": 0})).json()
        assert [j["id"] for j in page["jobs"]] == [j["id"] for j in newest[20:]]
        assert page["total"] == 0 and page["next_cursor"] is None
        for params, field in (({"sort": "size"}, "sort"), ({"sort": "kind", "cursor": 5}, "cursor"),
                              ({"offset": -1}, "offset")):
            r = await client.get("/v1/jobs", params=params)
            assert r.status_code == 422 and error_of(r)["details"]["field"] == field


@pytest.mark.trio
async def test_bulk_cancel_with_a_dry_run_count(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        await client.post("/v1/pools/default/pause", json={"reason": "hold"})
        await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 5 + [{"kind": "sleep", "payload": {"seconds": 1}}]})
        body = {"filter": {"kind": "noop"}, "dry_run": True}
        preview = (await client.post("/v1/jobs/cancel", json=body)).json()
        assert preview == {"action": "cancel", "matched": 5, "changed": 0, "dry_run": True}
        result = (await client.post("/v1/jobs/cancel", json={**body, "dry_run": False, "reason": "bad batch"})).json()
        assert result["changed"] == 5
        counts = (await client.get("/v1/status")).json()["counts"]
        assert counts == {"cancelled": 5, "queued": 1}
        retried = (await client.post("/v1/jobs/retry", json={"filter": {"state": ["cancelled"]}})).json()
        assert retried["changed"] == 5


@pytest.mark.trio
async def test_event_stream_resumes_from_a_sequence_number_without_gaps(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        seen: list[Event] = []

        def completed() -> set[str | None]:
            return {e.job_id for e in seen if e.type == "job.state" and e.data["to"] == "completed"}

        async def read_until(since: int, done: Any) -> None:
            async with client.stream("GET", "/v1/events", params={"since": since}) as resp:
                assert resp.headers["content-type"] == "application/x-ndjson"
                async for line in resp.aiter_lines():
                    event = msgspec.json.decode(line, type=Event)
                    if event.type.startswith("stream."):
                        continue
                    seen.append(event)
                    if done():
                        return

        with trio.fail_after(10):
            await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 20})
            await read_until(0, lambda: len(seen) >= 15)  # disconnect part-way
            await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 20})  # while "disconnected"
            await read_until(seen[-1].seq, lambda: len(completed()) == 40)
        assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
        # the engine's start (engine.state), then submitted, running, completed per job; one audit per batch
        assert [e.type for e in seen].count("engine.state") == 1 and len(seen) == 1 + 40 * 3 + 2


@pytest.mark.trio
async def test_metrics_openapi_and_kinds(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "noop"})
        job_id = r.json()["id"]
        await wait_for(lambda: state_is(client, job_id, "completed"))
        metrics = (await client.get("/metrics")).text
        assert 'shiftboss_jobs{pool="default",state="completed"} 1.0' in metrics
        assert "shiftboss_estop_active 0.0" in metrics
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.")
        for path in ("/v1/status", "/v1/jobs", "/v1/jobs/{job_id}/retry", "/v1/estop", "/v1/events", "/v1/audit"):
            assert path in spec["paths"]
        assert "JobSubmit" in spec["components"]["schemas"]
        jobs = spec["paths"]["/v1/jobs"]
        assert {p["name"] for p in jobs["get"]["parameters"]} >= {"state", "kind", "cursor", "limit", "sort"}
        assert "201" in jobs["post"]["responses"] and jobs["post"]["requestBody"]["required"] is True
        assert spec["paths"]["/v1/resume"]["post"]["requestBody"]["required"] is False
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        r = await client.delete("/v1/status")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        kinds = {k["name"]: k for k in (await client.get("/v1/kinds")).json()["kinds"]}
        assert set(kinds) == {"noop", "sleep", "demo.flaky", "pow.kale", "pow.structs", "pow.hashcash", "evm.tx",
                              "evm.workflow.scan", "evm.workflow.execute", "kale.plant", "kale.work", "kale.harvest",
                              "compute.run", "cloudmesh.scan", "cloudmesh.run"}
        assert kinds["pow.kale"]["pool"] == "pow" and kinds["kale.work"]["pool"] == "kale"
        sleep_schema = kinds["sleep"]["payload_schema"]
        assert "seconds" in json.dumps(sleep_schema)


@pytest.mark.trio
async def test_unix_socket_is_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_engine(settings):
        mode = stat.S_IMODE(settings.socket_path.stat().st_mode)
        assert mode == 0o600
    assert not settings.socket_path.exists()  # the API removes its socket when it stops serving


@pytest.mark.trio
async def test_tcp_requires_a_token_and_read_only_tokens_only_get(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret-full\n")
    (tmp_path / "ro").write_text("s3cret-view\n")
    settings = make_settings(tmp_path, **{"api.tcp": "127.0.0.1:0", "api.token_file": str(tmp_path / "token"),
                                          "api.read_only_token_file": str(tmp_path / "ro")})
    async with running_engine(settings) as (engine, _unix):
        url = next(b for b in engine.binds if b.startswith("http://127.0.0.1"))
        async with httpx.AsyncClient(base_url=url) as tcp:
            before = await snapshot(engine, _unix)
            r = await tcp.get("/v1/status")
            assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
            r = await tcp.post("/v1/jobs", json={"kind": "noop"}, headers={"authorization": "Bearer wrong"})
            assert r.status_code == 401 and error_of(r)["message"] == "invalid bearer token"
            view = {"authorization": "Bearer s3cret-view"}
            r = await tcp.get("/v1/status", headers=view)
            assert r.status_code == 200 and r.json()["access"] == "read-only"
            r = await tcp.post("/v1/estop", json={"reason": "x"}, headers=view)
            assert r.status_code == 403 and error_of(r)["code"] == "read_only"
            assert await snapshot(engine, _unix) == before
            full = {"authorization": "Bearer s3cret-full", "x-shiftboss-actor": "ops-bot"}
            r = await tcp.post("/v1/jobs", json={"kind": "noop"}, headers=full)
            assert r.status_code == 201
            assert (await tcp.get("/v1/status", headers=full)).json()["access"] == "read-write"
            audit = (await tcp.get("/v1/audit", headers=view)).json()["records"]
            assert audit[0]["actor"] == "operator (on behalf of ops-bot)"  # the token says who; the header only claims
            r = await tcp.post("/v1/jobs", json={"kind": "noop"}, headers={"authorization": "Bearer s3cret-full"})
            audit = (await tcp.get("/v1/audit", headers=view)).json()["records"]
            assert audit[0]["actor"] == "operator"


@pytest.mark.trio
async def test_slow_tcp_clients_cannot_starve_the_unix_socket(tmp_path: Path) -> None:
    """Slow-header TCP connections beyond ``api.max_connections`` wait in the kernel's backlog
    (the engine holds at most that many), each is closed after ``api.header_timeout``, and the
    Unix socket answers throughout."""
    (tmp_path / "token").write_text("s3cret\n")
    settings = make_settings(tmp_path, **{"api.tcp": "127.0.0.1:0", "api.token_file": str(tmp_path / "token"),
                                          "api.max_connections": 4, "api.header_timeout": 0.5})
    async with running_engine(settings) as (engine, unix):
        url = next(b for b in engine.binds if b.startswith("http://127.0.0.1"))
        port = int(url.rsplit(":", 1)[1])
        fds_before = len(os.listdir("/proc/self/fd"))
        slow = []
        for _ in range(40):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
            slow.append(stream)
        await trio.sleep(0.2)
        # 40 client ends are ours; the engine accepted at most 4 of them
        assert len(os.listdir("/proc/self/fd")) - fds_before <= 40 + 4 + 2
        with trio.fail_after(1):
            assert (await unix.get("/v1/status")).status_code == 200
        with trio.fail_after(3):  # the first ones are closed for being slow
            assert await slow[0].receive_some() == b""
        async with httpx.AsyncClient(base_url=url, timeout=30) as tcp:  # and the backlog drains
            with trio.fail_after(30):
                r = await tcp.get("/v1/status", headers={"authorization": "Bearer s3cret"})
        assert r.status_code == 200
        for stream in slow:
            await stream.aclose()


@pytest.mark.trio
async def test_unix_socket_actor_is_the_connecting_user(settings: Settings) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    async with running_engine(settings) as (_engine, unix):
        await unix.post("/v1/estop", json={"reason": "a"}, headers={"x-shiftboss-actor": "mallory"})
        await unix.post("/v1/resume", json={"reason": "b"}, headers={"x-shiftboss-actor": f"{me}@box"})
        await unix.post("/v1/estop", json={"reason": "c"})
        records = (await unix.get("/v1/audit")).json()["records"]
    assert [r["actor"] for r in records[:3]] == [me, f"{me}@box", f"{me} (on behalf of mallory)"]


def test_tcp_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_settings(tmp_path, **{"api.tcp": "127.0.0.1:8787"})
    assert info.value.problems[0][0] == "api.tcp"


@pytest.mark.trio
async def test_a_stream_from_before_the_retained_events_starts_with_a_reset(tmp_path: Path) -> None:
    from engine.store import ops

    async with running_engine(make_settings(tmp_path, **{"pools.default.concurrency": 1})) as (engine, client):
        await client.post("/v1/pools/default/pause", json={"reason": "hold"})
        await client.post("/v1/jobs", json={"jobs": [{"kind": "noop"}] * 10})
        last = engine.store.last_seq
        await engine.store.write(ops.prune_events, 5, last)  # keep only the newest five
        with trio.fail_after(5):
            async with client.stream("GET", "/v1/events", params={"since": 0}) as resp:
                lines = resp.aiter_lines()
                first = msgspec.json.decode(await lines.__anext__(), type=Event)
                second = msgspec.json.decode(await lines.__anext__(), type=Event)
        assert first.type == "stream.reset" and first.seq == last - 5
        assert first.data == {"database": engine.store.database_id, "reason": "older than the retained events",
                              "oldest": last - 4, "requested": 0}
        assert second.seq == last - 4


async def first_event(client: httpx.AsyncClient, **params: Any) -> Event:
    with trio.fail_after(5):
        async with client.stream("GET", "/v1/events", params=params) as resp:
            return msgspec.json.decode(await resp.aiter_lines().__anext__(), type=Event)


@pytest.mark.trio
async def test_a_stream_from_the_future_or_another_database_starts_with_a_reset(tmp_path: Path) -> None:
    async with running_engine(make_settings(tmp_path)) as (engine, client):
        job_id = (await client.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
        await wait_for(lambda: state_is(client, job_id, "completed"))  # no event written after last_seq is read
        status = (await client.get("/v1/status")).json()
        assert status["database_id"] == engine.store.database_id and len(status["database_id"]) == 32
        last = engine.store.last_seq
        ahead = await first_event(client, since=last + 1000)  # e.g. a fresh database under a resuming client
        assert (ahead.type, ahead.seq, ahead.data["reason"]) == ("stream.reset", last, "since is beyond the newest event")
        other = await first_event(client, since=1, database="0" * 32)
        assert (other.type, other.data["reason"], other.data["database"]) == (
            "stream.reset", "another database", engine.store.database_id)
        same = await first_event(client, since=0, database=engine.store.database_id)
        assert same.type == "engine.state" and same.seq == 1  # the engine's start is the first event


@pytest.mark.trio
async def test_the_audit_log_filters_by_action_actor_and_operator(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    bob = f"{me} (on behalf of bob)"
    async with running_engine(make_settings(tmp_path)) as (engine, client):
        for _ in range(2):  # automatic work: demo load submits in-process
            await engine.service.submit([JobSubmit(kind="noop")], "demo", batch=False)
        await client.post("/v1/jobs", json={"kind": "noop"}, headers={"x-shiftboss-actor": "alice"})
        await client.post("/v1/estop", json={"reason": "payout bug"}, headers={"x-shiftboss-actor": "bob"})
        await client.post("/v1/resume", json={"reason": "fixed"}, headers={"x-shiftboss-actor": "bob"})

        async def audit(**params: Any) -> list[tuple[str, str]]:
            records = (await client.get("/v1/audit", params=params)).json()["records"]
            return [(r["actor"], r["action"]) for r in records]

        assert await audit(action="estop") == [(bob, "estop")]
        assert await audit(action="estop,resume") == [(bob, "resume"), (bob, "estop")]
        assert await audit(actor="ali") == [(f"{me} (on behalf of alice)", "submit")]
        operator = await audit(operator=1)
        assert ("demo", "submit") not in operator and len(operator) == 3
        assert ("demo", "submit") in await audit(action="submit")
        page = (await client.get("/v1/audit", params={"limit": 2})).json()
        older = (await client.get("/v1/audit", params={"limit": 2, "cursor": page["next_cursor"]})).json()
        assert [r["id"] for r in page["records"]] + [r["id"] for r in older["records"]] == sorted(
            [r["id"] for r in page["records"] + older["records"]], reverse=True)


@pytest.mark.trio
async def test_metrics_parse_and_carry_what_operators_alert_on(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    settings = make_settings(tmp_path, **{"scheduler.backoff_base": 0.01})
    async with running_engine(settings) as (_engine, client):
        r = await client.post("/v1/jobs", json={"kind": "demo.flaky", "payload": {"fail_times": 1}})
        job_id = r.json()["id"]
        await wait_for(lambda: state_is(client, job_id, "completed"))
        await client.get(f"/v1/jobs/{job_id}")
        await client.post("/v1/chains/structs/height", json={"height": 42})
        text = (await client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(family: str, sample: str | None = None, **labels: str) -> float:
        for s in families[family].samples:
            if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
        raise AssertionError(f"no {family} sample with {labels}")

    assert value("shiftboss_job_transitions", pool="default", to="retrying") == 1
    assert value("shiftboss_job_transitions", pool="default", to="completed") == 1
    assert value("shiftboss_chain_head", chain="structs", kind="manual") == 42
    assert value("shiftboss_store_writable") == 1
    assert value("shiftboss_worker_healthy", worker="default/dispatcher") == 1
    assert value("shiftboss_pow_hashrate", worker="pow/thread-0", window="10s") == 0
    assert value("shiftboss_api_request_seconds", "shiftboss_api_request_seconds_count", method="GET",
                 route="/v1/jobs/{id}", status="200") >= 2
