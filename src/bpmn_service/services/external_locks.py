"""Locks on external tasks: a worker fetches and locks tasks of its topics, may extend a lock, and
a lock may be given back (unlocked).

A lock is the worker's claim on a task: another worker gets it only after the lock expires or is
unlocked, and only the holder may complete, fail or extend it. Expired locks and tasks whose retry
time has come are available again. Only an active instance's tasks are handed out or answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.connect import is_sqlite
from bpmn_service.db.models import ExternalTask, ProcessInstance
from bpmn_service.errors import Conflict, Forbidden, InvalidState, NotFound
from bpmn_service.identity import Principal

from . import run_incidents
from .instances import spec_loader
from .uow import UnitOfWork

WORKER_GROUPS = frozenset({"admin", "worker"})
MAX_LOCK = timedelta(hours=24)


def require_worker(principal: Principal) -> None:
    if not principal.groups & WORKER_GROUPS:
        raise Forbidden("external tasks need the worker or admin group")


@dataclass(frozen=True, slots=True)
class TopicRequest:
    """What a worker asks for under one topic: how long to lock, and optional filters."""

    topic: str
    lock: timedelta
    process_instance_id: str | None = None
    business_key: str | None = None
    definition_keys: tuple[str, ...] | None = None
    definition_ids: tuple[str, ...] | None = None
    # Hand out the element's camunda:properties (Camunda's includeExtensionProperties).
    extension_properties: bool = False

    def matches(self) -> ColumnElement[bool]:
        conditions = [ExternalTask.topic == self.topic]
        if self.process_instance_id is not None:
            conditions.append(ExternalTask.instance_id == self.process_instance_id)
        if self.business_key is not None:
            conditions.append(ExternalTask.business_key == self.business_key)
        if self.definition_keys is not None:
            conditions.append(ExternalTask.definition_key.in_(self.definition_keys))
        if self.definition_ids is not None:
            conditions.append(ExternalTask.definition_id.in_(self.definition_ids))
        return and_(*conditions)


@dataclass(frozen=True, slots=True)
class LockedTask:
    """A task as fetch-and-lock hands it to its worker: the row's fields, with `variables` the
    case's variables at the fetch (process_instance.variables, as Camunda hands out the current
    process variables), its own instance's item where the task runs in a multi-instance. The
    row keeps the variables the task was created with (GET /external-tasks shows those)."""

    id: str
    instance_id: str
    definition_id: str
    definition_key: str
    business_key: str
    element_id: str
    name: str
    topic: str
    variables: dict[str, Any]
    created_at: datetime
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    retry_at: datetime | None
    error_message: str | None
    error_details: str | None
    incident_at: datetime | None
    # The element's camunda:properties, when the topic's request asked for them; else None.
    extension_properties: dict[str, str] | None = None


def _handed_out(
    task: ExternalTask,
    current: dict[str, Any],
    local: frozenset[str],
    properties: dict[str, str] | None = None,
) -> LockedTask:
    variables = dict(current)
    for name in local & task.variables.keys():
        variables[name] = task.variables[name]
    return LockedTask(
        id=task.id,
        instance_id=task.instance_id,
        definition_id=task.definition_id,
        definition_key=task.definition_key,
        business_key=task.business_key,
        element_id=task.element_id,
        name=task.name,
        topic=task.topic,
        variables=variables,
        created_at=task.created_at,
        worker_id=task.worker_id,
        lock_expires_at=task.lock_expires_at,
        retries=task.retries,
        retry_at=task.retry_at,
        error_message=task.error_message,
        error_details=task.error_details,
        incident_at=task.incident_at,
        extension_properties=properties,
    )


def fetch_and_lock(
    ctx: AppContext,
    principal: Principal,
    *,
    worker_id: str,
    topics: list[str],
    lock_seconds: int,
    max_tasks: int,
    process_instance_id: str | None = None,
) -> list[LockedTask]:
    """Lock up to max_tasks available tasks of the topics for this worker; expired locks and
    tasks whose retry time has come are available again."""
    lock = timedelta(seconds=lock_seconds)
    requests = [TopicRequest(t, lock, process_instance_id=process_instance_id) for t in topics]
    return fetch_and_lock_topics(
        ctx, principal, worker_id=worker_id, requests=requests, max_tasks=max_tasks
    )


def fetch_and_lock_topics(
    ctx: AppContext,
    principal: Principal,
    *,
    worker_id: str,
    requests: list[TopicRequest],
    max_tasks: int,
) -> list[LockedTask]:
    """fetch_and_lock with a lock duration and filters per topic (Camunda's fetchAndLock).
    One statement reads the tasks with their instances' current variables."""
    require_worker(principal)
    for request in requests:
        _check_lock(request.lock)
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        stmt = (
            select(ExternalTask, ProcessInstance.variables)
            .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .where(
                or_(*(r.matches() for r in requests)),
                or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < now),
                or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
                or_(ExternalTask.retry_at.is_(None), ExternalTask.retry_at <= now),
                # An ended case's leftover task (a cancel before external tasks were withdrawn
                # left them) would be answered 409 whatever its worker did: not handed out, it
                # is not worked again and again.
                ProcessInstance.status == "active",
                # Its worker's answer could not be taken: not again until a repair or retry.
                ~run_incidents.parks(ExternalTask.id),
            )
            .order_by(ExternalTask.created_at, ExternalTask.id)
            .limit(max_tasks)
        )
        if not is_sqlite(ctx.engine):
            # Only the tasks: a writer of the instance (a completion) is not waited for.
            stmt = stmt.with_for_update(of=ExternalTask, skip_locked=True)
        rows = list(session.execute(stmt))
        first = {}
        for request in reversed(requests):  # the first request of a topic decides its lock
            first[request.topic] = request
        handed: list[LockedTask] = []
        for task, current in rows:
            asked = first[task.topic]
            task.worker_id = worker_id
            task.lock_expires_at = now + asked.lock
            task.row_version += 1
            loader = spec_loader(session, task.definition_id)
            local = ctx.runner.local_names(task.definition_id, loader).get(
                task.element_id, frozenset()
            )
            properties = None
            if asked.extension_properties:  # from the version's parsed spec, cached per version
                properties = ctx.runner.element_properties(task.definition_id, loader).get(
                    task.element_id, {}
                )
            handed.append(_handed_out(task, current or {}, local, properties))
        uow.commit()
        return handed


_LOCK_INSTANCE_OF_TASK = (  # built once, as runtime's instance lock
    select(ProcessInstance)
    .where(
        ProcessInstance.id
        == select(ExternalTask.instance_id)
        .where(ExternalTask.id == bindparam("task_id"))
        .scalar_subquery()
    )
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_TASK = (
    select(ExternalTask)
    .where(ExternalTask.id == bindparam("task_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_task(session: Session, task_id: str) -> tuple[ExternalTask, ProcessInstance]:
    """The task and its instance, locked for this transaction: the instance first (one writer per
    instance, as every engine step of it), then the task (fetch-and-lock skips it), and the task
    read only then. Of two requests racing for one task (a completion and a failure of its
    worker), the second waits for the first and finds what it left: the task gone, or no longer
    locked by that worker. (SQLite's writers are one at a time already.)"""
    instance = session.scalars(_LOCK_INSTANCE_OF_TASK, {"task_id": task_id}).first()
    task = None if instance is None else session.scalars(_LOCK_TASK, {"task_id": task_id}).first()
    if task is None or instance is None:
        raise NotFound(f"external task {task_id} does not exist (or is already completed)")
    return task, instance


def require_active(instance: ProcessInstance) -> None:
    """Every answer about a task, as the engine step of a completion, needs its instance active
    (Camunda refuses a suspended one's likewise)."""
    if instance.status != "active":
        raise InvalidState(f"the instance is {instance.status}")


def locked_by(
    session: Session, task_id: str, worker_id: str, now: datetime
) -> tuple[ExternalTask, ProcessInstance]:
    """lock_task, for a request only the worker holding the task's lock may make, about a task
    of an active instance (the lock is checked first)."""
    task, instance = lock_task(session, task_id)
    if task.worker_id != worker_id or task.lock_expires_at is None or task.lock_expires_at < now:
        raise Conflict(
            f"external task {task_id} is not locked by worker {worker_id!r}",
            details={"worker_id": task.worker_id},
        )
    require_active(instance)
    return task, instance


def _check_lock(lock: timedelta) -> None:
    if lock <= timedelta(0) or lock > MAX_LOCK:
        raise InvalidState(
            f"a lock must last more than 0 and at most {int(MAX_LOCK.total_seconds())} seconds"
        )


def extend_lock(
    ctx: AppContext, principal: Principal, task_id: str, *, worker_id: str, lock: timedelta
) -> ExternalTask:
    """A worker that needs longer keeps its task: the lock now ends `lock` from now."""
    require_worker(principal)
    _check_lock(lock)
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        task, _instance = locked_by(uow.session, task_id, worker_id, now)
        task.lock_expires_at = now + lock
        task.row_version += 1
        uow.commit()
        return task


def unlock(ctx: AppContext, principal: Principal, task_id: str) -> ExternalTask:
    """Give a task back (Camunda's unlock): no worker holds it, any may fetch it at once. Any
    worker may unlock any task, as in Camunda (e.g. an operator freeing a crashed worker's task).
    A failure's retry wait ends too: Camunda keeps that wait in the lock it clears. Retries and
    an incident stay."""
    require_worker(principal)
    with UnitOfWork(ctx, write=True) as uow:
        task, instance = lock_task(uow.session, task_id)
        require_active(instance)
        task.worker_id = None
        task.lock_expires_at = None
        task.retry_at = None
        task.row_version += 1
        uow.commit()
        return task
