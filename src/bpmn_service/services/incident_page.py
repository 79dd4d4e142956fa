"""Open incidents as one query, filtered, sorted and paged in the database: the rows of
/engine-rest's incident list, and the page /api/v1's list (incidents.list_incidents) describes
with the repairs that apply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from bpmn_service.context import AppContext
from bpmn_service.db import queries
from bpmn_service.db.models import ExternalTask, HistoryEvent, ProcessInstance, RunIncident
from bpmn_service.errors import Forbidden
from bpmn_service.identity import Principal

from .uow import UnitOfWork

FAILURES = ("timer_failed", "step_failed")
# Events after which a recorded failure no longer describes where the case stands.
PROGRESS = (
    "task_completed",
    "message_received",
    "timers_fired",
    "external_task_completed",
    "variables_repaired",
    "instance_modified",
    "instance_migrated",
    "instance_retried",
)
LISTERS = frozenset({"admin", "analyst", "worker"})

# Where an incident comes from: an external task out of retries, a failed run, a completion
# that failed in the engine.
EXTERNAL, RUN, STEP = "external_task", "run", "step"
SORTS = frozenset({"id", "since", "source", "element_id", "instance_id", "definition_id"})


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    incident_id: str | None = None
    instance_id: str | None = None
    definition_id: str | None = None
    element_id: str | None = None
    external_task_id: str | None = None  # only an external task's incident has one
    sources: frozenset[str] = frozenset({EXTERNAL, RUN, STEP})
    definition_key: str | None = None  # /api/v1 filters by process key


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: str
    source: str  # external_task | run | step
    instance_id: str
    definition_id: str
    element_id: str | None
    since: datetime
    message: str
    external_task_id: str | None


def _external(q: IncidentQuery) -> Any:
    et = ExternalTask
    stmt = select(
        et.id.label("id"),
        literal(EXTERNAL).label("source"),
        et.instance_id.label("instance_id"),
        et.definition_id.label("definition_id"),
        et.element_id.label("element_id"),
        et.incident_at.label("since"),
        func.coalesce(et.error_message, "the external task's retries ran out").label("message"),
        et.id.label("external_task_id"),
    ).where(et.incident_at.is_not(None))
    if q.external_task_id is not None:
        stmt = stmt.where(et.id == q.external_task_id)
    return _filtered(
        stmt, q, et.id, et.instance_id, et.definition_id, et.definition_key, et.element_id
    )


def _runs(q: IncidentQuery) -> Any:
    stmt = (
        select(
            RunIncident.id.label("id"),
            literal(RUN).label("source"),
            RunIncident.instance_id.label("instance_id"),
            ProcessInstance.definition_id.label("definition_id"),
            RunIncident.element_id.label("element_id"),
            RunIncident.created_at.label("since"),
            RunIncident.message.label("message"),
            type_coerce(null(), String()).label("external_task_id"),
        )
        .join(ProcessInstance, ProcessInstance.id == RunIncident.instance_id)
        .where(RunIncident.resolved_at.is_(None))
    )
    return _filtered(
        stmt,
        q,
        RunIncident.id,
        RunIncident.instance_id,
        ProcessInstance.definition_id,
        RunIncident.definition_key,
        RunIncident.element_id,
    )


def _steps(q: IncidentQuery) -> Any:
    """Failed completions the case has not moved on from (incidents._recorded); the type is
    written into the SQL so that PostgreSQL reads them from their partial index."""
    later = aliased(HistoryEvent)
    moved_on = exists().where(
        later.instance_id == HistoryEvent.instance_id,
        later.id > HistoryEvent.id,
        later.type.in_(PROGRESS + FAILURES),
    )
    incident_id = literal("h") + cast(HistoryEvent.id, String)
    stmt = (
        select(
            incident_id.label("id"),
            literal(STEP).label("source"),
            HistoryEvent.instance_id.label("instance_id"),
            ProcessInstance.definition_id.label("definition_id"),
            HistoryEvent.element_id.label("element_id"),
            HistoryEvent.occurred_at.label("since"),
            func.coalesce(HistoryEvent.details["error"].as_string(), "").label("message"),
            type_coerce(null(), String()).label("external_task_id"),
        )
        .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        .where(
            HistoryEvent.type == literal_column("'step_failed'"),
            ProcessInstance.status == "active",
            ~moved_on,
        )
    )
    return _filtered(
        stmt,
        q,
        incident_id,
        HistoryEvent.instance_id,
        ProcessInstance.definition_id,
        ProcessInstance.definition_key,
        HistoryEvent.element_id,
    )


def _filtered(
    stmt: Any,
    q: IncidentQuery,
    id_: Any,
    instance_id: Any,
    definition_id: Any,
    definition_key: Any,
    element_id: Any,
) -> Any:
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (id_, q.incident_id),
        (instance_id, q.instance_id),
        (definition_id, q.definition_id),
        (definition_key, q.definition_key),
        (element_id, q.element_id),
    ):
        if value is not None:
            conditions.append(column == value)
    return stmt.where(*conditions)


_SOURCES = {EXTERNAL: _external, RUN: _runs, STEP: _steps}


def list_open(
    ctx: AppContext,
    principal: Principal,
    q: IncidentQuery,
    *,
    sort: tuple[str, bool] | None,
    limit: int,
    offset: int,
) -> tuple[list[IncidentRow], int]:
    """A page of the open incidents matching `q` (oldest first unless `sort` says otherwise)
    and how many match; for supervisors, analysts, workers and admins, as on /api/v1."""
    if not (principal.is_supervisor or principal.groups & LISTERS):
        raise Forbidden("incidents are for supervisors, analysts, workers and admins")
    sources = {EXTERNAL} & q.sources if q.external_task_id is not None else q.sources
    branches = [_SOURCES[s](q) for s in (EXTERNAL, RUN, STEP) if s in sources]
    if not branches:
        return [], 0
    union = union_all(*branches).subquery()
    key, desc = sort or ("since", False)
    term = getattr(union.c, key)
    order = [queries.nulls_last(term, desc), union.c.id]
    with UnitOfWork(ctx) as uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(union)) or 0
        if limit == 0:
            return [], total
        rows = session.execute(select(union).order_by(*order).limit(limit).offset(offset)).all()
    return [
        IncidentRow(
            id=r.id,
            source=r.source,
            instance_id=r.instance_id,
            definition_id=r.definition_id,
            element_id=r.element_id,
            since=r.since,
            message=r.message,
            external_task_id=r.external_task_id,
        )
        for r in rows
    ], total
