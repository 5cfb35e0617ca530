"""CloudMesh over HTTP: ``GET /v1/cloudmesh`` — the worker's key and balance, and every Job
account of the program (read from the chain) beside this engine's ``cloudmesh.run`` job for it."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.chains.solana import cloudmesh as cm
from engine.errors import ChainError, NotFound
from engine.schema import CloudMeshJob, CloudMeshRun, CloudMeshStatus, JobFilter
from engine.service import Service

MAX_RUNS = 5000


def cloudmesh_routes(service: Service, *, json: Callable[..., Response]) -> list[Route]:
    async def status(request: Request) -> Response:
        mesh = service.cloudmesh
        if mesh is None:
            raise NotFound("no CloudMesh worker is configured (add a [cloudmesh] section to config.toml)",
                           code="no_cloudmesh")
        state = mesh.status()
        answer = CloudMeshStatus(chain=mesh.chain.name, program=state["program"], address=state["address"],
                                 balance=state["balance"], low_balance=state["low_balance"],
                                 authority=state["authority"])
        page = await service.list_jobs(JobFilter(kind="cloudmesh.run"), None, MAX_RUNS, count=False, sort="-created",
                                       offset=0)
        runs = {}
        for run in reversed(page.jobs):  # the newest run of an account wins
            result = run.result if isinstance(run.result, dict) else {}
            runs[str(run.payload.get("account"))] = CloudMeshRun(
                job_id=run.id, state=run.state, attempts=run.attempts,
                error=None if run.error is None else run.error.message, result_cid=result.get("result_cid"))
        try:
            accounts, answer.not_jobs = await cm.read_jobs(mesh.chain.rpc, mesh.program)
        except ChainError as exc:
            answer.error = str(exc)
            return json(answer)
        for address, account in accounts:
            answer.jobs.append(CloudMeshJob(
                account=address, owner=str(account.owner), title=account.title, code_cid=account.code_cid,
                state=account.status.name.lower(), result_cid=account.result_cid or None,  # type: ignore[arg-type]
                cost=account.cost, cost_paid=account.cost_paid,
                authority=None if account.authority is None else str(account.authority),
                started_at=account.start_time, ended_at=account.end_time, run=runs.get(address)))
        answer.jobs.sort(key=lambda j: (j.state != "pending", -j.started_at, j.account))
        return json(answer)

    return [Route("/v1/cloudmesh", status, methods=["GET"])]
