"""Supervisors' repairs of a running case: correct variables, move tokens (cancel an active element,
start before another), retry a failed step. Each is one transaction under the instance's row lock
and records its reason in the history; a repair that fails in the engine changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import ExternalTask, HistoryEvent, ProcessInstance, RunIncident
from bpmn_service.engine import RunResult
from bpmn_service.engine.declared_types import contradictions
from bpmn_service.engine.forms import blank
from bpmn_service.engine.repair import Instruction
from bpmn_service.errors import (
    FieldError,
    Forbidden,
    Invalid,
    InvalidRequest,
    InvalidState,
    InvalidVariables,
    WorkflowFailed,
)
from bpmn_service.identity import Principal

from . import projection, run_incidents, runtime
from .instances import check_variables, spec_loader
from .stuck_cases import can_advance, waiting_elements
from .uow import UnitOfWork

MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class Repaired:
    instance: ProcessInstance
    details: dict[str, Any]


def require_supervisor(principal: Principal) -> None:
    if not principal.is_supervisor:
        groups = ", ".join(sorted(principal.supervisor_groups))
        raise Forbidden(f"repairs and migrations are for supervisors (groups: {groups})")


def check_reason(reason: str) -> str:
    text = reason.strip()
    if blank(text):
        why = "say why the case is repaired or migrated; the history keeps it"
        raise InvalidRequest(
            [FieldError("reason", f"is missing: {why}")], f"the reason is missing: {why}"
        )
    if len(text) > MAX_REASON:
        too_long = f"is longer than {MAX_REASON} characters"
        raise InvalidRequest([FieldError("reason", too_long)], f"the reason {too_long}")
    return text


def _active(session: Session, instance_id: str) -> ProcessInstance:
    instance = runtime.lock_instance(session, instance_id)
    if instance.status != "active":
        raise InvalidState(
            f"the instance is {instance.status}; only active instances can be repaired"
        )
    return instance


def set_variables(
    ctx: AppContext,
    instance_id: str,
    principal: Principal,
    variables: dict[str, Any],
    reason: str,
) -> Repaired:
    """Set (or correct) variables; the history keeps each old and new value."""
    require_supervisor(principal)
    text = check_reason(reason)
    if not variables:
        raise InvalidVariables([FieldError("variables", "give at least one variable to set")])
    # Named by their place in the body, as the workspace shows a refusal at its field.
    check_variables(variables, prefix="variables.")
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        instance = _active(session, instance_id)
        load = spec_loader(session, instance.definition_id)
        declared = ctx.runner.declared_types(instance.definition_id, load)
        if problems := contradictions(declared, variables, prefix="variables."):
            raise InvalidVariables(problems)
        result, before = ctx.runner.set_variables(
            instance.definition_id,
            load,
            instance.state,
            variables,
            now=now,
        )
        changes = [
            {"name": name, "old": before.get(name), "new": value}
            for name, value in variables.items()
        ]
        details = {"reason": text, "changes": changes}
        return _settle_repair(
            ctx, uow, instance, result, "variables_repaired", details, principal, now
        )


def modify(
    ctx: AppContext,
    instance_id: str,
    principal: Principal,
    instructions: list[Instruction],
    reason: str,
) -> Repaired:
    """Camunda's process instance modification: cancel active elements, start before others."""
    require_supervisor(principal)
    text = check_reason(reason)
    if not instructions:
        raise Invalid("give at least one instruction (cancel or start_before)")
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        instance = _active(session, instance_id)
        load = spec_loader(session, instance.definition_id)
        result = ctx.runner.modify(
            instance.definition_id, load, instance.state, instructions, now=now
        )
        if all(i.type == "cancel" for i in instructions) and _emptied(ctx, instance, load, result):
            # Nothing left to do is not a completion: the case reached no end event (Camunda
            # terminates it). Counting it completed would mislead the history and the KPIs.
            raise Invalid(
                "these instructions leave the case no active element, so it would end without "
                "reaching an end event; start before an end event instead, or cancel the "
                f"instance (POST /process-instances/{instance_id}/cancel)"
            )
        details = {
            "reason": text,
            "instructions": [{"type": i.type, "element_id": i.element_id} for i in instructions],
        }
        return _settle_repair(
            ctx, uow, instance, result, "instance_modified", details, principal, now
        )


def _emptied(
    ctx: AppContext, instance: ProcessInstance, load: Callable[[], str], result: RunResult
) -> bool:
    """Whether a run left the case nothing at all: completed without reaching an end event, or
    (an end event reached earlier beside the cancelled element ended only its own branch) with
    no element active and none waiting. A join left waiting is a stuck case, not an empty one."""
    if result.completed:
        return True
    if can_advance(result):
        return False
    return not waiting_elements(ctx, instance.definition_id, load, result.state)


def _settle_repair(
    ctx: AppContext,
    uow: UnitOfWork,
    instance: ProcessInstance,
    result: RunResult,
    event: str,
    details: dict[str, Any],
    principal: Principal,
    now: datetime,
) -> Repaired:
    """Record the repair, project the engine's answer, close the case's failed runs, commit."""
    session = uow.session
    # What failed before is closed first: the repaired run may leave the case stuck anew.
    if closed := run_incidents.resolve_open(session, instance.id, at=now, by=principal.user_id):
        details = {**details, "closed_incidents": closed}
    projection.record(session, instance, event, at=now, actor=principal.user_id, details=details)
    # The tasks a modification cancels went for its reason, by its actor, not by the engine.
    withdrawn = details["reason"] if event == "instance_modified" else None
    runtime.settle(
        ctx,
        session,
        instance,
        result,
        at=now,
        actor=principal.user_id,
        withdraw_reason=withdrawn,
    )
    uow.commit()
    return Repaired(instance, details)


def retry(
    ctx: AppContext,
    instance_id: str,
    principal: Principal,
    element_id: str | None,
    reason: str,
) -> Repaired:
    """Retry what failed: an external task whose retries ran out gets one more, a timer that
    failed is run again now. Nothing to retry is 409. A timer that fails again counts on its
    incident (`occurrences`, `last_at`), as the poller's failures do."""
    require_supervisor(principal)
    text = check_reason(reason)
    try:
        return _retry(ctx, instance_id, principal, element_id, text)
    except WorkflowFailed as exc:
        run_incidents.after_failed_run(ctx, exc, kind="timer", actor=principal.user_id)
        raise


def _retry(
    ctx: AppContext, instance_id: str, principal: Principal, element_id: str | None, text: str
) -> Repaired:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        instance = _active(session, instance_id)
        retried: list[dict[str, Any]] = []
        stmt = select(ExternalTask).where(
            ExternalTask.instance_id == instance.id, ExternalTask.retries == 0
        )
        if element_id is not None:
            stmt = stmt.where(ExternalTask.element_id == element_id)
        for task in session.scalars(stmt):
            task.retries, task.retry_at, task.incident_at = 1, None, None
            task.lock_expires_at = task.worker_id = None
            retried.append({"element_id": task.element_id, "external_task_id": task.id})
        # A task parked by its worker's refused answer: the incident closes below and the task
        # is handed out at once (the lock of the worker whose answer was refused ends).
        for task in _parked_tasks(session, instance, element_id):
            task.lock_expires_at = task.worker_id = None
            task.retry_at = None
            task.row_version += 1
            retried.append({"element_id": task.element_id, "external_task_id": task.id})
        if _timer_failed(session, instance):
            with runtime.run_of(instance):
                result = ctx.runner.fire_timers(
                    instance.definition_id,
                    spec_loader(session, instance.definition_id),
                    instance.state,
                    now=now,
                )
            retried.append({"element_id": element_id, "timers": "fired"})
            runtime.settle(ctx, session, instance, result, at=now, actor=principal.user_id)
        if not retried:
            where = f" at element {element_id}" if element_id else ""
            raise InvalidState(
                f"nothing failed{where} in this instance: no external task without retries "
                f"or with a refused answer, no failed timer (a failed completion is repaired by "
                f"setting variables, moving the case or migrating it, then completing again)"
            )
        details = {"reason": text, "retried": retried}
        if closed := run_incidents.resolve_open(session, instance.id, at=now, by=principal.user_id):
            details["closed_incidents"] = closed
        projection.record(
            session,
            instance,
            "instance_retried",
            at=now,
            actor=principal.user_id,
            details=details,
        )
        uow.commit()
        return Repaired(instance, details)


def _parked_tasks(
    session: Session, instance: ProcessInstance, element_id: str | None
) -> list[ExternalTask]:
    """The instance's external tasks an open worker incident parks (at `element_id`: the task's
    element or the element where its answer failed)."""
    stmt = (
        select(ExternalTask)
        .join(RunIncident, RunIncident.external_task_id == ExternalTask.id)
        .where(
            ExternalTask.instance_id == instance.id,
            RunIncident.kind == "worker",
            RunIncident.resolved_at.is_(None),
        )
        .order_by(ExternalTask.created_at, ExternalTask.id)
    )
    if element_id is not None:
        stmt = stmt.where(
            (ExternalTask.element_id == element_id) | (RunIncident.element_id == element_id)
        )
    return list(session.scalars(stmt).unique())


def _timer_failed(session: Session, instance: ProcessInstance) -> bool:
    """Whether the instance's last timer run failed (the scheduler parked its timer)."""
    last = session.scalars(
        select(HistoryEvent.type)
        .where(
            HistoryEvent.instance_id == instance.id,
            HistoryEvent.type.in_(("timer_failed", "timers_fired")),
        )
        .order_by(HistoryEvent.id.desc())
        .limit(1)
    ).first()
    return last == "timer_failed"


__all__ = ["Instruction", "Repaired", "modify", "retry", "set_variables"]
