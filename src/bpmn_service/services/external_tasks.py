"""External tasks: BPMN service tasks done by outside workers (fetch-and-lock, complete, fail)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import ExternalTask
from bpmn_service.engine import RunResult, listed_names
from bpmn_service.errors import (
    FieldError,
    Forbidden,
    InvalidVariables,
    NotFound,
    ServiceError,
)
from bpmn_service.identity import Principal

from . import projection, run_incidents, runtime, telemetry
from .external_locks import (
    MAX_LOCK,
    WORKER_GROUPS,
    LockedTask,
    TopicRequest,
    extend_lock,
    fetch_and_lock,
    fetch_and_lock_topics,
    lock_task,
    locked_by,
    require_active,
    require_worker,
    unlock,
)
from .instances import check_variables, spec_loader
from .uow import UnitOfWork

__all__ = [
    "MAX_LOCK",
    "WORKER_GROUPS",
    "LockedTask",
    "TopicRequest",
    "complete",
    "extend_lock",
    "fail",
    "fetch_and_lock",
    "fetch_and_lock_topics",
    "get_external_task",
    "list_external_tasks",
    "raise_error",
    "set_retries",
    "unlock",
]


def complete(
    ctx: AppContext,
    principal: Principal,
    task_id: str,
    *,
    worker_id: str,
    variables: dict[str, Any],
) -> str:
    def run(session: Session, task: ExternalTask, state: str, now: datetime) -> RunResult:
        loader = spec_loader(session, task.definition_id)
        _check_declared(ctx, task, loader, variables)
        return ctx.runner.complete(
            task.definition_id, loader, state, task.id, variables, worker_id, now=now
        )

    return _end(
        ctx, principal, task_id, worker_id, run, "external_task_completed", {"variables": variables}
    )


def _check_declared(
    ctx: AppContext, task: ExternalTask, loader: Any, variables: dict[str, Any]
) -> None:
    """A task whose `variables` property lists what its worker returns (the data-flow check
    relies on it, docs/authoring.md) takes only those."""
    properties = ctx.runner.element_properties(task.definition_id, loader)
    declared = properties.get(task.element_id, {}).get("variables")
    if declared is None:
        return
    allowed = set(listed_names(declared))
    extra = sorted(set(variables) - allowed)
    if extra:
        listed = ", ".join(sorted(allowed)) or "none"
        raise InvalidVariables(
            [
                FieldError(name, f"is not returned by this task (its variables: {listed})")
                for name in extra
            ]
        )


def raise_error(
    ctx: AppContext,
    principal: Principal,
    task_id: str,
    *,
    worker_id: str,
    code: str,
    message: str | None,
    variables: dict[str, Any],
) -> str:
    """The worker's BPMN error (a business outcome, not a failure): the innermost error catch
    around the task takes over. Refused, with nothing changed, when nothing catches it."""

    def run(session: Session, task: ExternalTask, state: str, now: datetime) -> RunResult:
        loader = spec_loader(session, task.definition_id)
        return ctx.runner.throw_error(
            task.definition_id, loader, state, task.id, code, variables, now=now, message=message
        )

    details = {"error_code": code, "message": message, "variables": variables}
    return _end(ctx, principal, task_id, worker_id, run, "external_task_bpmn_error", details)


Run = Callable[[Session, ExternalTask, str, datetime], RunResult]
WORKER_RUNS = frozenset({"worker"})


def _end(
    ctx: AppContext,
    principal: Principal,
    task_id: str,
    worker_id: str,
    run: Run,
    kind: str,
    details: dict[str, Any],
) -> str:
    """End a task locked by `worker_id`: the engine step `run`, its history (`kind` with
    `details`, whose `variables` the worker sent), the projection; one transaction, so a refused
    step changes nothing."""
    require_worker(principal)
    check_variables(details.get("variables") or {})
    try:
        return _end_run(ctx, principal, task_id, worker_id, run, kind, details)
    except ServiceError as exc:
        # The worker cannot change the model: a run its answer could not make is an incident.
        # While that incident is open the task is not handed out again (fetch_and_lock_topics).
        run_incidents.after_failed_run(
            ctx, exc, kind="worker", actor=principal.user_id, external_task_id=task_id
        )
        raise


def _end_run(
    ctx: AppContext,
    principal: Principal,
    task_id: str,
    worker_id: str,
    run: Run,
    kind: str,
    details: dict[str, Any],
) -> str:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task, instance = locked_by(session, task_id, worker_id, now)
        with runtime.run_of(instance):
            result = run(session, task, instance.state, now)
            # The answer went through: the incidents its earlier refused answers left close.
            closed = run_incidents.resolve_open(
                session, instance.id, at=now, by=principal.user_id, kinds=WORKER_RUNS
            )
            projection.record(
                session,
                instance,
                kind,
                at=now,
                actor=f"{principal.user_id}/{worker_id}",
                task_id=task.id,
                element_id=task.element_id,
                details={"topic": task.topic, **details}
                | ({"closed_incidents": closed} if closed else {}),
            )
            session.delete(task)
            session.flush()
            runtime.settle(ctx, session, instance, result, at=now, actor=principal.user_id)
        uow.commit()
        return instance.status


# What a failure keeps: its message as Camunda's column holds it (a longer one is cut, as Camunda
# cuts it), its details up to a size that still fits a fetch's answer, marked where cut.
ERROR_MESSAGE_CHARS = 4000
ERROR_DETAILS_CHARS = 100_000
TRUNCATED = " … (truncated)"


def shortened_details(details: str | None) -> str | None:
    """A failure's details as kept: None for none, the text itself up to ERROR_DETAILS_CHARS,
    beyond that its start with TRUNCATED at the end (ERROR_DETAILS_CHARS in all)."""
    if not details:
        return None
    if len(details) <= ERROR_DETAILS_CHARS:
        return details
    return details[: ERROR_DETAILS_CHARS - len(TRUNCATED)] + TRUNCATED


def fail(
    ctx: AppContext,
    principal: Principal,
    task_id: str,
    *,
    worker_id: str,
    message: str,
    details: str | None,
    retries: int,
    retry_seconds: float,
) -> ExternalTask:
    """Record a failure; with retries left the task is offered again after the delay, with
    none left it becomes an incident that an operator resolves by setting retries."""
    require_worker(principal)
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task, instance = locked_by(session, task_id, worker_id, now)
        task.retries = max(retries, 0)
        task.error_message = message[:ERROR_MESSAGE_CHARS]
        task.error_details = shortened_details(details)
        # The lock ends; the worker that held it stays on the task (as Camunda's workerId does).
        task.lock_expires_at = None
        task.retry_at = now + timedelta(seconds=max(retry_seconds, 0))
        task.row_version += 1
        kind = "external_task_failed"
        if task.retries == 0:
            task.incident_at = now
            kind = "incident_created"
            telemetry.count(session, telemetry.INCIDENTS_CREATED, task.definition_key, task.topic)
        projection.record(
            session,
            instance,
            kind,
            at=now,
            actor=f"{principal.user_id}/{worker_id}",
            task_id=task.id,
            element_id=task.element_id,
            details={"topic": task.topic, "message": task.error_message, "retries": task.retries},
        )
        uow.commit()
        return task


def set_retries(ctx: AppContext, principal: Principal, task_id: str, retries: int) -> ExternalTask:
    """An operator's retry of an incident (or a change of the remaining retries)."""
    if not principal.is_admin:
        raise Forbidden("setting retries requires the admin group")
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task, instance = lock_task(session, task_id)
        require_active(instance)  # nothing revives the work of an ended case
        was_incident = task.incident_at is not None
        task.retries = retries
        task.retry_at = None
        if retries > 0:
            task.incident_at = None
        task.row_version += 1
        projection.record(
            session,
            instance,
            "incident_resolved" if was_incident and retries > 0 else "external_task_retries_set",
            at=now,
            actor=principal.user_id,
            task_id=task.id,
            element_id=task.element_id,
            details={"retries": retries},
        )
        uow.commit()
        return task


def _require_lister(principal: Principal) -> None:
    if not (principal.groups & (WORKER_GROUPS | {"supervisor", "analyst"})):
        raise Forbidden(
            "listing external tasks needs the worker, supervisor, analyst or admin group"
        )


def topic_names(
    ctx: AppContext, principal: Principal, *, locked: bool, unlocked: bool, retries_left: bool
) -> list[str]:
    """The topics of open external tasks, each once, sorted; each flag keeps only the topics with
    a task that is locked now, that is free now, or that has retries left (all given: all hold)."""
    _require_lister(principal)
    now = ctx.clock()
    stmt = select(ExternalTask.topic).distinct().order_by(ExternalTask.topic)
    if locked:
        stmt = stmt.where(ExternalTask.lock_expires_at > now)
    if unlocked:
        stmt = stmt.where(
            or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= now)
        )
    if retries_left:
        stmt = stmt.where(ExternalTask.incident_at.is_(None))
    with UnitOfWork(ctx) as uow:
        return list(uow.session.scalars(stmt))


def get_external_task(ctx: AppContext, principal: Principal, task_id: str) -> ExternalTask:
    _require_lister(principal)
    with UnitOfWork(ctx) as uow:
        task = uow.session.get(ExternalTask, task_id)
        if task is None:
            raise NotFound(f"external task {task_id} does not exist (or is already completed)")
        return task


def list_external_tasks(
    ctx: AppContext,
    principal: Principal,
    *,
    topic: str | None,
    incidents_only: bool,
    process_instance_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ExternalTask], int]:
    _require_lister(principal)
    with UnitOfWork(ctx) as uow:
        stmt = select(ExternalTask)
        if topic is not None:
            stmt = stmt.where(ExternalTask.topic == topic)
        if incidents_only:
            stmt = stmt.where(ExternalTask.incident_at.is_not(None))
        if process_instance_id is not None:
            stmt = stmt.where(ExternalTask.instance_id == process_instance_id)
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(
            uow.session.scalars(
                stmt.order_by(ExternalTask.created_at, ExternalTask.id).limit(limit).offset(offset)
            )
        )
        return rows, total
