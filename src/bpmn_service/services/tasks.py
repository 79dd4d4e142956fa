"""The task inbox: list, read, claim, unclaim and complete user tasks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import CursorResult, Result, Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db import claims, queries
from bpmn_service.db.claims import OpenTaskRow
from bpmn_service.db.models import HistoricTask, ProcessInstance, Task
from bpmn_service.db.queries import ALL_TASK_SORTS, TASK_SORTS, TaskFilter
from bpmn_service.engine import FormField, json_schema, needs_value_labels, validate
from bpmn_service.errors import (
    FieldError,
    Forbidden,
    InvalidRequest,
    InvalidState,
    NotFound,
    ServiceError,
    TaskAlreadyClaimed,
    TaskNotClaimed,
    WorkflowFailed,
)
from bpmn_service.identity import Principal

from . import clocks, cursors, incidents, projection, run_incidents, runtime
from .idempotency import Idempotency, Replay, lookup, remember, replay_after_race
from .instances import spec_loader, value_labels
from .uow import UnitOfWork

log = logging.getLogger(__name__)

__all__ = [
    "ALL_TASK_SORTS",
    "TASK_SORTS",
    "CompletionResult",
    "TaskDetail",
    "TaskFilter",
    "TaskPage",
    "assign_task",
    "claim_task",
    "complete_task",
    "get_task",
    "list_tasks",
    "query_tasks",
    "unclaim_task",
]


@dataclass(frozen=True, slots=True)
class TaskDetail:
    task: Task | OpenTaskRow
    candidate_groups: list[str]
    candidate_users: list[str]
    form: list[FormField]
    form_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CompletionResult:
    task_id: str
    instance_id: str
    instance_status: str
    next_tasks: list[Task]
    candidates: dict[str, dict[str, list[str]]]
    variables: dict[str, Any]
    definition_id: str


# An inbox page counts its matches exactly up to this many beyond its offset; above, `total` is a
# lower bound (counting a million open tasks for a page of 50 read them all).
INBOX_COUNT_BOUND = 1_000


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int
    total_is_lower_bound: bool
    candidates: dict[str, dict[str, list[str]]]
    next_after: str | None  # the cursor of the page after this one; None on a short page


def list_tasks(
    ctx: AppContext,
    principal: Principal,
    *,
    candidate_group: str | None = None,
    assignee: str | None = None,
    unassigned: bool | None = None,
    process_definition_key: str | None = None,
    process_instance_id: str | None = None,
    business_key: str | None = None,
    element_id: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    sort: str,
    limit: int,
    offset: int,
    after: str | None = None,
    oversee: bool = False,
) -> TaskPage:
    """The caller's inbox, filtered; `sort` is a comma-separated list of TASK_SORTS keys, each
    optionally prefixed with - (descending) or +. A page starts at `offset`, or after the row a
    cursor (`after`, a previous page's next_after) names. `oversee` (supervisors and admins):
    every open task, not only those assigned or offered to the caller."""
    if oversee and not (principal.is_supervisor or principal.is_admin):
        raise Forbidden("every open task (oversee) is for the supervisor and admin groups")
    flt = TaskFilter(
        candidate_group=candidate_group,
        assignee=assignee,
        unassigned=unassigned,
        process_definition_key=process_definition_key,
        process_instance_id=process_instance_id,
        business_key=business_key,
        element_id=element_id,
        due_before=due_before,
        due_after=due_after,
        oversee=oversee,
    )
    _check_sort(sort, TASK_SORTS)
    if after and offset:
        raise InvalidRequest([FieldError("after", "give either offset or after, not both")])
    # an empty `after` (no next_after to pass on) is the first page
    cursor = cursors.decode(after, sort) if after else None
    with UnitOfWork(ctx, reads=True) as uow:
        tasks, count = queries.list_tasks(
            uow.session,
            principal,
            flt,
            sort=sort,
            limit=limit,
            offset=offset,
            after=cursor,
            count_bound=offset + max(INBOX_COUNT_BOUND, limit),
        )
        candidates = queries.candidates_of(uow.session, [t.id for t in tasks])
    next_after = cursors.encode(sort, tasks[-1]) if tasks and len(tasks) == limit else None
    return TaskPage(tasks, count.total, count.is_lower_bound, candidates, next_after)


def query_tasks(
    ctx: AppContext,
    principal: Principal,
    flt: TaskFilter,
    *,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[Task], int, dict[str, dict[str, list[str]]]]:
    """The visible tasks matching every condition of `flt` (list_tasks with all the filters),
    counted exactly; `sort` may also use ALL_TASK_SORTS' keys."""
    _check_sort(sort, ALL_TASK_SORTS)
    with UnitOfWork(ctx, reads=True) as uow:
        tasks, count = queries.list_tasks(
            uow.session, principal, flt, sort=sort, limit=limit, offset=offset
        )
        return tasks, count.total, queries.candidates_of(uow.session, [t.id for t in tasks])


def _check_sort(sort: str, allowed: dict[str, Any]) -> None:
    for part in sort.split(","):
        if part.strip().lstrip("-+") not in allowed:
            raise InvalidRequest(
                [FieldError("sort", f"{part.strip()!r} is not one of {', '.join(allowed)}")]
            )


@functools.lru_cache(maxsize=512)
def _visible_statement(principal: Principal, everyone: bool) -> Select[Task]:
    """The task by id if the caller sees it, built once per caller (building the statement costs
    more than running it); the task id is bound at execution."""
    by_id = Task.id == bindparam("task_id")
    if everyone:
        return select(Task).where(by_id)
    return select(Task).where(by_id, queries.task_visible(principal))


@functools.lru_cache(maxsize=512)
def _visible_locking_instance(principal: Principal) -> Select[Task, ProcessInstance]:
    """The task by id if the caller sees it, with its instance's row locked for the transaction
    (one writer per instance), in one statement."""
    return (
        select(Task, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(Task.id == bindparam("task_id"), queries.task_visible(principal))
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    )


def _visible_task(
    session: Session, task_id: str, principal: Principal, *, oversee: bool = False
) -> Task:
    """The task if the caller may see it; supervisors may look at (and unclaim) any task
    without it filling their inbox (oversee=True)."""
    everyone = oversee and principal.is_supervisor
    statement = _visible_statement(principal, everyone)
    task = session.scalars(statement, {"task_id": task_id}).first()
    if task is not None:
        return task
    _not_visible(session, task_id, principal, everyone=everyone)


def _not_visible(
    session: Session, task_id: str, principal: Principal, *, everyone: bool = False
) -> NoReturn:
    """404, or 409 for a task the caller saw while it was open that has ended since (a clerk
    acting on a stale inbox learns that it is done; others cannot tell it from no task). A
    supervisor looking over every task (everyone) saw them all."""
    done = session.get(HistoricTask, task_id)
    if done is not None and (everyone or _saw(done, principal)):
        raise InvalidState(
            f"task {task_id} already ended ({done.end_reason} at {done.ended_at.isoformat()})",
            details={
                "task_id": task_id,
                "name": done.name,
                "process_instance_id": done.instance_id,
                "end_reason": done.end_reason,
                "ended_at": done.ended_at.isoformat(),
                "completed_by": done.completed_by,
            },
        )
    raise NotFound(f"task {task_id} does not exist or is not visible to you")


def _if_ended_meanwhile(session: Session, task_id: str, principal: Principal) -> None:
    """Answer as for an ended task (_not_visible) if the task has ended. On PostgreSQL the
    locking read waits for the instance's lock and then re-reads only the instance: the task row
    it returns can be one another request ended while this one waited."""
    if session.get(HistoricTask, task_id) is not None:
        _not_visible(session, task_id, principal)


def _saw(done: HistoricTask, principal: Principal) -> bool:
    """Whether the task was in the caller's inbox while it was open (the rule of task_visible)."""
    return (
        principal.is_admin
        or principal.user_id in (done.completed_by, done.assignee)
        or principal.user_id in (done.candidate_users or ())
        or any(group in principal.groups for group in done.candidate_groups or ())
    )


def get_task(ctx: AppContext, task_id: str, principal: Principal) -> TaskDetail:
    with UnitOfWork(ctx, reads=True) as uow:
        session = uow.session
        task = _visible_task(session, task_id, principal, oversee=True)
        form = ctx.runner.task_form(
            task.definition_id, spec_loader(session, task.definition_id), task.spec_name
        )
        candidates = queries.candidates_of(session, [task.id])[task.id]
        return TaskDetail(
            task, candidates["group"], candidates["user"], form, _schema(ctx, session, task, form)
        )


def claim_task(ctx: AppContext, task_id: str, principal: Principal) -> TaskDetail:
    now = ctx.clock()
    if claims.in_one_statement(ctx.engine):
        # One statement that commits itself: one round trip (db/claims.py). None: the claim may
        # stop a clock and was not made; it is made again in a transaction.
        with UnitOfWork(ctx, autocommit=True) as uow:
            claimed = _claim(ctx, uow, task_id, principal, now, alone=True)
        if claimed is not None:
            return claimed
    with UnitOfWork(ctx, write=True) as uow:
        claimed = _claim(ctx, uow, task_id, principal, now, alone=False)
        assert claimed is not None  # only a claim run alone leaves the task to a transaction
        return claimed


def _claim(
    ctx: AppContext,
    uow: UnitOfWork,
    task_id: str,
    principal: Principal,
    now: datetime,
    *,
    alone: bool,
) -> TaskDetail | None:
    session = uow.session
    # One statement on PostgreSQL (read, conditional UPDATE, history row; db/claims.py).
    attempt = claims.attempt(session.connection(), principal, task_id, now, alone=alone)
    if attempt is None:
        if principal.is_supervisor and session.get(Task, task_id) is not None:
            # A supervisor sees every task (oversee) but may claim only those offered to them.
            raise Forbidden(
                f"task {task_id} is not offered to you or your groups: its candidates "
                "claim it, or a supervisor assigns it to one of them"
            )
        _not_visible(session, task_id, principal)
    task, candidates = attempt.task, attempt.candidates
    if not attempt.won:
        if task.assignee == principal.user_id:
            return _detail(ctx, session, task, candidates)
        if not claims.may_take(candidates, principal):
            if task.assignee is not None:
                raise _claimed(task)
            raise Forbidden("you are not a candidate for this task")
        if attempt.needs_transaction:
            return None
        # Offered and free when read, yet the conditional UPDATE matched no row: another
        # claimer won (the UPDATE is the arbiter). Name the holder as it is now.
        session.rollback()
        holder = session.scalar(select(Task.assignee).where(Task.id == task_id))
        raise TaskAlreadyClaimed(
            f"task {task_id} is already claimed by {holder}", details={"assignee": holder}
        )
    if clocks.stops_at_claim(session, task.definition_id, task.element_id):
        # A limit measured to the start of this step (timeLimit.stopAtClaim) stops now,
        # under the instance's lock, as the scheduler changes clocks.
        if alone:
            # The task row's properties did not show the declaration (db/claims.py): the
            # claim is made; the clocks stop in a transaction of their own.
            log.warning("task %s: claimed alone, yet its claim stops a clock", task.id)
            with UnitOfWork(ctx, write=True) as clock_work:
                _stop_clocks_at_claim(ctx, clock_work.session, task, now)
                clock_work.commit()
        else:
            _stop_clocks_at_claim(ctx, session, task, now)
    uow.commit()
    return _detail(ctx, session, task, candidates)


def _stop_clocks_at_claim(
    ctx: AppContext, session: Session, task: Task | OpenTaskRow, now: datetime
) -> None:
    instance = runtime.lock_instance(session, task.instance_id)
    stopped = clocks.claimed(session, instance, task.element_id, at=now)
    if stopped is not None:
        # The next instant is the engine's own timer or another clock's: ask the engine.
        load = spec_loader(session, task.definition_id)
        engine = ctx.runner.inspect(instance.definition_id, load, instance.state)
        instance.next_timer_at = engine.next_timer_at
        runtime.follow_clocks(ctx, session, instance, stopped, at=now)


def _claimed(task: Task | OpenTaskRow) -> TaskAlreadyClaimed:
    return TaskAlreadyClaimed(
        f"task {task.id} is already claimed by {task.assignee}", details={"assignee": task.assignee}
    )


def assign_task(
    ctx: AppContext, task_id: str, principal: Principal, user_id: str, *, only_if_free: bool
) -> TaskDetail:
    """A supervisor gives a task to a user of the users file; only_if_free refuses a task someone
    else holds (Camunda's claim for another user) instead of taking it from them."""
    if not principal.is_supervisor:
        raise Forbidden("assigning a task to someone requires the supervisor or admin group")
    if ctx.users.groups_of(user_id) is None:
        # userId is a field of the request, not a variable: say so (InvalidRequest's wording).
        raise InvalidRequest(
            [FieldError("userId", f"{user_id!r} is no user of this service")],
            message=f"userId: {user_id!r} is no user of this service",
        )
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task = _visible_task(session, task_id, principal, oversee=True)
        previous = task.assignee
        if previous == user_id:
            return _detail_after(ctx, session, task)
        if only_if_free and previous is not None:
            raise _claimed(task)
        holder = Task.assignee.is_(None) if previous is None else Task.assignee == previous
        changed = _rowcount(
            session.execute(
                update(Task)
                .where(Task.id == task.id, holder)
                .values(assignee=user_id, claimed_at=now, row_version=Task.row_version + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if changed != 1:
            raise TaskAlreadyClaimed(f"task {task_id} changed hands meanwhile; reload it")
        instance = session.get(ProcessInstance, task.instance_id)
        assert instance is not None
        projection.record(
            session,
            instance,
            "task_assigned",
            at=now,
            actor=principal.user_id,
            task_id=task.id,
            element_id=task.element_id,
            details={"assignee": user_id, "previous_assignee": previous},
        )
        uow.commit()
        session.refresh(task)
        return _detail_after(ctx, session, task)


def unclaim_task(ctx: AppContext, task_id: str, principal: Principal) -> TaskDetail:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        task = _visible_task(session, task_id, principal, oversee=True)
        if task.assignee is None:
            raise TaskNotClaimed(f"task {task_id} is not claimed")
        if task.assignee != principal.user_id and not principal.is_supervisor:
            raise Forbidden(
                f"task {task_id} is claimed by {task.assignee}; only they or a "
                f"supervisor may unclaim it",
                details={"assignee": task.assignee},
            )
        previous = task.assignee
        changed = _rowcount(
            session.execute(
                update(Task)
                .where(Task.id == task.id, Task.assignee == previous)
                .values(assignee=None, claimed_at=None, row_version=Task.row_version + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if changed != 1:
            raise TaskAlreadyClaimed(f"task {task_id} changed hands meanwhile; reload it")
        instance = session.get(ProcessInstance, task.instance_id)
        assert instance is not None
        projection.record(
            session,
            instance,
            "task_unclaimed",
            at=now,
            actor=principal.user_id,
            task_id=task.id,
            element_id=task.element_id,
            details={"previous_assignee": previous},
        )
        uow.commit()
        session.refresh(task)
        return _detail_after(ctx, session, task)


def complete_task(
    ctx: AppContext,
    task_id: str,
    principal: Principal,
    variables: dict[str, Any],
    *,
    idempotency: Idempotency | None = None,
    render: Callable[[CompletionResult], dict[str, Any]] | None = None,
) -> CompletionResult | Replay:
    """Complete a claimed task; with an Idempotency-Key a retry answers the first response."""
    try:
        return _complete(ctx, task_id, principal, variables, idempotency, render)
    except (ServiceError, IntegrityError) as exc:
        run_incidents.after_failed_run(ctx, exc, kind=None, actor=principal.user_id)
        if isinstance(exc, WorkflowFailed):
            incidents.record_failed_step(ctx, task_id, exc, principal.user_id)
        replay = replay_after_race(ctx.sessions, idempotency)
        if replay is not None:
            return replay
        raise


def _complete(
    ctx: AppContext,
    task_id: str,
    principal: Principal,
    variables: dict[str, Any],
    idempotency: Idempotency | None,
    render: Callable[[CompletionResult], dict[str, Any]] | None,
) -> CompletionResult | Replay:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        replay = lookup(session, idempotency)
        if replay is not None:
            return replay
        found = session.execute(_visible_locking_instance(principal), {"task_id": task_id}).first()
        if found is None:
            _not_visible(session, task_id, principal)
        task, instance = found
        if task.assignee is None:
            raise TaskNotClaimed(f"task {task_id} must be claimed before it is completed")
        if task.assignee != principal.user_id:
            raise Forbidden(
                f"task {task_id} is claimed by {task.assignee}",
                details={"assignee": task.assignee},
            )
        load = spec_loader(session, task.definition_id)
        form = ctx.runner.task_form(task.definition_id, load, task.spec_name)
        values = validate(form, variables)
        if instance.status != "active":
            _if_ended_meanwhile(session, task_id, principal)
            raise InvalidState(f"the instance is {instance.status}")
        with runtime.run_of(instance):
            try:
                # The state read under the lock is the arbiter: a task another request ended
                # while this one waited for the lock is no longer ready in it (or is gone).
                result = ctx.runner.complete(
                    task.definition_id,
                    load,
                    instance.state,
                    task.id,
                    values,
                    principal.user_id,
                    now=now,
                )
            except NotFound:
                _if_ended_meanwhile(session, task_id, principal)
                raise InvalidState(
                    f"task {task_id} was ended by another request (completed or moved)"
                ) from None
            except InvalidState:  # not ready in the engine's state
                _if_ended_meanwhile(session, task_id, principal)
                raise
            projection.record(
                session,
                instance,
                "task_completed",
                at=now,
                actor=principal.user_id,
                task_id=task.id,
                element_id=task.element_id,
                details={"name": task.name, "variables": values},
            )
            open_work = projection.close_task(
                session, task, at=now, reason="completed", by=principal.user_id, read_open_work=True
            )
            created = runtime.settle(
                ctx, session, instance, result, at=now, actor=principal.user_id, open_work=open_work
            ).created_tasks
        candidates = projection.candidates_created(session, [t.id for t in created])
        completion = CompletionResult(
            task.id,
            instance.id,
            instance.status,
            created,
            candidates,
            dict(instance.variables),
            instance.definition_id,
        )
        if render is not None and idempotency is not None:  # the body is stored for retries
            remember(session, idempotency, 200, render(completion), now)
        uow.commit()
        return completion


def _detail_after(ctx: AppContext, session: Session, task: Task) -> TaskDetail:
    return _detail(ctx, session, task, queries.candidates_of(session, [task.id])[task.id])


def _detail(
    ctx: AppContext, session: Session, task: Task | OpenTaskRow, candidates: dict[str, list[str]]
) -> TaskDetail:
    form = ctx.runner.task_form(
        task.definition_id, spec_loader(session, task.definition_id), task.spec_name
    )
    return TaskDetail(
        task, candidates["group"], candidates["user"], form, _schema(ctx, session, task, form)
    )


def _schema(
    ctx: AppContext, session: Session, task: Task | OpenTaskRow, form: list[FormField]
) -> dict[str, Any]:
    """The form's JSON Schema; read-only text fields with the labels of the process's codes
    (its enums', the customer categories')."""
    if not needs_value_labels(form):
        return json_schema(form)
    return json_schema(form, value_labels(ctx, session, task.definition_id))


def _rowcount(result: Result[Any]) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
