"""The wire schema is the console's contract: pin what it exports."""

from __future__ import annotations

import msgspec

from engine import schema

EXPORTED = {
    "ACTIVE_STATES", "API_VERSION", "JOB_SORTS", "JOB_STATES", "TERMINAL_STATES", "ActionRequest", "Attempt", "AuditPage",
    "AuditRecord", "BulkRequest", "BulkResult", "Chain", "ChainList", "CloudMeshJob", "CloudMeshRun",
    "CloudMeshStatus", "ErrorBody", "ErrorEnvelope", "Estop",
    "EstopRequest", "EstopResult", "Event", "FileUpload", "HeightRequest", "Job", "JobActionResult", "JobDetail", "JobError", "JobFilter", "JobPage",
    "JobState", "JobSubmit", "JobSubmitBatch", "KindInfo", "KindList", "Pool", "PoolList", "PoolResult", "PoolState",
    "ReloadResult", "ResumeRequest", "RetryRequest", "ShutdownResult", "Status", "StoreHealth", "SubmitResponse", "SubmitResult", "Worker",
    "WorkerList", "encode",
}


def test_exports_are_pinned() -> None:
    assert set(schema.__all__) == EXPORTED
    for name in schema.__all__:
        assert hasattr(schema, name), name


def test_job_states_and_terminal_states_agree() -> None:
    assert schema.API_VERSION == 1
    assert schema.TERMINAL_STATES < set(schema.JOB_STATES)
    assert schema.ACTIVE_STATES < set(schema.JOB_STATES)


def test_requests_reject_unknown_fields_and_name_them() -> None:
    try:
        msgspec.json.decode(b'{"kind": "noop", "prio": 3}', type=schema.JobSubmit)
    except msgspec.ValidationError as exc:
        assert "prio" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("unknown field accepted")
