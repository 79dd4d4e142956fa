"""What is open right now, read from the database when /metrics is scraped.

These are the same for every server process sharing the database (aggregate them with max, not
sum). Each is one grouped query over an indexed table; no workflow is deserialized.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, case, func, select

from bpmn_service.context import AppContext
from bpmn_service.db.models import ExternalTask, ProcessInstance, Task

from . import run_incidents
from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class OpenTasks:
    process: str
    lane: str
    overdue: bool
    count: int


@dataclass(frozen=True, slots=True)
class ExternalQueue:
    process: str
    topic: str
    state: str  # available | locked | retry_wait | incident
    count: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    open_tasks: list[OpenTasks]
    external_tasks: list[ExternalQueue]
    active_instances: dict[str, int]
    overdue_timers: int
    oldest_overdue_timer_seconds: float
    pool_size: int | None
    pool_checked_out: int | None
    pool_overflow: int | None


def snapshot(ctx: AppContext) -> Snapshot:
    now = ctx.clock()
    with UnitOfWork(ctx) as uow:
        session = uow.session
        # Grouped by the label: PostgreSQL matches a repeated expression only with the same binds.
        overdue = case((and_(Task.due_at.is_not(None), Task.due_at < now), 1), else_=0).label(
            "overdue"
        )
        tasks = [
            OpenTasks(process, lane or "", bool(late), n)
            for process, lane, late, n in session.execute(
                select(Task.definition_key, Task.lane, overdue, func.count()).group_by(
                    Task.definition_key, Task.lane, overdue
                )
            )
        ]
        state = _external_state(now).label("state")
        external = [
            ExternalQueue(process, topic, kind, n)
            for process, topic, kind, n in session.execute(
                select(
                    ExternalTask.definition_key, ExternalTask.topic, state, func.count()
                ).group_by(ExternalTask.definition_key, ExternalTask.topic, state)
            )
        ]
        active = dict(
            session.execute(
                select(ProcessInstance.definition_key, func.count())
                .where(ProcessInstance.status == "active")
                .group_by(ProcessInstance.definition_key)
            ).all()
        )
        timers, oldest = session.execute(
            select(func.count(), func.min(ProcessInstance.next_timer_at)).where(
                ProcessInstance.status == "active", ProcessInstance.next_timer_at <= now
            )
        ).one()
    pool = ctx.engine.pool
    return Snapshot(
        open_tasks=tasks,
        external_tasks=external,
        active_instances={k: int(v) for k, v in active.items()},
        overdue_timers=int(timers or 0),
        oldest_overdue_timer_seconds=_age(now, oldest),
        pool_size=_call(pool, "size"),
        pool_checked_out=_call(pool, "checkedout"),
        pool_overflow=_clip(_call(pool, "overflow")),
    )


def _external_state(now: datetime) -> ColumnElement[str]:
    locked = and_(ExternalTask.lock_expires_at.is_not(None), ExternalTask.lock_expires_at >= now)
    return case(
        (ExternalTask.retries == 0, "incident"),
        (run_incidents.parks(ExternalTask.id), "incident"),  # its worker's answer was refused
        (locked, "locked"),
        (and_(ExternalTask.retry_at.is_not(None), ExternalTask.retry_at > now), "retry_wait"),
        else_="available",
    )


def _age(now: datetime, moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # stored as UTC; SQLite may hand an aggregate back naive
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (now - moment).total_seconds())


def _clip(overflow: int | None) -> int | None:
    # QueuePool counts overflow from -pool_size while fewer connections than that are open.
    return None if overflow is None else max(0, overflow)


def _call(pool: object, name: str) -> int | None:
    """A pool figure, when the pool class keeps it (QueuePool does; others may not)."""
    method = getattr(pool, name, None)
    return int(method()) if callable(method) else None
