"""What-if before deploy: simulate a draft BPMN against the deployed version (docs/analytics.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.errors import PayloadTooLarge
from bpmn_service.services import simulation_jobs
from bpmn_service.services.deployments import BpmnFile

router = APIRouter(prefix="/simulations", tags=["simulations"])


class SimulationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    status: str = Field(description="queued, running, done or failed")
    progress: float = Field(description="share of the simulated applications done, 0 to 1")
    done: int
    total: int = Field(description="applications to simulate: the count on both versions")
    definition_key: str
    deployed_version: int = Field(description="the version the candidate is compared with")
    candidate_name: str
    applications: int
    requested_by: str
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    result: dict[str, Any] | None = Field(
        description="deployed and candidate side by side: figures per customer category, "
        "working days per element, failed runs, elements without a scenario duration"
    )


def _read(job: Any) -> SimulationRead:
    return SimulationRead.model_validate(
        {
            **{f: getattr(job, f) for f in SimulationRead.model_fields if f != "progress"},
            "progress": job.done / job.total if job.total else 0.0,
        }
    )


@router.post("", status_code=202, response_model=SimulationRead, responses=ERROR_RESPONSES)
async def start_simulation(
    ctx: ContextDep,
    principal: PrincipalDep,
    candidate: Annotated[UploadFile, File(description="the draft .bpmn file")],
    applications: Annotated[
        int,
        Form(
            description=f"applications per version (1 to {simulation_jobs.MAX_APPLICATIONS})",
        ),
    ] = simulation_jobs.DEFAULT_APPLICATIONS,
) -> SimulationRead:
    """Run the shipped simulation scenario on the deployed version of the candidate's process and
    on the candidate, in the background; poll GET /simulations/{id}. Analyst, supervisor or
    admin. The candidate is checked like a deployment (422 lists its problems); nothing is
    deployed."""
    limit = ctx.settings.max_upload_bytes
    content = await candidate.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(f"{candidate.filename} is larger than {limit} bytes")
    # Checking the candidate compiles it: off the event loop.
    job = await run_in_threadpool(
        simulation_jobs.submit,
        ctx,
        principal,
        BpmnFile(candidate.filename or "candidate.bpmn", content),
        applications,
        ctx.launch_simulation,
    )
    return _read(job)


@router.get("/{simulation_id}", response_model=SimulationRead, responses=ERROR_RESPONSES)
def get_simulation(ctx: ContextDep, principal: PrincipalDep, simulation_id: str) -> SimulationRead:
    """Progress of a what-if simulation, and its result once done."""
    return _read(simulation_jobs.get(ctx, principal, simulation_id))
