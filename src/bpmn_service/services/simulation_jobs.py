"""What-if simulation jobs: a candidate BPMN is checked and stored here, run in the background by
the launcher the application wires in (simulation/jobs.py), and read back by any server process
from the simulation_job table, so several servers on one PostgreSQL answer for each other's jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bpmn_service.context import AppContext, SimulationLauncher
from bpmn_service.db.models import ProcessDefinition, SimulationJob
from bpmn_service.errors import Busy, Forbidden, Invalid, NotFound
from bpmn_service.identity import Principal

from .analytics import ANALYTICS_GROUPS
from .deployments import BpmnFile, check_files
from .uow import UnitOfWork

DEFAULT_APPLICATIONS = 200
MAX_APPLICATIONS = 2000
# A running job reports progress at least this often; quieter, its server has stopped.
STALE_AFTER = timedelta(minutes=2)
ACTIVE = ("queued", "running")


def _allowed(principal: Principal) -> None:
    if not principal.groups & ANALYTICS_GROUPS:
        raise Forbidden("what-if simulations need the analyst, supervisor or admin group")


def submit(
    ctx: AppContext,
    principal: Principal,
    candidate: BpmnFile,
    applications: int,
    launch: SimulationLauncher | None,
) -> SimulationJob:
    """Check the candidate like a deployment, store the job and hand it to ``launch``."""
    _allowed(principal)
    if not 1 <= applications <= MAX_APPLICATIONS:
        raise Invalid(f"applications must be between 1 and {MAX_APPLICATIONS}")
    if launch is None:
        raise Busy("this server process does not run simulations")
    compiled = check_files(ctx, [candidate], part="candidate")[0]
    if not launch.reserve():
        raise Busy("a what-if simulation is running on this server process; retry when it is done")
    try:
        job = _store(ctx, principal, candidate, compiled.key, applications)
    except BaseException:
        launch.release()
        raise
    launch.start(job.id)
    return job


def _store(
    ctx: AppContext, principal: Principal, candidate: BpmnFile, key: str, applications: int
) -> SimulationJob:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        deployed = uow.session.scalar(
            select(ProcessDefinition.version)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        if deployed is None:
            raise NotFound(
                f"process {key!r} is not deployed: a what-if compares a draft with the "
                "deployed version"
            )
        job = SimulationJob(
            id=str(uuid.uuid4()),
            status="queued",
            definition_key=key,
            deployed_version=deployed,
            candidate_name=candidate.filename[:255],
            candidate_xml=candidate.content.decode("utf-8"),
            applications=applications,
            done=0,
            total=2 * applications,
            requested_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(job)
        uow.commit()
    return job


def get(ctx: AppContext, principal: Principal, job_id: str) -> SimulationJob:
    _allowed(principal)
    with UnitOfWork(ctx) as uow:
        job = uow.session.get(SimulationJob, job_id)
    if job is None:
        raise NotFound(f"simulation {job_id} does not exist")
    if job.status in ACTIVE and ctx.clock() - job.updated_at > STALE_AFTER:
        _end(ctx, job_id, error="the server process running it stopped; submit it again")
        return get(ctx, principal, job_id)
    return job


def for_run(ctx: AppContext, job_id: str) -> tuple[SimulationJob, str]:
    """The job and the deployed version's BPMN, for the process that runs it."""
    with UnitOfWork(ctx) as uow:
        job = uow.session.get(SimulationJob, job_id)
        if job is None:
            raise NotFound(f"simulation {job_id} does not exist")
        xml = uow.session.scalar(
            select(ProcessDefinition.bpmn_xml).where(
                ProcessDefinition.key == job.definition_key,
                ProcessDefinition.version == job.deployed_version,
            )
        )
    if xml is None:
        raise NotFound(f"{job.definition_key} version {job.deployed_version} is gone")
    return job, xml


def report_progress(ctx: AppContext, job_id: str, done: int, total: int) -> None:
    with UnitOfWork(ctx, write=True) as uow:
        uow.session.execute(
            update(SimulationJob)
            .where(SimulationJob.id == job_id, SimulationJob.status.in_(ACTIVE))
            .values(status="running", done=done, total=total, updated_at=ctx.clock())
        )
        uow.commit()


def finish(ctx: AppContext, job_id: str, result: dict[str, Any]) -> None:
    _end(ctx, job_id, result=result)


def fail(ctx: AppContext, job_id: str, error: str) -> None:
    _end(ctx, job_id, error=error)


def _end(
    ctx: AppContext, job_id: str, *, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    now = ctx.clock()
    values: dict[str, Any] = {"updated_at": now, "finished_at": now}
    if error is None:
        values.update(status="done", result=result, done=SimulationJob.total)
    else:
        values.update(status="failed", error=error[:4000])
    with UnitOfWork(ctx, write=True) as uow:
        # Only an active job ends, once: a late report cannot overwrite a stale job's failure.
        uow.session.execute(
            update(SimulationJob)
            .where(SimulationJob.id == job_id, SimulationJob.status.in_(ACTIVE))
            .values(**values)
        )
        uow.commit()
